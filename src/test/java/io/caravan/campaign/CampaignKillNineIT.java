package io.caravan.campaign;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.support.Hl7Messages;
import io.caravan.support.HubProcess;
import io.caravan.support.MllpTestClient;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The hub killed with SIGKILL in the middle of a campaign, then started again: the campaign carries on, every
 * recipient gets exactly one message (one planned message per contact, one file in the outbox), nobody is missed.
 */
class CampaignKillNineIT {

    static final ObjectMapper JSON = new ObjectMapper();
    static final int PATIENTS = 30;

    @Test
    void killedMidCampaignNobodyGetsItTwiceAndNobodyIsMissed() throws Exception {
        Path data = Files.createTempDirectory("caravan-campaign-kill").resolve("data");
        String[] args = {"--caravan.event-log.poll-interval=50ms", "--caravan.campaigns.poll-interval=100ms"};
        String campaign;
        try (HubProcess hub = new HubProcess(data, null, args)) {
            hub.start();
            try (MllpTestClient c = new MllpTestClient(hub.mllpPort)) {
                for (int i = 0; i < PATIENTS; i++) {
                    String mrn = "CK-" + (100 + i);
                    String email = "ck-" + (100 + i) + "@example.org";
                    assertThat(MllpTestClient.msa1(c.exchange(Hl7Messages.a04(Hl7Messages.controlId(), mrn,
                            "Killington", "Cam", email), 10_000))).isEqualTo("AA");
                    assertThat(MllpTestClient.msa1(c.exchange(Hl7Messages.adt("A08", Hl7Messages.controlId(), mrn,
                            "Killington", "Cam", email, OffsetDateTime.now()) + "DG1|1||Z00.10^Exam^I10\r",
                            10_000))).isEqualTo("AA");
                }
            }
            assertThat(hub.post("/api/segments", """
                    {"id": "recall", "purpose": "treatment", "when": "hasCode('Z00.10')"}""").statusCode())
                    .isEqualTo(201);
            await().atMost(Duration.ofSeconds(60)).until(() -> JSON.readTree(hub.get("/api/segments/recall"))
                    .get("count").asInt() == PATIENTS);
            HttpResponse<String> r = hub.post("/api/campaigns", """
                    {"segment": "recall", "channel": "email", "template": "appointment-reminder-notice",
                     "data": {"clinicPhone": "+1 217 555 0100"}, "rate": 4}""");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
            campaign = JSON.readTree(r.body()).get("id").asText();
            await().atMost(Duration.ofSeconds(60)).until(() -> outbox(data) >= 6);
            hub.kill9();
        }
        assertThat(outbox(data)).as("killed half-way").isLessThan(PATIENTS);

        try (HubProcess hub = new HubProcess(data, null, args)) {
            hub.start();
            await().atMost(Duration.ofSeconds(120)).until(() -> {
                JsonNode rep = JSON.readTree(hub.get("/api/campaigns/" + campaign));
                return "completed".equals(rep.get("status").asText())
                        && rep.get("variants").get(0).get("sent").asInt() == PATIENTS;
            });
            JsonNode rep = JSON.readTree(hub.get("/api/campaigns/" + campaign));
            assertThat(rep.get("targeted").asInt()).isEqualTo(PATIENTS);
            for (int i = 0; i < PATIENTS; i++) {
                String mrn = "CK-" + (100 + i);
                String id = JSON.readTree(hub.get("/api/contacts?identifier=MERCY%7C" + mrn)).get(0).get("id")
                        .asText();
                JsonNode messages = JSON.readTree(hub.get("/api/contacts/" + id + "/messages"));
                assertThat(messages.size()).as("messages planned for %s", mrn).isEqualTo(1);
                assertThat(mailTo(data, "ck-" + (100 + i) + "@example.org")).as("mail to %s", mrn).isEqualTo(1);
            }
            assertThat(outbox(data)).isEqualTo(PATIENTS);
        }
    }

    static long outbox(Path data) throws Exception {
        Path dir = data.resolve("outbox");
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(".eml")).count();
        }
    }

    static long mailTo(Path data, String address) throws Exception {
        try (Stream<Path> s = Files.list(data.resolve("outbox"))) {
            return s.filter(p -> p.toString().endsWith(".eml")).filter(p -> {
                try {
                    return Files.readString(p).contains("To: " + address);
                } catch (java.io.IOException e) {
                    return false;
                }
            }).count();
        }
    }
}
