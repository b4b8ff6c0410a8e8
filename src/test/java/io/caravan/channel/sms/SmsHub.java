package io.caravan.channel.sms;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.caravan.support.HubApi;
import io.caravan.support.Hl7Messages;
import io.caravan.support.MllpTestClient;
import io.caravan.support.TestHub;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.awaitility.Awaitility;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.test.context.DynamicPropertyRegistry;

/**
 * What every SMS integration test sets up and does: an {@code adapters/<id>.yaml} of kind smpp for the SMSC the test
 * runs, the hub pointed at it, patients with a mobile number of their own, texts planned and their status awaited.
 */
final class SmsHub {

    /** The appointment reminder's data (the shipped treatment template). */
    static final Map<String, Object> REMINDER = Map.of("appointmentDate", "2030-01-02", "appointmentTime", "09:30",
            "clinicPhone", "217-555-0100");

    private SmsHub() {
    }

    /**
     * Writes the adapter {@code id} (an SMSC on 127.0.0.1:{@code port}, system id {@code caravan}, source address
     * 12175550000, BAA signed, plus {@code smppKeys}: YAML lines under {@code smpp:}, indented by two) next to the
     * hub's data dir and makes it the hub's SMSC.
     */
    static void adapter(TestHub hub, DynamicPropertyRegistry r, String id, int port, String smppKeys)
            throws IOException {
        Path adapters = adapterFile(hub.dataDir.resolveSibling(hub.dataDir.getFileName() + "-adapters"), id, port,
                smppKeys);
        r.add("caravan.mapping.adapters-dir", adapters::toString);
        r.add("caravan.sms.adapter", () -> id);
    }

    /** Writes that adapter into the directory {@code adapters} (created when missing); returns the directory. */
    static Path adapterFile(Path adapters, String id, int port, String smppKeys) throws IOException {
        Files.createDirectories(adapters);
        Files.writeString(adapters.resolve(id + ".yaml"), """
                id: %s
                kind: smpp
                baa:
                  status: signed
                smpp:
                  host: 127.0.0.1
                  port: %d
                  systemId: caravan
                  sourceAddress: "12175550000"
                """.formatted(id, port) + smppKeys.stripTrailing().indent(2));
        return adapters;
    }

    /**
     * Members of the SMPP bind's role group on the broker: a node whose role consumer joins after another took the
     * role takes it over (one partition, reassigned), so a test waits for every node before it counts binds.
     */
    static int bindRoleMembers(String brokers) throws Exception {
        String group = "caravan.role.sms-bind";
        try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(
                Map.of("bootstrap.servers", brokers))) {
            org.apache.kafka.clients.admin.ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group))
                    .all().get().get(group);
            // members of a group still rebalancing do not know their partitions yet
            return d.state() == org.apache.kafka.common.ConsumerGroupState.STABLE ? d.members().size() : 0;
        }
    }

    /** Settings of a cluster node's SMSC link in the SMS cluster tests: quick reconnects, HELP texts. */
    static final String CLUSTER_SMPP = """
            throughput: 200
            reconnectSeconds: 1
            reconnectMaxSeconds: 2
            program: Mercy Health reminders
            support: 217-555-0100
            """;

    /** For tests about the wire, not the TCPA policy (SmsPolicyIT): any hour, any number of texts. */
    static void anyHourNoCap(DynamicPropertyRegistry r) {
        r.add("caravan.sms.quiet-hours.window", () -> "00:00-23:59:59");
        r.add("caravan.sms.treatment-cap.per-day", () -> "1000");
        r.add("caravan.sms.treatment-cap.per-week", () -> "1000");
    }

    /**
     * Registers a patient (ADT^A04 over MLLP) whose mobile is +1 217 {@code line} (seven digits) and whose address is
     * in Springfield, IL; returns their contact id.
     */
    static UUID patient(TestHub hub, TestRestTemplate rest, String mrn, String family, String line) throws Exception {
        String msg = Hl7Messages.a04(Hl7Messages.controlId(), mrn, family, "Sam", mrn.toLowerCase() + "@example.org")
                .replace("^PRN^CP^^1^217^5550199", "^PRN^CP^^1^217^" + line);
        try (MllpTestClient c = new MllpTestClient(hub.mllpPort)) {
            assertThat(MllpTestClient.msa1(c.exchange(msg, 10_000))).isEqualTo("AA");
        }
        JsonNode found = HubApi.JSON.readTree(admin(hub, rest).getForEntity("/api/contacts?identifier={id}",
                String.class, "MERCY|" + mrn).getBody());
        return UUID.fromString(found.get(0).get("id").asText());
    }

    static TestRestTemplate admin(TestHub hub, TestRestTemplate rest) {
        return rest.withBasicAuth("admin", hub.adminPassword());
    }

    /** Plans a text ({@code POST /api/messages}, 202); returns the message id. */
    static String plan(TestHub hub, TestRestTemplate rest, UUID contact, String template, String purpose,
            Map<String, Object> data) throws IOException {
        ResponseEntity<String> r = HubApi.post(admin(hub, rest), "/api/messages", Map.of("contactId", contact,
                "template", template, "channel", "sms", "purpose", purpose, "data", data));
        assertThat(r.getStatusCode()).as(r.getBody()).isEqualTo(HttpStatus.ACCEPTED);
        return HubApi.JSON.readTree(r.getBody()).get("id").asText();
    }

    /** Whether the gate would let a treatment text go to the contact now ({@code GET /api/contacts/{id}/decision}). */
    static boolean allowed(TestHub hub, TestRestTemplate rest, UUID contact) throws IOException {
        return HubApi.JSON.readTree(admin(hub, rest).getForEntity(
                "/api/contacts/{id}/decision?purpose=treatment&channel=sms", String.class, contact).getBody())
                .get("allowed").asBoolean();
    }

    static JsonNode message(TestHub hub, TestRestTemplate rest, String id) throws IOException {
        return HubApi.JSON.readTree(admin(hub, rest).getForEntity("/api/messages/{id}", String.class, id).getBody());
    }

    static void awaitStatus(TestHub hub, TestRestTemplate rest, String id, String status) {
        Awaitility.await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(200))
                .until(() -> status.equals(message(hub, rest, id).get("status").asText()));
    }
}
