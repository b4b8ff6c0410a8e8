package io.caravan.workflow;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.caravan.support.Hl7Messages;
import io.caravan.support.HubApi;
import io.caravan.support.HubProcess;
import io.caravan.support.MllpTestClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kill -9} of the packaged hub while journeys wait and steps fall due: after the restart every due step runs,
 * and each runs once - every patient gets exactly the two messages of their journey, no more. Run on each store.
 */
abstract class WorkflowKillNineContract {

    /** The store: null for the embedded default (H2), else a PostgreSQL JDBC URL. */
    abstract String jdbcUrl();

    static final int PATIENTS = 40;

    @Test
    void afterKillNineEveryDueStepRunsExactlyOnce(@TempDir Path tmp) throws Exception {
        Path workflows = Files.createDirectories(tmp.resolve("workflows"));
        Files.writeString(workflows.resolve("drip.yaml"), """
                id: drip
                purpose: treatment
                trigger: { event: patient.registered }
                steps:
                  - { id: soon, wait: { for: 4s } }
                  - id: first
                    send: { template: appointment-reminder-notice, data: { clinicPhone: "'+1 217 555 0100'" } }
                  - { id: later, wait: { for: 2s } }
                  - id: second
                    send: { template: appointment-reminder-notice, data: { clinicPhone: "'+1 217 555 0100'" } }
                """);
        Path data = tmp.resolve("data");
        List<String> mrns = new ArrayList<>();
        try (HubProcess hub = new HubProcess(data, jdbcUrl(), "--caravan.workflow.dir=" + workflows)) {
            hub.start();
            try (MllpTestClient c = new MllpTestClient(hub.mllpPort)) {
                for (int i = 0; i < PATIENTS; i++) {
                    String mrn = "KILLWF-" + i;
                    mrns.add(mrn);
                    assertThat(MllpTestClient.msa1(c.exchange(Hl7Messages.adt("A04", Hl7Messages.controlId(), mrn,
                            "Drip", "Dora", "drip" + i + "@example.org", OffsetDateTime.now()), 10_000)))
                            .isEqualTo("AA");
                }
            }
            // the first steps fall due at about 4 s, the second at about 6 s: kill in the middle of them
            Thread.sleep(5_000);
            hub.kill9();

            hub.start();
            List<String> ids = new ArrayList<>();
            for (String mrn : mrns) {
                JsonNode found = HubApi.JSON.readTree(hub.get("/api/contacts?identifier=MERCY%7C" + mrn));
                ids.add(found.get(0).get("id").asText());
            }
            Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(() -> {
                for (String id : ids) {
                    JsonNode j = HubApi.JSON.readTree(hub.get("/api/contacts/" + id + "/journeys"));
                    if (j.size() != 1 || !"completed".equals(j.get(0).get("status").asText())) {
                        return false;
                    }
                }
                return true;
            });
            for (String id : ids) {
                JsonNode messages = HubApi.JSON.readTree(hub.get("/api/contacts/" + id + "/messages"));
                assertThat(messages).as("messages of one journey").hasSize(2);
                Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> {
                    JsonNode m = HubApi.JSON.readTree(hub.get("/api/contacts/" + id + "/messages"));
                    return "sent".equals(m.get(0).get("status").asText())
                            && "sent".equals(m.get(1).get("status").asText());
                });
            }
            try (Stream<Path> files = Files.list(data.resolve("outbox"))) {
                assertThat(files.filter(f -> f.toString().endsWith(".eml")).count())
                        .as("one file per message, none twice").isEqualTo(2L * PATIENTS);
            }
        }
    }
}
