package io.caravan.ingest.fhir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.caravan.contact.ContactStore;
import io.caravan.support.TestHub;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.hl7.fhir.r4.model.Patient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The PHI canary for polling: a patient with unique fake values is polled from the EHR's server (through HAPI's client
 * and Apache HttpClient 4, whose wire log prints every byte at DEBUG), a poll is throttled, with the hub at DEBUG. The
 * values must appear in no log line and not in the status API.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "logging.level.root=DEBUG", "logging.level.io.caravan=DEBUG", "logging.level.org.apache.camel=DEBUG",
        "logging.level.ca.uhn.fhir=DEBUG",
        "logging.level.org.springframework.web.client=INFO", "logging.level.jdk.internal.httpclient=INFO"})
@ExtendWith(OutputCaptureExtension.class)
class FhirPollPhiCanaryIT {

    static final TestHub HUB = TestHub.named("fhir-poll-canary");
    static final TestFhirServer EHR = new TestFhirServer();

    @DynamicPropertySource
    static void props(DynamicPropertyRegistry r) throws IOException {
        HUB.register(r);
        Path adapters = HUB.dataDir.resolveSibling(HUB.dataDir.getFileName() + "-adapters");
        Files.createDirectories(adapters);
        Files.writeString(adapters.resolve("ehr-canary.yaml"), """
                id: ehr-canary
                kind: fhir
                baa: { status: signed }
                fhir:
                  baseUrl: %s
                  identifierSystems: { "http://hospital.example.org/mrn": CANARY }
                  poll: { interval: 1s, overlap: 1m, pageSize: 10 }
                """.formatted(EHR.baseUrl()));
        r.add("caravan.mapping.adapters-dir", adapters::toString);
    }

    @AfterAll
    static void stop() {
        EHR.close();
    }

    @Autowired
    ContactStore store;
    @Autowired
    TestRestTemplate rest;

    final String tag = UUID.randomUUID().toString().replace("-", "").substring(0, 10);
    final String family = "Quixotepoll" + tag;
    final String given = "Zephyrpoll" + tag;
    final String email = "zephyr.poll." + tag + "@canary.example";
    final String mrn = "PCNRY" + tag;
    final String street = "Quillpoll" + tag + " Lane";

    @Test
    void nothingAboutAPolledPatientReachesTheLogOrTheStatus(CapturedOutput output) throws Exception {
        Patient p = TestFhirServer.patient("pcan-" + tag, 1, Instant.now(), mrn, family);
        p.getNameFirstRep().getGiven().clear();
        p.getNameFirstRep().addGiven(given);
        p.addTelecom().setSystem(org.hl7.fhir.r4.model.ContactPoint.ContactPointSystem.EMAIL).setValue(email);
        p.addAddress().addLine(street).setCity("Springfield");
        EHR.put(p);
        await().atMost(Duration.ofSeconds(60)).until(() -> store.findByIdentifier("CANARY", mrn).isPresent());
        EHR.throttleNext(1, 503, "1");
        await().atMost(Duration.ofSeconds(30)).until(() -> EHR.requests().stream().anyMatch(r -> r.status() == 503));
        Thread.sleep(2500);

        String status = rest.withBasicAuth(TestHub.INTEGRATION, TestHub.USER_PASSWORD)
                .getForObject("/api/fhir/adapters", String.class);
        String all = output.getAll();
        assertThat(all).as("the hub did log at DEBUG").contains("DEBUG");
        List<String> canaries = List.of(family, given, email, mrn, street);
        assertThat(canaries.stream().filter(all::contains).toList()).as("PHI in the log").isEmpty();
        assertThat(canaries.stream().filter(status::contains).toList()).as("PHI in the status").isEmpty();
        assertThat(status).contains("ehr-canary");
    }
}
