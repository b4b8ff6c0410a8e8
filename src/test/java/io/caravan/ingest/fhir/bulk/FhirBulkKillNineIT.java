package io.caravan.ingest.fhir.bulk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.support.HubProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The hub killed with SIGKILL in the middle of a Bulk Data download, then started again: the same export resumes
 * after its file's checkpoint (no new kick-off, no new download from the first line) and every patient lands exactly
 * once - nothing lost, no event doubled.
 */
class FhirBulkKillNineIT {

    static final ObjectMapper JSON = new ObjectMapper();
    static final int PATIENTS = 300;
    static final int BATCH = 20;

    static String post(HubProcess hub, String path, String body) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + hub.httpPort + path))
                .header("Authorization", "Basic " + Base64.getEncoder().encodeToString(
                        ("admin:" + HubProcess.PASSWORD).getBytes(StandardCharsets.UTF_8)))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        return r.body();
    }

    @Test
    void killedMidDownloadTheExportResumesAndEveryPatientLandsOnce() throws Exception {
        List<String> mrns = new ArrayList<>();
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < PATIENTS; i++) {
            String mrn = "KB-" + (1000 + i);
            mrns.add(mrn);
            lines.add(BulkDataServer.patient("kb-" + i, 1, "2026-03-01T10:00:00Z", mrn, "Killbulk"));
        }
        try (BulkDataServer server = new BulkDataServer("kill")) {
            server.patients = lines;
            server.pollsBeforeReady = 1;
            // a large file the hub dies in the middle of: the server stops after 200 lines until the kill (a paced
            // file was all in the socket's buffers before a loaded machine's hub had committed half of it)
            server.holdAt = 200;
            Path root = Files.createTempDirectory("caravan-bulk-kill");
            Path data = root.resolve("data");
            Path adapters = Files.createDirectories(root.resolve("adapters"));
            Files.writeString(adapters.resolve("kill-ehr.yaml"), """
                    id: kill-ehr
                    kind: fhir
                    baa: { status: signed }
                    fhir:
                      baseUrl: %s
                      identifierSystems: { "http://hospital.example.org/mrn": KILL }
                      resourceTypes: [Patient]
                      bulk: { level: system, pollInterval: 1s }
                    """.formatted(server.base()));
            String[] args = {"--caravan.mapping.adapters-dir=" + adapters, "--caravan.fhir.tick=200",
                    "--caravan.fhir.bulk.lease=3s", "--caravan.fhir.bulk.batch-size=" + BATCH};
            String id;
            try (HubProcess hub = new HubProcess(data, null, args)) {
                hub.start();
                id = JSON.readTree(post(hub, "/api/fhir/imports", "{\"adapter\":\"kill-ehr\"}")).path("id").asText();
                await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(100)).until(() ->
                        JSON.readTree(hub.get("/api/fhir/imports/" + id)).at("/resources/Patient/committed")
                                .asLong() >= 150);
                hub.kill9();
            } finally {
                server.release.countDown();
            }
            int served = server.linesServed.get();
            assertThat(served).as("killed mid-file").isLessThan(PATIENTS);

            try (HubProcess again = new HubProcess(data, null, args)) {
                again.start();
                await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(250)).until(() ->
                        "completed".equals(JSON.readTree(again.get("/api/fhir/imports/" + id)).path("state")
                                .asText()));
                JsonNode done = JSON.readTree(again.get("/api/fhir/imports/" + id));
                assertThat(server.kickOffs).as("the same export resumed, not a new one").hasSize(1);
                assertThat(server.fileRequests.get()).isEqualTo(2);
                JsonNode p = done.at("/resources/Patient");
                assertThat(p.path("read").asLong()).isEqualTo(PATIENTS);
                // the checkpoint and the counts move in one statement: a resume after it counts every line once,
                // where a download started again from the first line would count the checkpointed ones twice
                assertThat(p.path("committed").asLong() + p.path("duplicates").asLong()).as("lines counted once")
                        .isEqualTo(PATIENTS);
                for (String mrn : mrns) {
                    JsonNode contacts = JSON.readTree(again.get("/api/contacts?identifier=KILL%7C" + mrn));
                    assertThat(contacts).as(mrn).hasSize(1);
                    JsonNode events = JSON.readTree(again.get("/api/contacts/" + contacts.get(0).path("id").asText()
                            + "/events"));
                    assertThat(events).as(mrn + " once").hasSize(1);
                }
            }
        }
    }
}
