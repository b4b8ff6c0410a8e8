package io.caravan.ingest.fhir.bulk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.caravan.contact.ContactStore;
import io.caravan.support.Bytes;
import io.caravan.support.TestHub;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.http.HttpEntity;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The PHI canary for the FHIR paths the hub reads itself: a Bulk Data export (an attempt the server fails with a
 * patient's name in its diagnostics, an error file quoting one, a malformed line) and subscription notifications
 * (full-resource, id-only read back, a malformed Bundle), with the hub at DEBUG. The patient's values appear in no
 * log line, no answer and no file of the data directory in clear.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "logging.level.root=DEBUG", "logging.level.io.caravan=DEBUG", "logging.level.org.apache.camel=DEBUG",
        "logging.level.ca.uhn.fhir=DEBUG", "logging.level.org.quartz=INFO",
        "logging.level.org.springframework.web.client=INFO", "logging.level.jdk.internal.httpclient=INFO",
        "logging.level.com.sun.net.httpserver=INFO", "logging.level.org.springframework.test.web=INFO"})
@ExtendWith(OutputCaptureExtension.class)
class FhirBulkPhiCanaryIT {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String TAG = UUID.randomUUID().toString().replace("-", "").substring(0, 10);
    static final String FAMILY = "Quixotebulk" + TAG;
    static final String MRN = "BCNRY" + TAG;
    static final String SUB_FAMILY = "Quixotesub" + TAG;
    static final String SUB_MRN = "SCNRY" + TAG;
    static final String READ_FAMILY = "Quixoteread" + TAG;
    static final String READ_MRN = "RCNRY" + TAG;
    static BulkDataServer bulk;
    static HttpServer ehr;

    static List<String> canaries() {
        return List.of(FAMILY, MRN, SUB_FAMILY, SUB_MRN, READ_FAMILY, READ_MRN);
    }

    static TestHub hub() {
        return TestHub.named("fhir-bulk-canary");
    }

    @DynamicPropertySource
    static void props(DynamicPropertyRegistry r) throws IOException {
        hub().register(r);
        bulk = new BulkDataServer("canary");
        bulk.patients = List.of(BulkDataServer.patient("c-1", 1, "2026-03-01T10:00:00Z", MRN, FAMILY),
                "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"" + FAMILY + "\"", "");
        bulk.errors = List.of(BulkDataServer.outcome("processing", "Patient " + FAMILY + " " + MRN + " failed"));
        bulk.failFirst = 1;
        ehr = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        ehr.createContext("/ehr/", x -> {
            byte[] b = BulkDataServer.patient("r-1", 1, "2026-03-01T10:00:00Z", READ_MRN, READ_FAMILY)
                    .getBytes(StandardCharsets.UTF_8);
            x.getResponseHeaders().add("Content-Type", "application/fhir+json");
            x.sendResponseHeaders(200, b.length);
            x.getResponseBody().write(b);
            x.close();
        });
        ehr.start();
        Path adapters = Files.createTempDirectory("caravan-bulk-canary-adapters");
        Files.writeString(adapters.resolve("canary-bulk.yaml"), """
                id: canary-bulk
                kind: fhir
                baa: { status: signed }
                fhir:
                  baseUrl: %s
                  identifierSystems: { "http://hospital.example.org/mrn": CANARY }
                  resourceTypes: [Patient]
                  bulk: { pollInterval: 1s, retryWait: 1s }
                """.formatted(bulk.base()));
        Files.writeString(adapters.resolve("canary-sub.yaml"), """
                id: canary-sub
                kind: fhir
                baa: { status: signed }
                fhir:
                  baseUrl: http://127.0.0.1:%d/ehr
                  identifierSystems: { "http://hospital.example.org/mrn": CANARY }
                  resourceTypes: [Patient]
                  subscription: { secretEnv: CARAVAN_TEST_CANARY_SECRET }
                """.formatted(ehr.getAddress().getPort()));
        r.add("caravan.mapping.adapters-dir", adapters::toString);
        r.add("CARAVAN_TEST_CANARY_SECRET", () -> "canary-secret");
        r.add("caravan.fhir.tick", () -> 200);
    }

    @AfterAll
    static void stop() {
        bulk.close();
        ehr.stop(0);
    }

    @Autowired
    TestRestTemplate rest;
    @Autowired
    ContactStore store;

    static String notification(String sid, long n, String focus, String resource) {
        return "{\"resourceType\":\"Bundle\",\"type\":\"history\",\"entry\":[{\"resource\":{\"resourceType\":"
                + "\"Parameters\",\"parameter\":[{\"name\":\"subscription\",\"valueReference\":{\"reference\":"
                + "\"Subscription/" + sid + "\"}},{\"name\":\"status\",\"valueCode\":\"active\"},{\"name\":\"type\","
                + "\"valueCode\":\"event-notification\"},{\"name\":\"events-since-subscription-start\","
                + "\"valueString\":\"" + n + "\"},{\"name\":\"notification-event\",\"part\":[{\"name\":"
                + "\"event-number\",\"valueString\":\"" + n + "\"},{\"name\":\"focus\",\"valueReference\":"
                + "{\"reference\":\"" + focus + "\"}}]}]}}" + (resource == null ? "" : ",{\"fullUrl\":\"" + focus
                + "\",\"resource\":" + resource + "}") + "]}";
    }

