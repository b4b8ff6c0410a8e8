package io.caravan.segment;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.caravan.support.Hl7Messages;
import io.caravan.support.HubApi;
import io.caravan.support.MllpTestClient;
import io.caravan.support.TestHub;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.http.ResponseEntity;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Segments on a running hub: HL7 messages over MLLP change contacts, the index follows, membership changes raise
 * segment.entered / segment.exited on the contact's events, a workflow starts a journey on them, and definitions
 * through the API are checked and re-evaluated.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@DirtiesContext
@ExtendWith(OutputCaptureExtension.class)
class SegmentIT {

    static final TestHub HUB = TestHub.named("segments");
    static final Path WORKFLOWS;

    static {
        try {
            WORKFLOWS = Files.createTempDirectory("caravan-segment-workflows");
            Files.writeString(WORKFLOWS.resolve("diabetes-welcome.yaml"), """
                    id: diabetes-welcome
                    purpose: treatment
                    trigger:
                      event: segment.entered
                      when: "event.data.segment == 'diabetics'"
                    exits:
                      - event: segment.exited
                        reason: left-segment
                    steps:
                      - id: settle
                        wait:
                          for: 30d
                    """);
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        HUB.register(r);
        r.add("caravan.workflow.dir", WORKFLOWS::toString);
    }

    @Autowired
    TestRestTemplate rest;

    TestRestTemplate integration() {
        return rest.withBasicAuth(TestHub.INTEGRATION, TestHub.USER_PASSWORD);
    }

    void send(String hl7) throws Exception {
        try (MllpTestClient c = new MllpTestClient(HUB.mllpPort)) {
            assertThat(MllpTestClient.msa1(c.exchange(hl7, 10_000))).isEqualTo("AA");
        }
    }

    /** An A01 admission of the patient with one diagnosis (DG1-3), now. */
    static String admitted(String mrn, String code) {
        return Hl7Messages.adt("A01", Hl7Messages.controlId(), mrn, "Segment", "Sam", mrn.toLowerCase() + "@example.org",
                OffsetDateTime.now()) + "DG1|1||" + code + "^Diagnosis^I10\r";
    }

    JsonNode segment(String id) throws Exception {
        ResponseEntity<String> r = integration().getForEntity("/api/segments/{id}", String.class, id);
        assertThat(r.getStatusCode().value()).as(r.getBody()).isEqualTo(200);
        return HubApi.JSON.readTree(r.getBody());
    }

    List<String> events(UUID contact, String type) throws Exception {
        JsonNode all = HubApi.JSON.readTree(integration().getForEntity("/api/contacts/{id}/events", String.class,
                contact).getBody());
        List<String> out = new ArrayList<>();
        for (JsonNode e : all) {
            if (e.get("type").asText().equals(type)) {
                out.add(e.get("data").get("segment").asText());
            }
        }
        return out;
    }

    JsonNode journey(UUID contact, String workflow) throws Exception {
        for (JsonNode j : HubApi.JSON.readTree(integration().getForEntity("/api/contacts/{id}/journeys",
                String.class, contact).getBody())) {
            if (workflow.equals(j.get("workflow").asText())) {
                return j;
            }
        }
        return null;
    }

    ResponseEntity<String> define(String id, String purpose, String when) {
        return HubApi.post(integration(), "/api/segments", Map.of("id", id, "purpose", purpose, "when", when,
                "description", "test segment"));
    }

    @Test
    void membershipFollowsHl7EventsAndWorkflowsStartOnIt() throws Exception {
        assertThat(define("diabetics", "treatment", "inCodeSet('diabetes')").getStatusCode().value()).isEqualTo(201);
        UUID pat = HubApi.register(HUB, rest, "SEG-1", "Segment", "Sam", "seg-1@example.org", "");
        UUID other = HubApi.register(HUB, rest, "SEG-2", "Segment", "Sue", "seg-2@example.org", "");
        Thread.sleep(1000);
        assertThat(events(pat, "segment.entered")).isEmpty();

        // a diagnosis arrives over MLLP: the patient enters, the other does not
        send(admitted("SEG-1", "E11.9"));
        send(admitted("SEG-2", "J45.20"));
        Awaitility.await().atMost(Duration.ofSeconds(15)).until(() -> events(pat, "segment.entered")
                .contains("diabetics"));
        assertThat(segment("diabetics").get("count").asLong()).isGreaterThanOrEqualTo(1);
        assertThat(events(other, "segment.entered")).isEmpty();
        // a workflow triggered on segment.entered
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> journey(pat, "diabetes-welcome") != null);
        assertThat(journey(pat, "diabetes-welcome").get("status").asText()).isEqualTo("active");
        assertThat(journey(other, "diabetes-welcome")).isNull();
        // journey state, as segments read it
        JsonNode inJourney = HubApi.JSON.readTree(HubApi.post(integration(), "/api/segments/preview",
                Map.of("when", "inJourney('diabetes-welcome')")).getBody());
        assertThat(inJourney.get("sample").toString()).contains(pat.toString()).doesNotContain(other.toString());

        // the definition changes: re-evaluated over everyone, the patient exits and its journey ends
        assertThat(define("diabetics", "treatment", "inCodeSet('diabetes') and language == 'fr'")
                .getStatusCode().value()).isEqualTo(200);
        Awaitility.await().atMost(Duration.ofSeconds(15)).until(() -> events(pat, "segment.exited")
                .contains("diabetics"));
        assertThat(segment("diabetics").get("count").asLong()).isZero();
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> "exited".equals(journey(pat,
                "diabetes-welcome").get("status").asText()));
        assertThat(events(pat, "segment.entered")).as("entered once, and the shipped diabetic-adults segment too")
                .containsExactlyInAnyOrder("diabetics", "diabetic-adults");
    }

    @Test
    void anAsthmaCodeOverMllpPutsAPatientInAShippedStyleSegmentAndOutWhenMerged() throws Exception {
        assertThat(define("asthma", "operations", "inCodeSet('asthma')").getStatusCode().value()).isEqualTo(201);
        UUID pat = HubApi.register(HUB, rest, "SEG-3", "Segment", "Ann", "seg-3@example.org", "");
        send(admitted("SEG-3", "J45.909"));
        Awaitility.await().atMost(Duration.ofSeconds(15)).until(() -> events(pat, "segment.entered")
                .contains("asthma"));
        JsonNode preview = HubApi.JSON.readTree(HubApi.post(integration(), "/api/segments/preview",
                Map.of("when", "inCodeSet('asthma')")).getBody());
        assertThat(preview.get("count").asLong()).isGreaterThanOrEqualTo(1);
        assertThat(preview.get("sample").toString()).contains(pat.toString());
        // each id a preview shows is a read of that patient's PHI, audited
        JsonNode reads = HubApi.JSON.readTree(rest.withBasicAuth(TestHub.COMPLIANCE, TestHub.USER_PASSWORD)
                .getForEntity("/api/audit?contact={id}&action=phi.read", String.class, pat).getBody());
        assertThat(reads.toString()).contains("segment-membership");
        // engagement: an opt-out in force reads as unsubscribed()
        assertThat(HubApi.post(rest.withBasicAuth(TestHub.COMPLIANCE, TestHub.USER_PASSWORD),
                "/api/contacts/{id}/opt-outs", Map.of("channel", "email", "purpose", "marketing"), pat)
                .getStatusCode().is2xxSuccessful()).isTrue();
        JsonNode unsubscribed = HubApi.JSON.readTree(HubApi.post(integration(), "/api/segments/preview",
                Map.of("when", "inCodeSet('asthma') and unsubscribed()")).getBody());
        assertThat(unsubscribed.get("sample").toString()).contains(pat.toString());

        // a second record of the same patient, merged into the first (A40): the merged record leaves the segment
        UUID dup = HubApi.register(HUB, rest, "SEG-4", "Segment", "Ann", "seg-3@example.org", "");
        send(admitted("SEG-4", "J45.20"));
        Awaitility.await().atMost(Duration.ofSeconds(15)).until(() -> asthmaSample().contains(dup.toString()));
        long before = segment("asthma").get("count").asLong();
        send(Hl7Messages.a40(Hl7Messages.controlId(), "SEG-3", "SEG-4"));
        Awaitility.await().atMost(Duration.ofSeconds(15)).until(() -> !asthmaSample().contains(dup.toString()));
        assertThat(asthmaSample()).contains(pat.toString());
        assertThat(segment("asthma").get("count").asLong()).isEqualTo(before - 1);
        assertThat(events(pat, "segment.exited")).doesNotContain("asthma");
    }

    @Autowired
    Segments segments;
    @Autowired
    AttributeIndex index;
    @Autowired
    org.springframework.jdbc.core.JdbcTemplate jdbc;

    @Test
    void aContactTheIndexDoesNotHoldIsBackfilledFromItsRecordAndEvents() throws Exception {
        UUID pat = HubApi.register(HUB, rest, "SEG-9", "Segment", "Bea", "seg-9@example.org", "");
        send(admitted("SEG-9", "I10"));
        String when = "hasCode('I10') and hasVisit() and daysSinceVisit() == 0";
        Awaitility.await().atMost(Duration.ofSeconds(15)).until(() -> HubApi.JSON.readTree(HubApi.post(integration(),
                "/api/segments/preview", Map.of("when", when)).getBody()).get("sample").toString()
                .contains(pat.toString()));
        // as on a hub upgraded with patients on file: no index row, nothing in memory
        jdbc.update("DELETE FROM segment_attribute WHERE contact_id = ?", pat);
        index.remove(pat);
        assertThat(HubApi.JSON.readTree(HubApi.post(integration(), "/api/segments/preview", Map.of("when", when))
                .getBody()).get("sample").toString()).doesNotContain(pat.toString());

        assertThat(segments.backfill()).isGreaterThanOrEqualTo(1);
        assertThat(HubApi.JSON.readTree(HubApi.post(integration(), "/api/segments/preview", Map.of("when", when))
                .getBody()).get("sample").toString()).contains(pat.toString());
        assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM segment_attribute WHERE contact_id = ?", Integer.class,
                pat)).isEqualTo(1);
    }

    @Autowired
    io.caravan.eventlog.EventPump pump;

    /**
     * The index reads a run of the log in one transaction, with the run's memberships read once: a patient who enters,
     * leaves and enters again within one run gets each change once, and the run is not refused for a membership it
     * had already recorded (the one-at-a-time fallback would hide that from the events, not from the log).
     */
    @Test
    void aRunThatMovesAPatientInOutAndInAgainRaisesEachChangeOnce(CapturedOutput output) throws Exception {
        assertThat(define("booked", "operations", "hasAppointment()").getStatusCode().value()).isEqualTo(201);
        UUID pat = HubApi.register(HUB, rest, "SEG-5", "Segment", "Ida", "seg-5@example.org", "");
        Awaitility.await().atMost(Duration.ofSeconds(15)).until(() -> pump.isRunning());
        String start = Hl7Messages.ts(OffsetDateTime.now().plusDays(3).withNano(0));
        pump.stop();
        try {
            send(Hl7Messages.s12(Hl7Messages.controlId(), "SEG-5", start));
            send(Hl7Messages.s12(Hl7Messages.controlId(), "SEG-5", start).replace("SIU^S12^SIU_S12",
                    "SIU^S15^SIU_S12"));
            send(Hl7Messages.s12(Hl7Messages.controlId(), "SEG-5", start));
        } finally {
            pump.start();
        }
        Awaitility.await().atMost(Duration.ofSeconds(15)).until(() -> events(pat, "segment.entered").stream()
                .filter("booked"::equals).count() == 2);
        assertThat(events(pat, "segment.exited")).containsExactly("booked");
        assertThat(jdbc.queryForList("SELECT segment_id FROM segment_member WHERE contact_id = ?", String.class,
                pat)).containsExactly("booked");
        assertThat(output.getAll()).doesNotContain("failed for " + SegmentIndexer.SUBSCRIBER);
    }

    String asthmaSample() throws Exception {
        return HubApi.JSON.readTree(HubApi.post(integration(), "/api/segments/preview",
                Map.of("when", "inCodeSet('asthma')")).getBody()).get("sample").toString();
    }

    @Test
    void aMarketingSegmentBySensitiveCodesIsRefusedNamingTheField() throws Exception {
        ResponseEntity<String> r = define("rehab-offers", "marketing", "hasCode('F10')");
        assertThat(r.getStatusCode().value()).isEqualTo(422);
        assertThat(r.getHeaders().getContentType().toString()).startsWith("application/problem+json");
        JsonNode p = HubApi.JSON.readTree(r.getBody());
        assertThat(p.get("field").asText()).isEqualTo("when");
        assertThat(p.get("detail").asText()).contains("substance-use");
        assertThat(integration().getForEntity("/api/segments/{id}", String.class, "rehab-offers").getStatusCode()
                .value()).isEqualTo(404);

        ResponseEntity<String> bad = define("x", "selling", "age() > 3");
        assertThat(bad.getStatusCode().value()).isEqualTo(400);
        assertThat(HubApi.JSON.readTree(bad.getBody()).get("field").asText()).isEqualTo("purpose");
        // preview checks the expression for the purpose too
        assertThat(HubApi.post(integration(), "/api/segments/preview", Map.of("when", "hasCode('B20')",
                "purpose", "marketing")).getStatusCode().value()).isEqualTo(422);
    }

    @Test
    void theShippedSegmentsAreListedWithTheirSource() throws Exception {
        JsonNode all = HubApi.JSON.readTree(integration().getForEntity("/api/segments", String.class).getBody());
        List<String> ids = new ArrayList<>();
        all.forEach(s -> ids.add(s.get("id").asText() + ":" + s.get("source").asText()));
        assertThat(ids).contains("diabetic-adults:file", "lapsed-patients:file");
        assertThat(define("diabetic-adults", "marketing", "age() > 1").getStatusCode().value()).isEqualTo(409);
        assertThat(rest.withBasicAuth(TestHub.OPERATOR, TestHub.USER_PASSWORD).getForEntity("/api/segments",
                String.class).getStatusCode().value()).isEqualTo(200);
        assertThat(HubApi.post(rest.withBasicAuth(TestHub.OPERATOR, TestHub.USER_PASSWORD), "/api/segments",
                Map.of("id", "y", "purpose", "treatment", "when", "true")).getStatusCode().value()).isEqualTo(403);
    }
}
