package io.caravan.campaign;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.caravan.support.Hl7Messages;
import io.caravan.support.HubApi;
import io.caravan.support.MllpTestClient;
import io.caravan.support.TestHub;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.Map;
import java.util.UUID;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.http.ResponseEntity;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** Segments and a campaign on PostgreSQL (the production store): every query of theirs, end to end. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@DirtiesContext
class CampaignPostgresIT {

    static final TestHub HUB = TestHub.namedPostgres("campaigns");

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        HUB.register(r);
    }

    @Autowired
    TestRestTemplate rest;

    TestRestTemplate integration() {
        return rest.withBasicAuth(TestHub.INTEGRATION, TestHub.USER_PASSWORD);
    }

    @Test
    void aSegmentFollowsHl7AndACampaignReachesEachMemberOnce() throws Exception {
        ResponseEntity<String> s = HubApi.post(integration(), "/api/segments", Map.of("id", "pg-recall", "purpose",
                "treatment", "when", "hasCode('Z00.20')"));
        assertThat(s.getStatusCode().value()).as(s.getBody()).isEqualTo(201);
        UUID first = null;
        for (int i = 1; i <= 3; i++) {
            String mrn = "CPG-" + i;
            UUID id = HubApi.register(HUB, rest, mrn, "Pg", "Pat", "cpg-" + i + "@example.org", "");
            first = first == null ? id : first;
            try (MllpTestClient c = new MllpTestClient(HUB.mllpPort)) {
                assertThat(MllpTestClient.msa1(c.exchange(Hl7Messages.adt("A08", Hl7Messages.controlId(), mrn, "Pg",
                        "Pat", "cpg-" + i + "@example.org", OffsetDateTime.now()) + "DG1|1||Z00.20^Exam^I10\r",
                        10_000))).isEqualTo("AA");
            }
        }
        UUID one = first;
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> HubApi.JSON.readTree(integration()
                .getForEntity("/api/segments/pg-recall", String.class).getBody()).get("count").asLong() == 3);
        JsonNode events = HubApi.JSON.readTree(integration().getForEntity("/api/contacts/{id}/events", String.class,
                one).getBody());
        assertThat(events.toString()).contains("segment.entered");

        ResponseEntity<String> r = HubApi.post(integration(), "/api/campaigns", Map.of("segment", "pg-recall",
                "channel", "email", "template", "appointment-reminder-notice", "data",
                Map.of("clinicPhone", "+1 217 555 0100"), "holdout", 0));
        assertThat(r.getStatusCode().value()).as(r.getBody()).isEqualTo(202);
        String id = HubApi.JSON.readTree(r.getBody()).get("id").asText();
        Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> {
            JsonNode rep = HubApi.JSON.readTree(integration().getForEntity("/api/campaigns/{id}", String.class, id)
                    .getBody());
            return "completed".equals(rep.get("status").asText())
                    && rep.get("variants").get(0).get("sent").asLong() == 3;
        });
        JsonNode mine = HubApi.JSON.readTree(rest.withBasicAuth("admin", HUB.adminPassword())
                .getForEntity("/api/contacts/{id}/messages", String.class, one).getBody());
        assertThat(mine.size()).isEqualTo(1);
        assertThat(HubApi.post(integration(), "/api/campaigns/{id}/pause", null, id).getStatusCode().value())
                .isEqualTo(409);
    }
}
