package io.caravan.ingest.fhir.bulk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.contact.Contact;
import io.caravan.contact.ContactStore;
import io.caravan.contact.TriggerEvent;
import io.caravan.support.TestHub;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.http.HttpEntity;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Bulk Data $export against a server that implements the async pattern (202 + Content-Location, Retry-After,
 * manifest, NDJSON): every patient lands once, the next export asks only for what changed since the last one's
 * transactionTime, a server that fails an export gets it again whole, its error file is reported without stopping the
 * import, and one export runs at a time per adapter.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
// closed after the class, as its PostgreSQL variant is: the two must not hold one MLLP port at the same time
@org.springframework.test.annotation.DirtiesContext
class FhirBulkIT {

    static final ObjectMapper JSON = new ObjectMapper();
    static BulkDataServer manual;
    static BulkDataServer scheduled;
    static Path imports;

    static TestHub hub() {
        return TestHub.named("fhir-bulk");
    }

    /** The hub's store, port and data directory; the PostgreSQL variant hides this method with its own. */
    @DynamicPropertySource
    static void hubProps(DynamicPropertyRegistry r) {
        hub().register(r);
    }

    @DynamicPropertySource
    static void props(DynamicPropertyRegistry r) throws IOException {
        manual = new BulkDataServer("ehr");
        scheduled = new BulkDataServer("nightly");
        Path adapters = Files.createTempDirectory("caravan-bulk-adapters");
        Files.writeString(adapters.resolve("bulk-ehr.yaml"), """
                id: bulk-ehr
                kind: fhir
                baa: { status: signed }
                fhir:
                  baseUrl: %s
                  identifierSystems: { "http://hospital.example.org/mrn": MERCY }
                  resourceTypes: [Patient, Appointment]
                  bulk: { level: patient, pollInterval: 5s, retryWait: 1s, maxAttempts: 3 }
                """.formatted(manual.base()));
        Files.writeString(adapters.resolve("bulk-nightly.yaml"), """
                id: bulk-nightly
                kind: fhir
                baa: { status: signed }
                fhir:
                  baseUrl: %s
                  identifierSystems: { "http://hospital.example.org/mrn": NIGHTLY }
                  resourceTypes: [Patient]
                  bulk: { level: group, group: "diabetes-cohort", every: 1h, pollInterval: 1s }
                """.formatted(scheduled.base()));
        scheduled.patients = List.of(BulkDataServer.patient("n-1", 1, "2026-03-01T10:00:00Z", "NIGHT1", "Night"));
        r.add("caravan.mapping.adapters-dir", adapters::toString);
        imports = Files.createTempDirectory("caravan-bulk-imports");
        r.add("caravan.fhir.import-dir", imports::toString);
        r.add("caravan.fhir.tick", () -> 200);
        r.add("caravan.fhir.bulk.lease", () -> "3s");
        r.add("caravan.fhir.bulk.batch-size", () -> 7);
    }

    @AfterAll
    static void stop() {
        manual.close();
        scheduled.close();
    }

    @Autowired
    TestRestTemplate rest;
    @Autowired
    ContactStore store;

    static String unique(String prefix) {
        return prefix + UUID.randomUUID().toString().substring(0, 8).toUpperCase();
    }

    ResponseEntity<String> post(String path, String body, String user) {
        HttpHeaders h = new HttpHeaders();
        h.setContentType(MediaType.APPLICATION_JSON);
        return rest.withBasicAuth(user, TestHub.USER_PASSWORD).postForEntity(path, new HttpEntity<>(body, h),
                String.class);
    }

