package io.caravan.ingest.fhir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.caravan.contact.ContactStore;
import io.caravan.support.Bytes;
import io.caravan.support.TestHub;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
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
 * The PHI canary for the FHIR paths: a patient with unique fake values goes in through every FHIR answer - applied,
 * a resend, a batch with a bad entry, a refused transaction, malformed JSON and XML, an unknown type, no identifier,
 * an XML entity - with the hub at DEBUG. The values must appear in no log line, no answer but the resource's own
 * acceptance, and nowhere in the data directory in clear.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "logging.level.root=DEBUG", "logging.level.io.caravan=DEBUG", "logging.level.org.apache.camel=DEBUG",
        "logging.level.ca.uhn.fhir=DEBUG",
        "logging.level.org.springframework.web.client=INFO", "logging.level.jdk.internal.httpclient=INFO"})
@ExtendWith(OutputCaptureExtension.class)
class FhirPhiCanaryIT {

    static TestHub hub() {
        return TestHub.named("fhir-canary");
    }

    @DynamicPropertySource
    static void props(DynamicPropertyRegistry r) {
        hub().register(r);
    }

    @Autowired
    TestRestTemplate rest;
    @Autowired
    ContactStore store;

    final String tag = UUID.randomUUID().toString().replace("-", "").substring(0, 10);
    final String family = "Quixotefhir" + tag;
    final String given = "Zephyrfhir" + tag;
    final String email = "zephyr." + tag + "@canary.example";
    final String mrn = "FCNRY" + tag;
    final String street = "Quillfhir" + tag + " Lane";
    final String phone = "+1217555" + String.format("%04d", new java.util.Random().nextInt(10_000));

    List<String> canaries() {
        return List.of(family, given, email, mrn, street, phone);
    }

    String patient(String id, String version) {
        return """
                {"resourceType":"Patient","id":"%s","meta":{"versionId":"%s","lastUpdated":"2026-03-05T10:00:00Z"},
                 "identifier":[{"system":"http://hospital.example.org/mrn","value":"%s"}],
                 "name":[{"family":"%s","given":["%s"]}],
                 "telecom":[{"system":"email","value":"%s"},{"system":"phone","value":"%s","use":"mobile"}],
                 "address":[{"line":["%s"],"city":"Springfield"}],"birthDate":"1971-02-03"}
                """.formatted(id, version, mrn, family, given, email, phone, street);
    }

    ResponseEntity<String> post(String path, String body, String type) {
        HttpHeaders h = new HttpHeaders();
        h.setContentType(MediaType.parseMediaType(type));
        return rest.withBasicAuth(TestHub.INTEGRATION, TestHub.USER_PASSWORD).postForEntity(path,
                new HttpEntity<>(body, h), String.class);
    }

    @Test
    void fhirCanariesAppearInNoLogNoAnswerAndNoFileInClear(CapturedOutput output) throws Exception {
        String good = patient("canary-" + tag, "1");
        String noIdentifier = good.replace("\"identifier\":[{\"system\":\"http://hospital.example.org/mrn\",\"value\":\""
                + mrn + "\"}],", "");
        List<ResponseEntity<String>> answers = new ArrayList<>();
        answers.add(post("/fhir/Patient", good, "application/fhir+json"));
        answers.add(post("/fhir/Patient", good, "application/fhir+json"));
        answers.add(post("/fhir", "{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"entry\":[{\"resource\":"
                + patient("canary-" + tag, "2") + "},{\"resource\":" + noIdentifier + "}]}", "application/fhir+json"));
        answers.add(post("/fhir", "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[{\"resource\":"
                + noIdentifier + "}]}", "application/fhir+json"));
        answers.add(post("/fhir/Patient", noIdentifier, "application/fhir+json"));
        answers.add(post("/fhir/Patient", good.substring(0, good.length() - 20), "application/fhir+json"));
        answers.add(post("/fhir/Patient", good.replace("\"birthDate\":\"1971-02-03\"", "\"birthDate\":\"" + family
                + "\""), "application/fhir+json"));
        answers.add(post("/fhir/Patient", good.replace("\"Patient\",\"id\"", "\"" + family + "\",\"id\""),
                "application/fhir+json"));
        answers.add(post("/fhir/Patient", "<Patient xmlns=\"http://hl7.org/fhir\"><name><family value=\"" + family
                + "\"/></name><bogus>" + email + "</bogus></Patient>", "application/fhir+xml"));
        answers.add(post("/fhir/Patient", "<Patient xmlns=\"http://hl7.org/fhir\"><name><family value=\"" + family
                + "\"", "application/fhir+xml"));
        answers.add(post("/fhir/Patient", "<!DOCTYPE p [<!ENTITY x \"" + family + "\">]><Patient xmlns=\""
                + "http://hl7.org/fhir\"><name><family value=\"&x;\"/></name></Patient>", "application/fhir+xml"));
        answers.add(post("/fhir/Appointment", good, "application/fhir+json"));

        assertThat(answers.get(0).getStatusCode().value()).isEqualTo(200);
        assertThat(answers.stream().map(r -> r.getStatusCode().value()).filter(s -> s >= 400)).hasSizeGreaterThanOrEqualTo(8);
        for (ResponseEntity<String> a : answers) {
            for (String canary : canaries()) {
                assertThat(a.getBody()).as("an answer").doesNotContain(canary);
            }
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> store.findByIdentifier("MERCY", mrn).isPresent());
        Thread.sleep(1000);

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
        assertThat(files).isNotEmpty();
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
