package io.caravan.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.support.HubProcess;
import io.caravan.support.Hl7Messages;
import io.caravan.support.MllpTestClient;
import io.caravan.support.PostgresSupport;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.UUID;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * A campaign on two hub processes of the {@code cluster} profile: one runner for the cluster, so the campaign keeps
 * its rate (not once per node), takes its snapshot once and plans each recipient once, without errors on either node.
 * The patients are registered before the second node starts, so that both nodes' segment indexes (loaded at start)
 * hold them all whichever node takes the snapshot.
 */
class CampaignClusterIT {

    static final ObjectMapper JSON = new ObjectMapper();
    static final int PATIENTS = 24;
    static final int RATE = 4;

    final Path tmp = Path.of("target", "campaign-cluster-it", UUID.randomUUID().toString()).toAbsolutePath();

    final String url = PostgresSupport.newDatabase();

    @Test
    void oneRunnerForTheClusterKeepsTheRateAndPlansEachRecipientOnce() throws Exception {
        String masterKey = "campaign-cluster-key-" + UUID.randomUUID();
        List<Path> data = HubProcess.nodeDirs(tmp, masterKey, "a", "b");
        Path dataA = data.get(0);
        Path dataB = data.get(1);
        String[] args = {"--spring.profiles.include=cluster", "--caravan.event-log.poll-interval=100ms",
                "--caravan.campaigns.poll-interval=100ms"};
        try (HubProcess a = new HubProcess(dataA, url, args); HubProcess b = new HubProcess(dataB, url, args)) {
            a.start();
            try (MllpTestClient c = new MllpTestClient(a.mllpPort)) {
                for (int i = 0; i < PATIENTS; i++) {
                    String mrn = "CC-" + (100 + i);
                    String email = "cc-" + (100 + i) + "@example.org";
                    assertThat(MllpTestClient.msa1(c.exchange(Hl7Messages.a04(Hl7Messages.controlId(), mrn,
                            "Campbell", "Cam", email), 10_000))).isEqualTo("AA");
                    // the code the segment selects by (an A08 maps DG1; an A04 does not)
                    assertThat(MllpTestClient.msa1(c.exchange(Hl7Messages.adt("A08", Hl7Messages.controlId(), mrn,
                            "Campbell", "Cam", email, OffsetDateTime.now()) + "DG1|1||Z00.11^Exam^I10\r", 10_000)))
                            .isEqualTo("AA");
                }
            }
            assertThat(a.post("/api/segments", """
                    {"id": "recall", "purpose": "treatment", "when": "hasCode('Z00.11')"}""").statusCode())
                    .isEqualTo(201);
            Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> JSON.readTree(a.get("/api/segments/recall"))
                    .get("count").asInt() == PATIENTS);
            b.start();
            assertThat(JSON.readTree(b.get("/api/segments/recall")).get("count").asInt()).isEqualTo(PATIENTS);

            HttpResponse<String> r = b.post("/api/campaigns", """
                    {"segment": "recall", "channel": "email", "template": "appointment-reminder-notice",
                     "data": {"clinicPhone": "+1 217 555 0100"}, "rate": %d}""".formatted(RATE));
            assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
            String campaign = JSON.readTree(r.body()).get("id").asText();
            Awaitility.await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).until(() -> {
                JsonNode rep = JSON.readTree(a.get("/api/campaigns/" + campaign));
                return "completed".equals(rep.get("status").asText());
            });
            JsonNode rep = JSON.readTree(a.get("/api/campaigns/" + campaign));
            assertThat(rep.get("targeted").asInt()).isEqualTo(PATIENTS);

            String mine = "created_by LIKE 'campaign:" + campaign + ":%'";
            assertThat(count("SELECT COUNT(*) FROM outbound_message WHERE " + mine)).isEqualTo(PATIENTS);
            assertThat(count("SELECT COUNT(DISTINCT contact_id) FROM outbound_message WHERE " + mine))
                    .as("one message per recipient").isEqualTo(PATIENTS);
            // at its rate, the first and the last plan are (PATIENTS - 1) / RATE seconds apart: not half that
            long spanMillis;
            try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery("SELECT MIN(created_at), MAX(created_at) FROM outbound_message"
                            + " WHERE " + mine)) {
                rs.next();
                Timestamp first = rs.getTimestamp(1);
                Timestamp last = rs.getTimestamp(2);
                spanMillis = last.getTime() - first.getTime();
            }
            assertThat(spanMillis).as("ms between the first and the last plan")
                    .isGreaterThanOrEqualTo((PATIENTS - 1) * 1000L / RATE * 8 / 10);

            assertThat(HubProcess.errorLines(a.log())).as("node a's log").isEmpty();
            assertThat(HubProcess.errorLines(b.log())).as("node b's log").isEmpty();
        }
    }

    private long count(String sql) throws Exception {
        return PostgresSupport.count(url, sql);
    }
}
