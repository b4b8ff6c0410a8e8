package io.caravan.ingest.fhir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.caravan.contact.Contact;
import io.caravan.contact.ContactStore;
import io.caravan.contact.ContactWriter;
import io.caravan.contact.IntakeSource;
import io.caravan.contact.SourceMessage;
import io.caravan.contact.TriggerEvent;
import io.caravan.crypto.FieldCipher;
import io.caravan.ingest.Intake;
import io.caravan.ingest.MllpProperties;
import io.caravan.mapping.MappingCatalog;
import io.caravan.support.TestHub;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.camel.CamelContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The hub polls an EHR's FHIR server (HAPI, in process) as it would a real one: searches by _lastUpdated with an
 * overlap, follows every next link, commits through the intake step, keeps its watermark in the database, honours
 * Retry-After, and never skips what a failed store did not confirm.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class FhirPollIT {

    static final TestHub HUB = TestHub.named("fhir-poll");
    /** Polled by its Quartz route, every second. */
    static final TestFhirServer EHR = new TestFhirServer();
    /** Polled by the tests themselves (its route is stopped): restart and store failure. */
    static final TestFhirServer MANUAL = new TestFhirServer();

    @DynamicPropertySource
    static void props(DynamicPropertyRegistry r) throws IOException {
        HUB.register(r);
        Path adapters = HUB.dataDir.resolveSibling(HUB.dataDir.getFileName() + "-adapters");
        Files.createDirectories(adapters);
        Files.writeString(adapters.resolve("ehr-poll.yaml"), """
                id: ehr-poll
                kind: fhir
                baa: { status: signed }
                fhir:
                  baseUrl: %s
                  identifierSystems: { "http://hospital.example.org/mrn": POLL }
                  auth: { type: bearer, tokenEnv: CARAVAN_TEST_FHIR_TOKEN }
                  poll: { interval: 1s, overlap: 10m, pageSize: 10 }
                """.formatted(EHR.baseUrl()));
        Files.writeString(adapters.resolve("ehr-manual.yaml"), """
                id: ehr-manual
                kind: fhir
                baa: { status: signed }
                fhir:
                  baseUrl: %s
                  identifierSystems: { "http://hospital.example.org/mrn": MANUAL }
                  poll: { interval: 1h, overlap: 1m, pageSize: 5 }
                """.formatted(MANUAL.baseUrl()));
        r.add("caravan.mapping.adapters-dir", adapters::toString);
        r.add("CARAVAN_TEST_FHIR_TOKEN", () -> "poll-token");
        EHR.requireAuthorization("Bearer poll-token");
    }

    @AfterAll
    static void stop() {
        EHR.close();
        MANUAL.close();
    }

    @Autowired
    ContactStore store;
    @Autowired
    FhirPollStore pollStore;
    @Autowired
    FhirPoller poller;
    @Autowired
    CamelContext camel;
    @Autowired
    FhirClients clients;
    @Autowired
    FhirSource source;
    @Autowired
    MappingCatalog catalog;
    @Autowired
    MeterRegistry meters;
    @Autowired
    ContactWriter writer;
    @Autowired
    FieldCipher cipher;
    @Autowired
    MllpProperties mllp;
    @Autowired
    ObjectProvider<IntakeSource> sources;
    @Autowired
    Intake intake;
    @Autowired
    org.springframework.boot.test.web.client.TestRestTemplate rest;

    static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    com.fasterxml.jackson.databind.JsonNode get(String user, String path, Object... vars) throws Exception {
        var r = rest.withBasicAuth(user, TestHub.USER_PASSWORD).getForEntity(path, String.class, vars);
        assertThat(r.getStatusCode().value()).as(r.getBody()).isEqualTo(200);
        return JSON.readTree(r.getBody());
    }

    List<String> rules(UUID contact, String purpose, String channel, String effect) throws Exception {
        List<String> out = new java.util.ArrayList<>();
        get(TestHub.COMPLIANCE, "/api/contacts/{id}/decision?purpose={p}&channel={c}", contact, purpose, channel)
                .get("reasons").forEach(r -> {
                    if (effect.equals(r.get("effect").asText())) {
                        out.add(r.get("rule").asText());
                    }
                });
        return out;
    }

    /**
     * The resources' lastUpdated: the tests share one server and its polled watermark, so like a real server's these
     * only grow (a resource older than watermark - overlap is by design never read).
     */
    static Instant now() {
        return Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
    }

    static Instant gt(String url) {
        String p = lastUpdatedParam(url);
        assertThat(p).startsWith("gt");
        return java.time.OffsetDateTime.parse(p.substring(2)).toInstant();
    }

    static String mrn() {
        return "PM" + UUID.randomUUID().toString().substring(0, 8).toUpperCase();
    }

    Optional<Contact> contact(String system, String mrn) {
        return store.findByIdentifier(system, mrn);
    }

    List<String> events(String system, String mrn) {
        return contact(system, mrn).map(c -> store.events(c.id).stream().map(TriggerEvent::type).toList())
                .orElse(List.of());
    }

    static String lastUpdatedParam(String url) {
        for (String kv : url.substring(url.indexOf('?') + 1).split("&")) {
            if (kv.startsWith("_lastUpdated=")) {
                return URLDecoder.decode(kv.substring("_lastUpdated=".length()), StandardCharsets.UTF_8);
            }
        }
        return null;
    }

    @Test
    void everyPageIsFollowedAndTheOverlapIsAppliedOnceAndTheWatermarkIsTheNewestCommitted() throws Exception {
        List<String> mrns = new java.util.ArrayList<>();
        Instant base = now();
        for (int i = 0; i < 25; i++) {
            String mrn = mrn();
            mrns.add(mrn);
            EHR.put(TestFhirServer.patient("pp-" + mrn, 1, base.plusMillis(10L * i), mrn, "Paged"));
        }
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(mrns)
                .allSatisfy(m -> assertThat(events("POLL", m)).containsExactly("patient.registered")));
        assertThat(EHR.requests()).as("the pages after the first come from the server's next links")
                .anySatisfy(r -> assertThat(r.url()).contains("_getpages="));
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(pollStore.watermark("ehr-poll",
                "Patient")).isEqualTo(base.plusMillis(240)));

        // the following polls read the last 10 minutes again (overlap): nothing is applied twice
        EHR.clearRequests();
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(EHR.requests())
                .filteredOn(r -> r.url().contains("/fhir/Patient?")).hasSizeGreaterThanOrEqualTo(2));
        assertThat(EHR.requests()).filteredOn(r -> r.url().contains("/fhir/Patient?")).first()
                .satisfies(r -> assertThat(gt(r.url())).isEqualTo(base.plusMillis(240).minus(Duration.ofMinutes(10))));
        assertThat(EHR.requests()).allSatisfy(r -> assertThat(r.authorization()).isEqualTo("Bearer poll-token"));

        // a new version and a new patient: applied, once
        EHR.put(TestFhirServer.patient("pp-" + mrns.get(3), 2, now(), mrns.get(3), "Newname"));
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(events("POLL", mrns.get(3)))
                .containsExactly("patient.registered", "patient.updated"));
        Thread.sleep(2500);
        assertThat(events("POLL", mrns.get(3))).containsExactly("patient.registered", "patient.updated");
        assertThat(mrns).allSatisfy(m -> assertThat(events("POLL", m)).hasSizeLessThanOrEqualTo(2));
        assertThat(contact("POLL", mrns.get(3)).orElseThrow().name.family()).isEqualTo("Newname");
    }

    @Test
    void a429WithRetryAfterIsHonouredAndShownAsTheLastError() throws Exception {
        String mrn = mrn();
        EHR.clearRequests();
        EHR.throttleNext(1, 429, "3");
        await().atMost(Duration.ofSeconds(20)).until(() -> EHR.requests().stream().anyMatch(r -> r.status() == 429));
        TestFhirServer.Request throttled = EHR.requests().stream().filter(r -> r.status() == 429).findFirst()
                .orElseThrow();
        EHR.put(TestFhirServer.patient("pp-" + mrn, 1, now(), mrn, "Throttled"));
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(pollStore.state("ehr-poll").lastError())
                .isEqualTo("the server answered HTTP 429"));
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(events("POLL", mrn))
                .containsExactly("patient.registered"));
        TestFhirServer.Request next = EHR.requests().stream().filter(r -> r.at().isAfter(throttled.at()))
                .findFirst().orElseThrow();
        assertThat(Duration.between(throttled.at(), next.at())).as("the next request waits for Retry-After")
                .isGreaterThanOrEqualTo(Duration.ofMillis(2900));
    }

    @Test
    void aStoreFailureMidPageLeavesTheWatermarkAndTheNextPollReadsThePageAgain() throws Exception {
        camel.getRouteController().stopRoute("fhir-poll-ehr-manual");
        List<String> mrns = new java.util.ArrayList<>();
        Instant base = Instant.parse("2026-04-01T08:00:00Z");
        for (int i = 0; i < 12; i++) {
            String mrn = mrn();
            mrns.add(mrn);
            MANUAL.put(TestFhirServer.patient("pm-" + mrn, 1, base.plusSeconds(i), mrn, "Manual"));
        }
        AtomicInteger calls = new AtomicInteger();
        // the store down for the 8th resource (second page): a fault the test cannot cause in a live database
        Intake failing = new Intake(writer, cipher, mllp, sources) {
            @Override
            public Committed commit(String kind, SourceMessage read, byte[] raw, Instant at)
                    throws InterruptedException {
                if (calls.incrementAndGet() == 8) {
                    return new Committed(Outcome.NOT_STORED, null, null);
                }
                return super.commit(kind, read, raw, at);
            }
        };
        FhirPoller broken = new FhirPoller(clients, source, failing, pollStore, catalog, Clock.systemUTC(), meters);
        Instant before = pollStore.watermark("ehr-manual", "Patient");
        broken.pollNow("ehr-manual");
        assertThat(pollStore.state("ehr-manual").lastError()).contains("store did not confirm");
        Instant after = pollStore.watermark("ehr-manual", "Patient");
        assertThat(after).as("the first page (5) is committed: the watermark is its newest").isEqualTo(
                base.plusSeconds(4));
        assertThat(before).isNotEqualTo(after);
        assertThat(events("MANUAL", mrns.get(11))).as("nothing after the failed page").isEmpty();

        // a restart: a new poller (nothing in memory) resumes from the stored watermark, less the overlap
        MANUAL.clearRequests();
        FhirPoller restarted = new FhirPoller(clients, source, intake, pollStore, catalog, Clock.systemUTC(), meters);
        restarted.pollNow("ehr-manual");
        assertThat(MANUAL.requests()).filteredOn(r -> r.url().contains("/fhir/Patient?")).first()
                .satisfies(r -> assertThat(gt(r.url())).isEqualTo(base.plusSeconds(4).minus(Duration.ofMinutes(1))));
        assertThat(mrns).allSatisfy(m -> assertThat(events("MANUAL", m)).containsExactly("patient.registered"));
        assertThat(pollStore.watermark("ehr-manual", "Patient")).isEqualTo(base.plusSeconds(11));
        assertThat(pollStore.state("ehr-manual").failures()).isZero();
    }

    @Test
    void aPolledConsentDenyingTextsChangesTheGateAndAnEncounterRaisesAdmissionAndDischarge() throws Exception {
        String mrn = mrn();
        String pid = "pc-" + mrn;
        EHR.put(TestFhirServer.patient(pid, 1, now(), mrn, "Consenting"));
        await().atMost(Duration.ofSeconds(30)).until(() -> contact("POLL", mrn).isPresent());
        UUID id = contact("POLL", mrn).orElseThrow().id;
        assertThat(rules(id, "treatment", "sms", "deny")).doesNotContain("opt-out");

        org.hl7.fhir.r4.model.Consent consent = new org.hl7.fhir.r4.model.Consent();
        consent.setId("cns-" + mrn);
        consent.getMeta().setVersionId("1").setLastUpdated(java.util.Date.from(now()));
        consent.setStatus(org.hl7.fhir.r4.model.Consent.ConsentState.ACTIVE);
        consent.getPatient().setReference("Patient/" + pid);
        consent.getProvision().setType(org.hl7.fhir.r4.model.Consent.ConsentProvisionType.DENY).addCode()
                .addCoding().setSystem("http://hl7.org/fhir/contact-point-system").setCode("sms");
        EHR.put(consent);
        org.hl7.fhir.r4.model.Encounter stay = new org.hl7.fhir.r4.model.Encounter();
        stay.setId("enc-" + mrn);
        stay.getMeta().setVersionId("1").setLastUpdated(java.util.Date.from(now()));
        stay.setStatus(org.hl7.fhir.r4.model.Encounter.EncounterStatus.INPROGRESS);
        stay.getClass_().setSystem("http://terminology.hl7.org/CodeSystem/v3-ActCode").setCode("IMP");
        stay.getSubject().setReference("Patient/" + pid);
        EHR.put(stay);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(rules(id, "treatment", "sms", "deny"))
                .contains("opt-out"));
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(events("POLL", mrn))
                .containsExactlyInAnyOrder("patient.registered", "patient.updated", "patient.admitted"));

        stay = stay.copy();
        stay.getMeta().setVersionId("2").setLastUpdated(java.util.Date.from(now()));
        stay.setStatus(org.hl7.fhir.r4.model.Encounter.EncounterStatus.FINISHED);
        EHR.put(stay);
        consent = consent.copy();
        Instant withdrawn = now();
        consent.getMeta().setVersionId("2").setLastUpdated(java.util.Date.from(withdrawn));
        consent.setStatus(org.hl7.fhir.r4.model.Consent.ConsentState.INACTIVE);
        EHR.put(consent);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(events("POLL", mrn))
                .containsExactlyInAnyOrder("patient.registered", "patient.updated", "patient.admitted",
                        "patient.discharged", "patient.updated"));
        assertThat(rules(id, "treatment", "sms", "deny")).as("the withdrawn deny lifts the opt-out")
                .doesNotContain("opt-out");

        var adapters = get(TestHub.OPERATOR, "/api/fhir/adapters");
        var poll = java.util.stream.StreamSupport.stream(adapters.spliterator(), false)
                .filter(a -> "ehr-poll".equals(a.get("id").asText())).findFirst().orElseThrow().get("poll");
        assertThat(poll.get("watermarks").get("Consent").asText()).isEqualTo(withdrawn.toString());
        assertThat(poll.get("lastSuccessAt").isNull()).isFalse();
        assertThat(adapters.toString()).doesNotContain(mrn).doesNotContain("Consenting");
    }
}
