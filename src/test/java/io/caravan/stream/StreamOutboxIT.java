package io.caravan.stream;

import static io.caravan.support.HubApi.JSON;
import static io.caravan.support.HubApi.post;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.caravan.support.HubApi;
import io.caravan.support.MllpTestClient;
import io.caravan.support.Hl7Messages;
import io.caravan.support.TestHub;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.http.HttpStatus;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Stream destinations end to end up to the outbox: real HL7 over MLLP becomes trigger events, each destination's
 * subscriber asks the gate per contact and writes the form its BAA allows. A destination without a BAA (and one whose
 * BAA expired) gets the Safe Harbor form under its own surrogate; one with a BAA in force gets its listed fields only;
 * an opt-out stops the contact's next event; the disclosure record says which form went.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@DirtiesContext
class StreamOutboxIT {

    static final TestHub HUB = TestHub.named("stream-outbox");
    static final Path ADAPTERS;

    static {
        try {
            ADAPTERS = Files.createTempDirectory("caravan-stream-adapters");
            Files.writeString(ADAPTERS.resolve("crm.yaml"), """
                    id: crm
                    kind: webhook
                    baa: { status: none }
                    webhook: { url: "http://127.0.0.1:9/hooks", secretEnv: CARAVAN_TEST_CRM_SECRET }
                    stream:
                      events: [patient.registered, patient.updated]
                    """);
            Files.writeString(ADAPTERS.resolve("care-partner.yaml"), """
                    id: care-partner
                    kind: webhook
                    baa: { status: signed, reference: BAA-1, expires: 2099-12-31 }
                    webhook: { url: "http://127.0.0.1:9/partner", secretEnv: CARAVAN_TEST_PARTNER_SECRET }
                    stream:
                      events: [patient.registered]
                      purpose: operations
                      fields: [contact.name, contact.email, event.occurredAt]
                    """);
            Files.writeString(ADAPTERS.resolve("lapsed.yaml"), """
                    id: lapsed
                    kind: webhook
                    baa: { status: signed, reference: BAA-0, expires: 2020-01-01 }
                    webhook: { url: "http://127.0.0.1:9/lapsed", secretEnv: CARAVAN_TEST_LAPSED_SECRET }
                    stream:
                      events: [patient.registered]
                      purpose: operations
                      fields: [contact.name, contact.email]
                    """);
            Files.writeString(ADAPTERS.resolve("spanish.yaml"), """
                    id: spanish
                    kind: webhook
                    baa: { status: none }
                    webhook: { url: "http://127.0.0.1:9/es", secretEnv: CARAVAN_TEST_ES_SECRET }
                    stream:
                      events: [patient.registered]
                      filter: "contact.language == 'es'"
                    """);
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        HUB.register(r);
        r.add("caravan.mapping.adapters-dir", ADAPTERS::toString);
        r.add("caravan.event-log.poll-interval", () -> "50ms");
        for (String d : List.of("CRM", "PARTNER", "LAPSED", "ES")) {
            r.add("CARAVAN_TEST_" + d + "_SECRET", () -> "a-test-signing-secret-of-" + d);
        }
    }

    @Autowired
    TestRestTemplate rest;
    @Autowired
    StreamOutbox outbox;
    @Autowired
    Surrogates surrogates;

    TestRestTemplate admin() {
        return rest.withBasicAuth("admin", HUB.adminPassword());
    }

    void send(String hl7) throws Exception {
        try (MllpTestClient c = new MllpTestClient(HUB.mllpPort)) {
            assertThat(MllpTestClient.msa1(c.exchange(hl7, 10_000))).isEqualTo("AA");
        }
    }

    /** The destination's outbox entries for one contact, as the bodies that will be sent. */
    List<JsonNode> bodies(String destination, UUID contact) {
        UUID surrogate = surrogates.surrogate(destination, contact);
        return outbox.pending(destination, 10_000).stream().filter(e -> e.surrogate().equals(surrogate))
                .map(e -> {
                    try {
                        return JSON.readTree(e.body());
                    } catch (Exception ex) {
                        throw new IllegalStateException(ex);
                    }
                }).toList();
    }

    @Test
    void eachDestinationGetsTheFormItsBaaAllows() throws Exception {
        UUID id = HubApi.register(HUB, rest, "SO-1001", "Quillfeather", "Marisol", "marisol.q@example.org", "");
        await().atMost(Duration.ofSeconds(20)).until(() -> bodies("crm", id).size() == 1
                && bodies("care-partner", id).size() == 1 && bodies("lapsed", id).size() == 1);

        JsonNode crm = bodies("crm", id).get(0);
        String crmText = crm.toString();
        assertThat(crm.get("form").asText()).isEqualTo("deidentified");
        assertThat(crm.get("type").asText()).isEqualTo("patient.registered");
        assertThat(crm.at("/contact/id").asText()).isEqualTo(surrogates.surrogate("crm", id).toString())
                .isNotEqualTo(id.toString());
        assertThat(crm.at("/contact/zip3").asText()).isEqualTo("627");
        assertThat(crm.at("/contact/state").asText()).isEqualTo("IL");
        assertThat(crmText).doesNotContain("Quillfeather", "Marisol", "SO-1001", "marisol.q@example.org",
                "62704", "Springfield", "5550199", "1980-01-01", id.toString());

        JsonNode partner = bodies("care-partner", id).get(0);
        assertThat(partner.get("form").asText()).isEqualTo("baa");
        assertThat(partner.at("/contact/name/family").asText()).as(partner.toString()).isEqualTo("Quillfeather");
        assertThat(partner.at("/contact/email").asText()).isEqualTo("marisol.q@example.org");
        assertThat(partner.get("occurredAt").asText()).startsWith("2026-03-01T09:00");
        // minimum necessary: what the file does not list does not go
        assertThat(partner.toString()).doesNotContain("SO-1001", "5550199", "62704", "1980-01-01", id.toString());

        // what went matches the published schemas
        assertThat(StreamSchemasTest.schema("trigger-event.deidentified.v1.json").validate(crm)).isEmpty();
        assertThat(StreamSchemasTest.schema("trigger-event.baa.v1.json").validate(partner)).isEmpty();

        JsonNode lapsed = bodies("lapsed", id).get(0);
        assertThat(lapsed.get("form").asText()).as("an expired BAA counts as none").isEqualTo("deidentified");
        assertThat(lapsed.toString()).doesNotContain("Quillfeather", "marisol.q@example.org");
        assertThat(lapsed.at("/contact/id").asText()).isNotEqualTo(crm.at("/contact/id").asText());
        assertThat(lapsed.get("id").asText()).isNotEqualTo(crm.get("id").asText());
        // the gate's own answer agrees: asked for PHI, an expired BAA gives none
        JsonNode asked = JSON.readTree(admin().getForObject("/api/contacts/{id}/decision?purpose=operations"
                + "&channel=webhook:lapsed&content=phi", String.class, id));
        assertThat(asked.get("content").asText()).as(asked.toString()).isNotEqualTo("phi");
        assertThat(asked.get("reasons").findValuesAsText("rule")).contains("queue-without-baa");
        JsonNode inForce = JSON.readTree(admin().getForObject("/api/contacts/{id}/decision?purpose=operations"
                + "&channel=webhook:care-partner&content=phi", String.class, id));
        assertThat(inForce.get("content").asText()).as(inForce.toString()).isEqualTo("phi");

        assertThat(bodies("spanish", id)).as("filtered out: the contact's language is not es").isEmpty();

        JsonNode accounting = JSON.readTree(admin().getForObject("/api/contacts/{id}/disclosures", String.class, id));
        assertThat(accounting.get("disclosures").findValuesAsText("channel")).contains("webhook:crm",
                "webhook:care-partner", "webhook:lapsed");
        assertThat(accounting.get("disclosures").findValuesAsText("protection")).contains("deidentified", "baa");
    }

    @Test
    void anOptOutStopsTheContactsNextEventWhileOthersFlow() throws Exception {
        UUID out = HubApi.register(HUB, rest, "SO-2001", "Ravensworth", "Odile", "odile.r@example.org", "");
        UUID stays = HubApi.register(HUB, rest, "SO-2002", "Thistlewood", "Bram", "bram.t@example.org", "");
        await().atMost(Duration.ofSeconds(20)).until(() -> bodies("crm", out).size() == 1
                && bodies("crm", stays).size() == 1);

        assertThat(post(admin(), "/api/contacts/{id}/opt-outs", Map.of("channel", "any", "purpose", "marketing",
                "evidence", "called the front desk"), out).getStatusCode()).isEqualTo(HttpStatus.CREATED);
        OffsetDateTime later = OffsetDateTime.parse("2026-03-02T09:00:00-05:00");
        send(Hl7Messages.adt("A08", Hl7Messages.controlId(), "SO-2001", "Ravensworth", "Odile",
                "odile.r@example.org", later));
        send(Hl7Messages.adt("A08", Hl7Messages.controlId(), "SO-2002", "Thistlewood", "Bram",
                "bram.t@example.org", later));

        await().atMost(Duration.ofSeconds(20)).until(() -> bodies("crm", stays).size() == 2);
        assertThat(bodies("crm", stays).get(1).get("type").asText()).isEqualTo("patient.updated");
        // the opted-out contact's update was read before the other's (same subscriber, log order): it is decided
        assertThat(bodies("crm", out)).hasSize(1);
        assertThat(new String(JSON.writeValueAsBytes(bodies("crm", out)), StandardCharsets.UTF_8))
                .doesNotContain("patient.updated");
    }

    @Test
    void aDeliveredRunMarksOnlyTheDueEntriesOfItsDestination() {
        // a destination of its own, with no subscriber: only what this test adds is in its outbox
        String dest = "run-marks";
        List<StreamOutbox.Added> added = new java.util.ArrayList<>();
        for (int i = 0; i < 5; i++) {
            added.add(new StreamOutbox.Added(dest, UUID.randomUUID(), i, "patient.registered", SafeHarbor.FORM,
                    UUID.randomUUID(), Map.of("n", i)));
        }
        added.add(new StreamOutbox.Added("run-marks-other", UUID.randomUUID(), 9, "patient.registered",
                SafeHarbor.FORM, UUID.randomUUID(), Map.of("n", 9)));
        outbox.addAll(added);
        List<StreamOutbox.Entry> five = outbox.pending(dest, 100);
        assertThat(five).hasSize(5);
        // the second already went on its own, the fourth waits for its retry, the fifth is given up
        outbox.delivered(five.get(1).seq());
        outbox.failed(five.get(3).seq(), java.time.Instant.now().plusSeconds(3600), "TimeoutException");
        outbox.giveUp(five.get(4).seq(), "TimeoutException");

        int marked = outbox.deliveredRun(dest, five.get(0).seq(), five.get(4).seq(), java.time.Instant.now());

        assertThat(marked).isEqualTo(2);
        assertThat(outbox.pending(dest, 100)).extracting(StreamOutbox.Entry::seq)
                .containsExactly(five.get(3).seq());
        assertThat(outbox.backlog(dest).givenUp()).isEqualTo(1);
        assertThat(outbox.pending("run-marks-other", 100)).hasSize(1);
    }
}