    JsonNode get(String path) {
        ResponseEntity<String> r = rest.withBasicAuth(TestHub.INTEGRATION, TestHub.USER_PASSWORD).getForEntity(path,
                String.class);
        assertThat(r.getStatusCode().value()).as(r.getBody()).isEqualTo(200);
        try {
            return JSON.readTree(r.getBody());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    JsonNode finished(String id) {
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> get(
                "/api/fhir/imports/" + id).hasNonNull("finishedAt"));
        return get("/api/fhir/imports/" + id);
    }

    String start(String body) throws IOException {
        ResponseEntity<String> r = post("/api/fhir/imports", body, TestHub.INTEGRATION);
        assertThat(r.getStatusCode().value()).as(r.getBody()).isEqualTo(202);
        assertThat(r.getHeaders().getLocation()).isNotNull();
        return JSON.readTree(r.getBody()).path("id").asText();
    }

    List<String> events(String system, String mrn) {
        return store.findByIdentifier(system, mrn).map(c -> store.events(c.id).stream().map(TriggerEvent::type)
                .toList()).orElse(List.of());
    }

    static String query(String kickOff, String name) {
        for (String kv : kickOff.substring(kickOff.indexOf('?') + 1).split("&")) {
            if (kv.startsWith(name + "=")) {
                return URLDecoder.decode(kv.substring(name.length() + 1), StandardCharsets.UTF_8);
            }
        }
        return null;
    }

    @Test
    void aFullExportLandsEveryPatientOnceThenTheNextAsksOnlySinceItsTransactionTime() throws Exception {
        synchronized (FhirBulkIT.class) {
            List<String> mrns = new ArrayList<>();
            List<String> lines = new ArrayList<>();
            List<String> appointments = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                String mrn = unique("BK");
                mrns.add(mrn);
                lines.add(BulkDataServer.patient("p-" + mrn, 1, "2026-03-01T10:00:00Z", mrn, "Bulkfamily"));
                if (i < 5) {
                    appointments.add(BulkDataServer.appointment("a-" + mrn, "p-" + mrn));
                }
            }
            lines.add("");  // a blank line is no resource
            manual.patients = lines;
            manual.appointments = appointments;
            manual.errors = List.of(BulkDataServer.outcome("processing", "Patient Jones could not be exported"));
            manual.failFirst = 0;
            int before = manual.kickOffs.size();
            int pollsBefore = manual.polls.size();

            String id = start("{\"adapter\":\"bulk-ehr\",\"full\":true}");
            JsonNode done = finished(id);

            assertThat(done.path("state").asText()).as(done.toString()).isEqualTo("completed");
            String kickOff = manual.kickOffs.get(before);
            assertThat(kickOff).startsWith("/Patient/$export");
            assertThat(query(kickOff, "_type")).isEqualTo("Patient,Appointment");
            assertThat(query(kickOff, "_since")).as("a full export").isNull();
            List<Instant> polls = manual.polls.subList(pollsBefore, manual.polls.size());
            assertThat(polls).hasSize(3);
            assertThat(Duration.between(polls.get(0), polls.get(1))).as("Retry-After: 1 honoured")
                    .isGreaterThanOrEqualTo(Duration.ofMillis(900)).isLessThan(Duration.ofMillis(4000));
            for (String mrn : mrns.subList(0, 5)) {
                assertThat(events("MERCY", mrn)).containsExactly("patient.registered", "appointment.booked");
            }
            for (String mrn : mrns.subList(5, 40)) {
                assertThat(events("MERCY", mrn)).containsExactly("patient.registered");
            }
            assertThat(done.path("resources").path("Patient").path("read").asLong()).isEqualTo(41);
            assertThat(done.path("resources").path("Patient").path("committed").asLong()).isEqualTo(40);
            assertThat(done.path("resources").path("Appointment").path("committed").asLong()).isEqualTo(5);
            // the error file is reported (by issue code, never the server's text) and did not stop the import
            assertThat(done.path("serverErrors").path("count").asLong()).isEqualTo(1);
            assertThat(done.path("serverErrors").path("byCode").path("processing").asLong()).isEqualTo(1);
            assertThat(done.toString()).doesNotContain("Jones");
            assertThat(manual.deletes).as("the server is told it may drop the files").contains("/status/"
                    + (manual.kickOffs.size() - 1));

            // the next export: _since is the first one's transactionTime; a changed patient is applied once
            Instant firstTransaction = Instant.parse(done.path("transactionTime").asText());
            String changed = mrns.get(7);
            manual.patients = List.of(BulkDataServer.patient("p-" + changed, 2, "2026-03-02T10:00:00Z", changed,
                    "Bulkchanged"), BulkDataServer.patient("p-" + mrns.get(8), 1, "2026-03-01T10:00:00Z",
                    mrns.get(8), "Bulkfamily"));
            manual.appointments = List.of();
            manual.errors = List.of();
            JsonNode status = get("/api/fhir/bulk-ehr/export");
            assertThat(Instant.parse(status.path("nextSince").asText())).isEqualTo(firstTransaction);
            String second = JSON.readTree(post("/api/fhir/bulk-ehr/export", "", TestHub.INTEGRATION).getBody())
                    .path("id").asText();
            JsonNode done2 = finished(second);
            assertThat(done2.path("state").asText()).isEqualTo("completed");
            assertThat(Instant.parse(query(manual.kickOffs.get(manual.kickOffs.size() - 1), "_since")))
                    .isEqualTo(firstTransaction);
            assertThat(events("MERCY", changed)).containsExactly("patient.registered", "patient.updated");
            assertThat(events("MERCY", mrns.get(8))).as("the same version again changes nothing")
                    .containsExactly("patient.registered");
            // (counted as duplicates with the store in direct mode; the embedded journal recognises them when it
            // applies, after answering, so there they count as committed - either way no event)
            assertThat(done2.path("resources").path("Patient").path("committed").asLong()
                    + done2.path("resources").path("Patient").path("duplicates").asLong()).isEqualTo(2);
            Contact c = store.findByIdentifier("MERCY", changed).orElseThrow();
            assertThat(c.name.family()).isEqualTo("Bulkchanged");
        }
    }

