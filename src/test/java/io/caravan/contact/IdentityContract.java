package io.caravan.contact;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.audit.Disclosures;
import io.caravan.support.Hl7Messages;
import io.caravan.support.HubApi;
import io.caravan.support.MllpTestClient;
import io.caravan.support.TestHub;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;

/**
 * Who a message is about, over MLLP against the running hub: a shared or placeholder SSN never joins two patients,
 * a merge keeps every protection and the merged-away record's accounting, a future-dated message does not freeze a
 * contact, and a contact linked wrongly before can be split.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@org.springframework.test.annotation.DirtiesContext
abstract class IdentityContract {

    static final ObjectMapper JSON = new ObjectMapper();

    abstract TestHub hub();
    /** PD1-12 protection indicator = Y. */
    static final String PROTECTED = "PD1" + "|".repeat(12) + "Y\r";

    /**
     * A feed configured to link on SSNs, as every feed did before the identity rule: it recreates the wrongly linked
     * contacts that a split repairs.
     */
    static final String LEGACY_ADAPTER = """
            id: legacy-ssn-linking
            name: Legacy feed linking on SSNs (test)
            kind: hl7v2-mllp
            match:
              sendingApplication: LEGACY
            baa:
              status: not-applicable
            identity:
              linkingTypes: [MR, SS]
              placeholders: []
            """;

    static void register(TestHub hub, DynamicPropertyRegistry r) throws Exception {
        hub.register(r);
        java.nio.file.Path adapters = java.nio.file.Files.createDirectories(hub.dataDir.resolve("test-adapters"));
        java.nio.file.Files.writeString(adapters.resolve("legacy-ssn-linking.yaml"), LEGACY_ADAPTER);
        r.add("caravan.mapping.adapters-dir", adapters::toString);
    }

    @Autowired
    TestRestTemplate rest;
    @Autowired
    JdbcTemplate jdbc;
    @Autowired
    Disclosures disclosures;
    @Autowired
    ContactWriter writer;

    TestRestTemplate compliance() {
        return rest.withBasicAuth(TestHub.COMPLIANCE, TestHub.USER_PASSWORD);
    }

    String send(String message) throws Exception {
        try (MllpTestClient c = new MllpTestClient(hub().mllpPort)) {
            return c.exchange(message, 10_000);
        }
    }

    void accepted(String message) throws Exception {
        String ack = send(message);
        assertThat(MllpTestClient.msa1(ack)).as(ack).isEqualTo("AA");
    }

    List<JsonNode> byIdentifier(String system, String value) throws Exception {
        ResponseEntity<String> r = compliance().getForEntity("/api/contacts?identifier={id}", String.class,
                system + "|" + value);
        assertThat(r.getStatusCode()).as(r.toString()).isEqualTo(HttpStatus.OK);
        List<JsonNode> out = new ArrayList<>();
        JSON.readTree(r.getBody()).forEach(out::add);
        return out;
    }

    JsonNode contact(String mrn) throws Exception {
        List<JsonNode> found = byIdentifier("MERCY", mrn);
        assertThat(found).as(mrn).hasSize(1);
        return found.get(0);
    }

    JsonNode get(String path, Object... vars) throws Exception {
        ResponseEntity<String> r = compliance().getForEntity(path, String.class, vars);
        assertThat(r.getStatusCode()).as(r.toString()).isEqualTo(HttpStatus.OK);
        return JSON.readTree(r.getBody());
    }

    /** An A04 whose PID-3 carries the MRN and, after it, {@code more} (further CX repetitions). */
    static String a04With(String mrn, String more, String family, String given, String email) {
        return Hl7Messages.a04(Hl7Messages.controlId(), mrn, family, given, email)
                .replace(mrn + "^^^MERCY^MR|", mrn + "^^^MERCY^MR" + more + "|");
    }

    @Test
    void patientsSharingAPlaceholderSsnStayTwoContacts() throws Exception {
        accepted(a04With("SSA1", "~999-99-9999^^^USSSA^SS", "Alpha", "Ann", "ann.alpha@example.org"));
        accepted(a04With("SSB1", "~999-99-9999^^^USSSA^SS", "Beta", "Bob", "bob.beta@example.org"));
        JsonNode ann = contact("SSA1");
        JsonNode bob = contact("SSB1");
        assertThat(ann.get("id")).isNotEqualTo(bob.get("id"));
        assertThat(ann.get("email").asText()).isEqualTo("ann.alpha@example.org");
        assertThat(ann.get("name").get("given").get(0).asText()).isEqualTo("Ann");
        assertThat(bob.get("email").asText()).isEqualTo("bob.beta@example.org");
        assertThat(ann.get("identifiers")).hasSize(1);
        assertThat(ann.toString()).doesNotContain("999-99-9999");
        assertThat(byIdentifier("USSSA", "999-99-9999")).as("a placeholder is no identifier").isEmpty();
    }

    @Test
    void aRealSsnSharedByTwoRegistrationsIsAnAttributeNotALink() throws Exception {
        accepted(a04With("SSC1", "~078-05-1120^^^USSSA^SS~D1234567^^^IL^DL", "Gamma", "Cara",
                "cara.gamma@example.org"));
        accepted(a04With("SSD1", "~078-05-1120^^^USSSA^SS", "Delta", "Dan", "dan.delta@example.org"));
        JsonNode cara = contact("SSC1");
        JsonNode dan = contact("SSD1");
        assertThat(cara.get("id")).isNotEqualTo(dan.get("id"));
        assertThat(dan.get("name").get("family").asText()).isEqualTo("Delta");
        JsonNode others = cara.get("attributes").get("otherIdentifiers");
        assertThat(others.toString()).contains("078-05-1120").contains("USSSA").contains("\"SS\"")
                .contains("D1234567");
        assertThat(cara.get("identifiers")).hasSize(1);
        assertThat(cara.get("identifiers").get(0).get("value").asText()).isEqualTo("SSC1");
        assertThat(byIdentifier("USSSA", "078-05-1120")).isEmpty();
    }

    @Test
    void aSecondMrnOfOneAuthorityIsNeverAddedToAContactWithoutAMerge() throws Exception {
        accepted(Hl7Messages.a04(Hl7Messages.controlId(), "TWO1", "One", "Olive", "olive.one@example.org"));
        accepted(Hl7Messages.a04(Hl7Messages.controlId(), "TWO2", "Two", "Tom", "tom.two@example.org"));
        // one message naming both: it lands on the first MRN's contact and joins nothing
        accepted(a04With("TWO1", "~TWO2^^^MERCY^MR~TWO3^^^MERCY^MR", "One", "Olive", "olive.new@example.org"));
        JsonNode olive = contact("TWO1");
        JsonNode tom = contact("TWO2");
        assertThat(olive.get("id")).isNotEqualTo(tom.get("id"));
        assertThat(olive.get("email").asText()).isEqualTo("olive.new@example.org");
        assertThat(tom.get("email").asText()).isEqualTo("tom.two@example.org");
        assertThat(olive.get("identifiers")).hasSize(1);
        assertThat(byIdentifier("MERCY", "TWO3")).isEmpty();
        String warnings = jdbc.queryForObject("SELECT warnings FROM inbound_message WHERE contact_id = ?"
                + " AND warnings IS NOT NULL", String.class, UUID.fromString(olive.get("id").asText()));
        assertThat(warnings).contains("PID-3").contains("assigning authority").doesNotContain("TWO");
    }

    @Test
    void aMergeKeepsTheMergedRecordsRestrictionsDisclosuresAndAuditEntries() throws Exception {
        accepted(Hl7Messages.a04(Hl7Messages.controlId(), "MRG-P1", "Prior", "Pat", "prior.pat@example.org")
                + PROTECTED);
        accepted(Hl7Messages.a04(Hl7Messages.controlId(), "MRG-S1", "Survivor", "Sam", "sam@example.org"));
        UUID prior = UUID.fromString(contact("MRG-P1").get("id").asText());
        UUID survivorBefore = UUID.fromString(contact("MRG-S1").get("id").asText());
        disclosures.record(new Disclosures.Disclosure(prior, "marketing", "queue:analytics", "Acme Analytics Inc.",
                "Newsletter engagement data", "none", "msg-merge-1", false), "test-channel");

        accepted(Hl7Messages.a40(Hl7Messages.controlId(), "MRG-S1", "MRG-P1"));

        JsonNode survivor = contact("MRG-S1");
        assertThat(survivor.get("id").asText()).isEqualTo(survivorBefore.toString());
        assertThat(contact("MRG-P1").get("id")).isEqualTo(survivor.get("id"));
        assertThat(survivor.get("restrictions").toString()).contains("protection-indicator");
        JsonNode ops = get("/api/contacts/{id}/decision?purpose=operations&channel=email", survivorBefore);
        assertThat(ops.get("allowed").asBoolean()).as(ops.toString()).isFalse();
        assertThat(ops.get("content").asText()).isNotEqualTo("phi");

        JsonNode acc = get("/api/contacts/{id}/disclosures", survivorBefore).get("disclosures");
        assertThat(acc.toString()).contains("Acme Analytics Inc.");
        JsonNode audit = get("/api/audit?contact={id}", survivorBefore);
        List<String> actions = new ArrayList<>();
        audit.forEach(e -> actions.add(e.get("action").asText()));
        assertThat(actions).contains("disclosure");
        assertThat(audit.toString()).contains(prior.toString());
    }

    @Test
    void aFutureDatedMessageDoesNotFreezeTheContactAndRaisingARestrictionAlwaysApplies() throws Exception {
        accepted(Hl7Messages.adt("A04", Hl7Messages.controlId(), "FUT1", "Future", "Fay", "fay.old@example.org",
                OffsetDateTime.of(2099, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC)));
        UUID id = UUID.fromString(contact("FUT1").get("id").asText());

        accepted(Hl7Messages.adt("A08", Hl7Messages.controlId(), "FUT1", "Future", "Fay", "fay.new@example.org",
                OffsetDateTime.now(ZoneOffset.UTC)) + PROTECTED);
        JsonNode fay = contact("FUT1");
        assertThat(fay.get("email").asText()).isEqualTo("fay.new@example.org");
        assertThat(fay.get("restrictions").toString()).contains("protection-indicator");
        String warnings = jdbc.queryForObject("SELECT warnings FROM inbound_message WHERE contact_id = ?"
                + " AND warnings IS NOT NULL", String.class, id);
        assertThat(warnings).contains("EVN-2").doesNotContain("2099");

        // an older message does not roll the email back, but the opt-out it raises applies
        accepted(Hl7Messages.adt("A08", Hl7Messages.controlId(), "FUT1", "Future", "Fay", "fay.stale@example.org",
                OffsetDateTime.now(ZoneOffset.UTC).minusDays(3)));
        assertThat(contact("FUT1").get("email").asText()).isEqualTo("fay.new@example.org");
    }

    @Test
    void anOlderMessageStillRaisesARestrictionButDoesNotLiftOne() throws Exception {
        OffsetDateTime now = OffsetDateTime.now(ZoneOffset.UTC);
        accepted(Hl7Messages.adt("A04", Hl7Messages.controlId(), "ORD1", "Order", "Otto", "otto@example.org",
                now.minusHours(1)));
        accepted(Hl7Messages.adt("A08", Hl7Messages.controlId(), "ORD1", "Order", "Otto", "otto.old@example.org",
                now.minusDays(2)) + PROTECTED);
        JsonNode otto = contact("ORD1");
        assertThat(otto.get("email").asText()).isEqualTo("otto@example.org");
        assertThat(otto.get("restrictions").toString()).contains("protection-indicator");
        // lifting follows the order: an older N does not lift it
        accepted(Hl7Messages.adt("A08", Hl7Messages.controlId(), "ORD1", "Order", "Otto", "otto@example.org",
                now.minusDays(2)) + "PD1" + "|".repeat(12) + "N\r");
        assertThat(contact("ORD1").get("restrictions").toString()).contains("protection-indicator");
        accepted(Hl7Messages.adt("A08", Hl7Messages.controlId(), "ORD1", "Order", "Otto", "otto@example.org",
                now) + "PD1" + "|".repeat(12) + "N\r");
        assertThat(contact("ORD1").get("restrictions").toString()).doesNotContain("protection-indicator");
    }

    @Test
    void aContactLinkedWronglyBeforeIsSplitBackIntoItsPatientsAndTheSplitIsAudited() throws Exception {
        String annControl = Hl7Messages.controlId();
        String bobControl = Hl7Messages.controlId();
        accepted(Hl7Messages.a04(annControl, "SPL-A", "Alpha", "Ann", "ann.split@example.org")
                .replace("SPL-A^^^MERCY^MR|", "SPL-A^^^MERCY^MR~078-05-1120^^^USSSA^SS|")
                .replace("|REGADT|", "|LEGACY|"));
        accepted(Hl7Messages.adt("A04", bobControl, "SPL-B", "Beta", "Bob", "bob.split@example.org",
                OffsetDateTime.parse("2026-03-02T09:00:00-05:00"))
                .replace("SPL-B^^^MERCY^MR|", "SPL-B^^^MERCY^MR~078-05-1120^^^USSSA^SS|")
                .replace("|REGADT|", "|LEGACY|"));
        // what the old rule left: Bob's registration on Ann's contact, and his MRN resolving to it
        JsonNode joined = contact("SPL-A");
        UUID id = UUID.fromString(joined.get("id").asText());
        assertThat(joined.get("email").asText()).isEqualTo("bob.split@example.org");
        Identifier bobMrn = new Identifier("MERCY", "SPL-B", "MR");
        jdbc.update("INSERT INTO contact_identifier (blind_index, contact_id) VALUES (?, ?)",
                java.util.HexFormat.of().parseHex(writer.identifierIndex(bobMrn)), id);
        writer.amend(id, c -> c.identifiers.add(bobMrn),
                io.caravan.audit.AuditDraft.of("test", "contact.updated").outcome("legacy-link"));
        assertThat(contact("SPL-B").get("id").asText()).isEqualTo(id.toString());

        ResponseEntity<String> denied = HubApi.post(rest.withBasicAuth(TestHub.OPERATOR, TestHub.USER_PASSWORD),
                "/api/contacts/{id}/split", body("reason", "wrong link"), id);
        assertThat(denied.getStatusCode()).isEqualTo(HttpStatus.FORBIDDEN);
        ResponseEntity<String> noReason = HubApi.post(compliance(), "/api/contacts/{id}/split", body(), id);
        assertThat(noReason.getStatusCode()).isEqualTo(HttpStatus.BAD_REQUEST);
        ResponseEntity<String> done = HubApi.post(compliance(), "/api/contacts/{id}/split",
                body("reason", "two patients linked by a shared SSN"), id);
        assertThat(done.getStatusCode()).as(done.getBody()).isEqualTo(HttpStatus.OK);
        JsonNode result = JSON.readTree(done.getBody());
        assertThat(result.get("newContacts")).hasSize(1);
        assertThat(result.get("messagesMoved").asInt()).isEqualTo(1);

        JsonNode ann = contact("SPL-A");
        JsonNode bob = contact("SPL-B");
        assertThat(ann.get("id").asText()).isEqualTo(id.toString());
        assertThat(bob.get("id").asText()).isEqualTo(result.get("newContacts").get(0).asText());
        assertThat(ann.get("email").asText()).isEqualTo("ann.split@example.org");
        assertThat(ann.get("name").get("given").get(0).asText()).isEqualTo("Ann");
        assertThat(bob.get("email").asText()).isEqualTo("bob.split@example.org");
        assertThat(bob.get("name").get("family").asText()).isEqualTo("Beta");
        assertThat(ann.get("identifiers")).hasSize(1);
        assertThat(bob.get("identifiers")).hasSize(1);
        assertThat(ann.get("attributes").get("otherIdentifiers").toString()).contains("078-05-1120");
        assertThat(byIdentifier("USSSA", "078-05-1120")).as("the SSN no longer links").isEmpty();
        List<String> bobEvents = new ArrayList<>();
        JsonNode events = JSON.readTree(rest.withBasicAuth(TestHub.INTEGRATION, TestHub.USER_PASSWORD)
                .getForEntity("/api/contacts/{id}/events", String.class, bob.get("id").asText()).getBody());
        events.forEach(e -> bobEvents.add(e.get("source").get("messageControlId").asText()));
        assertThat(bobEvents).containsExactly(bobControl);

        JsonNode audit = get("/api/audit?contact={id}&action=contact.split", id);
        assertThat(audit).hasSize(1);
        assertThat(audit.get(0).toString()).contains(TestHub.COMPLIANCE).contains(bob.get("id").asText());
        assertThat(get("/api/audit?contact={id}&action=contact.split", bob.get("id").asText())).hasSize(1);
    }

    static Map<String, Object> body(Object... kv) {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }
}