    ResponseEntity<String> notify(String body) {
        HttpHeaders h = new HttpHeaders();
        h.setContentType(MediaType.parseMediaType("application/fhir+json"));
        h.add("X-Subscription-Secret", "canary-secret");
        return rest.postForEntity("/fhir/subscriptions/canary-sub", new HttpEntity<>(body, h), String.class);
    }

    @Test
    void canariesAppearInNoLogNoAnswerAndNoFileInClear(CapturedOutput output) throws Exception {
        List<ResponseEntity<String>> answers = new ArrayList<>();
        HttpHeaders h = new HttpHeaders();
        h.setContentType(MediaType.APPLICATION_JSON);
        ResponseEntity<String> started = rest.withBasicAuth(TestHub.INTEGRATION, TestHub.USER_PASSWORD).postForEntity(
                "/api/fhir/imports", new HttpEntity<>("{\"adapter\":\"canary-bulk\"}", h), String.class);
        assertThat(started.getStatusCode().value()).isEqualTo(202);
        String id = JSON.readTree(started.getBody()).path("id").asText();
        String sid = "canary-" + TAG;
        answers.add(notify(notification(sid, 1, "Patient/s-1", BulkDataServer.patient("s-1", 1,
                "2026-03-01T10:00:00Z", SUB_MRN, SUB_FAMILY))));
        answers.add(notify(notification(sid, 2, "Patient/r-1/_history/1", null)));
        answers.add(notify("{\"resourceType\":\"Bundle\",\"type\":\"history\",\"entry\":[{\"resource\":{"
                + "\"resourceType\":\"Patient\",\"name\":[{\"family\":\"" + SUB_FAMILY + "\"}]"));
        answers.add(notify("{\"resourceType\":\"Bundle\",\"type\":\"history\",\"entry\":[{\"resource\":"
                + BulkDataServer.patient("s-2", 1, "2026-03-01T10:00:00Z", SUB_MRN, SUB_FAMILY) + "}]}"));
        assertThat(answers.get(0).getStatusCode().value()).as(answers.get(0).getBody()).isEqualTo(200);
        assertThat(answers.get(1).getStatusCode().value()).as(answers.get(1).getBody()).isEqualTo(200);
        assertThat(answers.get(2).getStatusCode().value()).isEqualTo(400);
        assertThat(answers.get(3).getStatusCode().value()).isEqualTo(400);

        await().atMost(Duration.ofSeconds(60)).until(() -> JSON.readTree(rest.withBasicAuth(TestHub.INTEGRATION,
                TestHub.USER_PASSWORD).getForEntity("/api/fhir/imports/" + id, String.class).getBody())
                .path("state").asText().equals("completed"));
        answers.add(rest.withBasicAuth(TestHub.INTEGRATION, TestHub.USER_PASSWORD).getForEntity("/api/fhir/imports/"
                + id, String.class));
        answers.add(rest.withBasicAuth(TestHub.INTEGRATION, TestHub.USER_PASSWORD).getForEntity(
                "/api/fhir/subscriptions/canary-sub", String.class));
        assertThat(store.findByIdentifier("CANARY", MRN)).isPresent();
        assertThat(store.findByIdentifier("CANARY", SUB_MRN)).isPresent();
        assertThat(store.findByIdentifier("CANARY", READ_MRN)).isPresent();
        Thread.sleep(1000);

        for (ResponseEntity<String> a : answers) {
            for (String canary : canaries()) {
                assertThat(a.getBody()).as("an answer").doesNotContain(canary);
            }
        }
        String all = output.getAll();
        List<String> leaks = canaries().stream().filter(all::contains).toList();
        for (String c : leaks) {
            int i = all.indexOf(c);
            System.err.println("CANARY LEAK: " + c + " in line: "
                    + all.substring(all.lastIndexOf('\n', i) + 1, Math.min(all.length(), i + c.length() + 80)));
        }
        assertThat(leaks.size()).as("canaries in the log output (the CANARY LEAK lines show where)").isZero();
        assertThat(all).as("the hub did log at DEBUG").contains("DEBUG");
        List<Path> files;
        try (Stream<Path> s = Files.walk(hub().dataDir)) {
            files = s.filter(Files::isRegularFile).toList();
        }
        List<String> inClear = new ArrayList<>();
        for (Path p : files) {
            byte[] bytes = Files.readAllBytes(p);
            for (String canary : canaries()) {
                if (Bytes.contains(bytes, canary.getBytes(StandardCharsets.UTF_8))) {
                    inClear.add(p.getFileName() + " holds a canary");
                }
            }
        }
        assertThat(inClear).isEmpty();
    }
}