    @Test
    void aFailedExportIsStartedAgainWhole() throws Exception {
        synchronized (FhirBulkIT.class) {
            String mrn = unique("BF");
            manual.patients = List.of(BulkDataServer.patient("p-" + mrn, 1, "2026-03-01T10:00:00Z", mrn, "Retry"));
            manual.appointments = List.of();
            manual.errors = List.of();
            int before = manual.kickOffs.size();
            manual.failFirst = before + 1;   // the next export fails, the one after succeeds
            String id = start("{\"adapter\":\"bulk-ehr\",\"since\":\"2026-01-01T00:00:00Z\"}");
            JsonNode done = finished(id);
            manual.failFirst = 0;
            assertThat(done.path("state").asText()).as(done.toString()).isEqualTo("completed");
            assertThat(done.path("attempt").asInt()).isEqualTo(2);
            assertThat(done.path("error").asText()).contains("500").contains("exception").doesNotContain("Smith");
            assertThat(manual.kickOffs.size() - before).isEqualTo(2);
            assertThat(query(manual.kickOffs.get(before + 1), "_since")).as("the retry asks the same")
                    .isEqualTo("2026-01-01T00:00:00Z");
            assertThat(events("MERCY", mrn)).containsExactly("patient.registered");
        }
    }

    @Test
    void oneExportAtATimePerAdapterAndOnlyForIntegration() throws Exception {
        synchronized (FhirBulkIT.class) {
            manual.patients = List.of();
            manual.appointments = List.of();
            manual.errors = List.of();
            manual.pollsBeforeReady = 3;
            try {
                String id = start("{\"adapter\":\"bulk-ehr\"}");
                ResponseEntity<String> again = post("/api/fhir/imports", "{\"adapter\":\"bulk-ehr\"}",
                        TestHub.INTEGRATION);
                assertThat(again.getStatusCode().value()).isEqualTo(409);
                assertThat(again.getBody()).contains(id);
                assertThat(post("/api/fhir/imports", "{\"adapter\":\"bulk-ehr\"}", TestHub.OPERATOR)
                        .getStatusCode().value()).isEqualTo(403);
                assertThat(post("/api/fhir/imports", "{\"adapter\":\"nope\"}", TestHub.INTEGRATION)
                        .getStatusCode().value()).isEqualTo(400);
                assertThat(finished(id).path("state").asText()).isEqualTo("completed");
            } finally {
                manual.pollsBeforeReady = 2;
            }
        }
    }

    @Test
    void aFolderOfNdjsonFilesIsImportedAndLeavesTheNextSinceAlone() throws Exception {
        synchronized (FhirBulkIT.class) {
            String mrn = unique("BD");
            String other = unique("BD");
            Path folder = Files.createDirectories(imports.resolve("batch-" + mrn));
            Files.writeString(folder.resolve("Appointment.ndjson"), BulkDataServer.appointment("a-" + mrn, "p-" + mrn)
                    + "\n");
            Files.writeString(folder.resolve("Patient.000.ndjson"), BulkDataServer.patient("p-" + mrn, 1,
                    "2026-03-01T10:00:00Z", mrn, "Folder") + "\n" + BulkDataServer.patient("p-" + other, 1,
                    "2026-03-01T10:00:00Z", other, "Folder") + "\n");
            Files.writeString(folder.resolve("notes.txt"), "not an NDJSON file");
            JsonNode before = get("/api/fhir/bulk-ehr/export");
            int kickOffs = manual.kickOffs.size();

            String id = start("{\"adapter\":\"bulk-ehr\",\"folder\":\"batch-" + mrn + "\"}");
            JsonNode done = finished(id);

            assertThat(done.path("state").asText()).as(done.toString()).isEqualTo("completed");
            assertThat(done.path("trigger").asText()).isEqualTo("folder");
            assertThat(events("MERCY", mrn)).as("Patients first, whatever the names' order")
                    .containsExactly("patient.registered", "appointment.booked");
            assertThat(events("MERCY", other)).containsExactly("patient.registered");
            assertThat(done.path("resources").path("Patient").path("committed").asLong()).isEqualTo(2);
            assertThat(manual.kickOffs).as("no server asked").hasSize(kickOffs);
            assertThat(get("/api/fhir/bulk-ehr/export").path("nextSince")).isEqualTo(before.path("nextSince"));
            for (String bad : List.of("../..", "/etc", "no-such-folder")) {
                assertThat(post("/api/fhir/imports", "{\"adapter\":\"bulk-ehr\",\"folder\":\"" + bad + "\"}",
                        TestHub.INTEGRATION).getStatusCode().value()).as(bad).isEqualTo(400);
            }
        }
    }

    @Test
    void aScheduledExportRunsByItselfOnOneNodeAndNotAgainBeforeItIsDue() throws Exception {
        await().atMost(Duration.ofSeconds(60)).until(() -> events("NIGHTLY", "NIGHT1").size() == 1);
        JsonNode status = get("/api/fhir/bulk-nightly/export");
        assertThat(status.path("latest").path("trigger").asText()).isEqualTo("schedule");
        await().atMost(Duration.ofSeconds(10)).until(() -> "completed".equals(get("/api/fhir/bulk-nightly/export")
                .path("latest").path("state").asText()));
        Thread.sleep(1500);   // several ticks
        assertThat(scheduled.kickOffs).hasSize(1);
        assertThat(scheduled.kickOffs.get(0)).startsWith("/Group/diabetes-cohort/$export").contains("_type=Patient");
    }
}
