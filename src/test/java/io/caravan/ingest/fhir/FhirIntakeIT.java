package io.caravan.ingest.fhir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.contact.Contact;
import io.caravan.contact.ContactStore;
import io.caravan.contact.TriggerEvent;
import io.caravan.support.Hl7Messages;
import io.caravan.support.MllpTestClient;
import io.caravan.support.TestHub;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
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
 * FHIR R4 resources POSTed to the hub as an EHR's integration engine would: they become the same contacts and trigger
 * events as HL7 v2 (one patient sent both ways is one contact), each version is applied once, a Bundle is answered
 * entry by entry, and bad input is refused with an OperationOutcome naming the problem - never a value.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class FhirIntakeIT {

    static final ObjectMapper JSON = new ObjectMapper();
    static final int MAX_BYTES = 1_000_000;
    static final java.nio.file.Path SYNTHEA = java.nio.file.Path.of("/work/shared/fixtures/fhir/synthea-bundles");

    static TestHub hub() {
        return TestHub.named("fhir");
    }

    @DynamicPropertySource
    static void props(DynamicPropertyRegistry r) {
        hub().register(r);
        r.add("caravan.fhir.max-bytes", () -> MAX_BYTES);
    }

    @Autowired
    TestRestTemplate rest;
    @Autowired
    ContactStore store;

    static String unique(String prefix) {
        return prefix + UUID.randomUUID().toString().substring(0, 8).toUpperCase();
    }

    static String patient(String id, String version, String lastUpdated, String mrn, String family, String email) {
        return """
                {"resourceType":"Patient","id":"%s","meta":{"versionId":"%s","lastUpdated":"%s"},
                 "identifier":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},
                   "system":"http://hospital.example.org/mrn","value":"%s"}],
                 "name":[{"use":"official","family":"%s","given":["Fhir"]}],
                 "telecom":[{"system":"email","value":"%s"},{"system":"phone","value":"217-555-0123","use":"mobile"}],
                 "gender":"female","birthDate":"1980-01-01"}
                """.formatted(id, version, lastUpdated, mrn, family, email);
    }

    static String noIdentifierPatient(String family) {
        return "{\"resourceType\":\"Patient\",\"id\":\"" + unique("p") + "\",\"name\":[{\"family\":\"" + family
                + "\"}]}";
    }

    ResponseEntity<String> post(String path, String body, String contentType, String user) {
        HttpHeaders h = new HttpHeaders();
        h.setContentType(MediaType.parseMediaType(contentType));
        return rest.withBasicAuth(user, TestHub.USER_PASSWORD).postForEntity(path, new HttpEntity<>(body, h),
                String.class);
    }

    ResponseEntity<String> post(String path, String body) {
        return post(path, body, "application/fhir+json", TestHub.INTEGRATION);
    }

    Optional<Contact> contact(String key) {
        String[] k = key.split("\\|", 2);
        return store.findByIdentifier(k[0], k[1]);
    }

    List<String> eventTypes(String key) {
        return contact(key).map(c -> store.events(c.id).stream().map(TriggerEvent::type).toList()).orElse(List.of());
    }

    static JsonNode json(ResponseEntity<String> r) throws Exception {
        return JSON.readTree(r.getBody());
    }

    @Test
    void theSamePatientOverMllpAndAsFhirIsOneContactWithEventsFromBoth() throws Exception {
        String mrn = unique("FM");
        try (MllpTestClient c = new MllpTestClient(hub().mllpPort)) {
            assertThat(MllpTestClient.msa1(c.exchange(Hl7Messages.a04(Hl7Messages.controlId(), mrn, "Hlseven",
                    "Pat", "hl7@example.org"), 20_000))).isEqualTo("AA");
        }
        String id = unique("pat-");
        ResponseEntity<String> r = post("/fhir/Patient",
                patient(id, "2", "2026-03-05T10:00:00Z", mrn, "Fhirnewer", "fhir@example.org"));
        assertThat(r.getStatusCode().value()).as(r.getBody()).isEqualTo(200);
        assertThat(r.getHeaders().getContentType().toString()).startsWith("application/fhir+json");
        assertThat(json(r).path("resourceType").asText()).isEqualTo("OperationOutcome");

        String appointment = """
                {"resourceType":"Appointment","id":"%s","meta":{"versionId":"1","lastUpdated":"2026-03-06T10:00:00Z"},
                 "status":"booked","start":"2026-04-01T09:00:00Z","end":"2026-04-01T09:30:00Z",
                 "participant":[{"actor":{"reference":"Patient/%s"},"status":"accepted"}]}
                """.formatted(unique("appt-"), id);
        assertThat(post("/fhir/Appointment", appointment).getStatusCode().value()).isEqualTo(200);

        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(eventTypes("MERCY|" + mrn))
                .containsExactly("patient.registered", "patient.updated", "appointment.booked"));
        Contact c = contact("MERCY|" + mrn).orElseThrow();
        assertThat(c.email).as("the FHIR version is newer than the A04").isEqualTo("fhir@example.org");
        assertThat(c.phone).isEqualTo("+12175550123");
        assertThat(store.events(c.id).get(1).source().messageControlId()).isEqualTo("Patient/" + id + "/_history/2");
    }

    @Test
    void anOlderVersionDoesNotMoveDemographicsBackwards() throws Exception {
        String mrn = unique("FO");
        String id = unique("pat-");
        post("/fhir/Patient", patient(id, "5", "2026-03-10T10:00:00Z", mrn, "Newest", "new@example.org"));
        post("/fhir/Patient", patient(id, "4", "2026-03-09T10:00:00Z", mrn, "Older", "old@example.org"));
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(eventTypes("MERCY|" + mrn))
                .hasSize(2));
        assertThat(contact("MERCY|" + mrn).orElseThrow().email).isEqualTo("new@example.org");
    }

    @Test
    void theSameResourceVersionPostedTwiceIsAppliedOnce() throws Exception {
        String mrn = unique("FD");
        String body = patient(unique("pat-"), "1", "2026-03-05T10:00:00Z", mrn, "Twice", "twice@example.org");
        assertThat(post("/fhir/Patient", body).getStatusCode().value()).isEqualTo(200);
        assertThat(post("/fhir/Patient", body).getStatusCode().value()).isEqualTo(200);
        // and once more inside a batch
        String batch = "{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"entry\":[{\"resource\":" + body + "}]}";
        assertThat(post("/fhir", batch).getStatusCode().value()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(eventTypes("MERCY|" + mrn))
                .containsExactly("patient.registered"));
        Thread.sleep(1500);
        assertThat(eventTypes("MERCY|" + mrn)).containsExactly("patient.registered");
    }

    @Test
    void aBatchWithOneBadEntryIsAnsweredPerEntryAndTheGoodOnesAreApplied() throws Exception {
        String mrn = unique("FB");
        String good = patient(unique("pat-"), "1", "2026-03-05T10:00:00Z", mrn, "Goodentry", "good@example.org");
        String batch = "{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"entry\":[{\"resource\":" + good
                + "},{\"resource\":" + noIdentifierPatient("Badentry") + "}]}";
        ResponseEntity<String> r = post("/fhir", batch);
        assertThat(r.getStatusCode().value()).as(r.getBody()).isEqualTo(200);
        JsonNode answer = json(r);
        assertThat(answer.path("type").asText()).isEqualTo("batch-response");
        assertThat(answer.at("/entry/0/response/status").asText()).startsWith("200");
        assertThat(answer.at("/entry/1/response/status").asText()).startsWith("422");
        assertThat(answer.at("/entry/1/response/outcome/issue/0/diagnostics").asText())
                .contains("no patient identifier");
        assertThat(answer.at("/entry/1/response/outcome/issue/0/expression/0").asText())
                .isEqualTo("Bundle.entry[1]");
        assertThat(r.getBody()).doesNotContain("Badentry");
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(eventTypes("MERCY|" + mrn))
                .containsExactly("patient.registered"));
    }

    @Test
    void aSyntheaTransactionAppliesItsPatientAndPassesOverTheTypesTheHubDoesNotTake() throws Exception {
        java.nio.file.Path file;
        try (var files = java.nio.file.Files.list(SYNTHEA)) {
            file = files.filter(p -> p.toString().endsWith(".json")).sorted().findFirst().orElseThrow();
        }
        JsonNode bundle = JSON.readTree(file.toFile());
        JsonNode patient = null;
        for (JsonNode e : bundle.get("entry")) {
            if ("Patient".equals(e.at("/resource/resourceType").asText())) {
                patient = e.get("resource");
            }
        }
        String mr = null;
        for (JsonNode i : patient.get("identifier")) {
            if ("MR".equals(i.at("/type/coding/0/code").asText())) {
                mr = i.get("system").asText() + "|" + i.get("value").asText();
            }
        }
        ResponseEntity<String> r = post("/fhir", java.nio.file.Files.readString(file));
        assertThat(r.getStatusCode().value()).as(r.getBody()).isEqualTo(200);
        JsonNode answer = json(r);
        assertThat(answer.path("type").asText()).isEqualTo("transaction-response");
        assertThat(answer.get("entry")).hasSize(bundle.get("entry").size())
                .allSatisfy(e -> assertThat(e.at("/response/status").asText()).startsWith("200"));
        String key = mr;
        // its inpatient and emergency Encounters name the Patient by the entry's urn:uuid fullUrl: they find it
        long stays = 0;
        for (JsonNode e : bundle.get("entry")) {
            String cls = e.at("/resource/class/code").asText();
            if ("Encounter".equals(e.at("/resource/resourceType").asText()) && List.of("IMP", "EMER", "ACUTE",
                    "NONAC", "OBSENC", "SS").contains(cls)) {
                stays++;
            }
        }
        long expectedStays = stays;
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(eventTypes(key))
                .contains("patient.registered").hasSize(1 + (int) expectedStays)
                .allMatch(t -> List.of("patient.registered", "patient.admitted", "patient.discharged").contains(t)));
        Contact c = contact(key).orElseThrow();
        assertThat(c.name.family()).isEqualTo(patient.at("/name/0/family").asText());
        assertThat(c.birthDate).isEqualTo(patient.get("birthDate").asText());
    }

    @Test
    void aMessageBundleAppliesItsResourcesAndReadsItsHeader() throws Exception {
        String mrn = unique("FG");
        String message = "{\"resourceType\":\"Bundle\",\"type\":\"message\",\"entry\":[{\"resource\":"
                + "{\"resourceType\":\"MessageHeader\",\"eventCoding\":{\"code\":\"admin-notify\"},"
                + "\"source\":{\"endpoint\":\"urn:ehr\"}}},{\"resource\":"
                + patient(unique("pat-"), "1", "2026-03-05T10:00:00Z", mrn, "Msgbundle", "msg@example.org") + "}]}";
        ResponseEntity<String> r = post("/fhir", message);
        assertThat(r.getStatusCode().value()).as(r.getBody()).isEqualTo(200);
        assertThat(json(r).at("/entry/0/response/status").asText()).startsWith("200");
        assertThat(json(r).at("/entry/1/response/status").asText()).startsWith("200");
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(eventTypes("MERCY|" + mrn))
                .containsExactly("patient.registered"));
    }

    @Test
    void aTransactionWithOneBadEntryAppliesNothing() throws Exception {
        String mrn = unique("FT");
        String good = patient(unique("pat-"), "1", "2026-03-05T10:00:00Z", mrn, "Txgood", "tx@example.org");
        String tx = "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[{\"resource\":" + good
                + ",\"request\":{\"method\":\"PUT\",\"url\":\"Patient/x\"}},{\"resource\":"
                + noIdentifierPatient("Txbad") + ",\"request\":{\"method\":\"POST\",\"url\":\"Patient\"}}]}";
        ResponseEntity<String> r = post("/fhir", tx);
        assertThat(r.getStatusCode().value()).as(r.getBody()).isEqualTo(422);
        JsonNode oo = json(r);
        assertThat(oo.path("resourceType").asText()).isEqualTo("OperationOutcome");
        assertThat(oo.at("/issue/0/expression/0").asText()).isEqualTo("Bundle.entry[1]");
        Thread.sleep(1500);
        assertThat(contact("MERCY|" + mrn)).as("nothing half-applied").isEmpty();
    }

    @Test
    void badInputIsRefusedWithAnOperationOutcomeNamingTheProblemAndNoValue() throws Exception {
        ResponseEntity<String> malformed = post("/fhir/Patient", "{\"resourceType\":\"Patient\",\"name\":[{\"family\""
                + ":\"Leakyname\"");
        assertThat(malformed.getStatusCode().value()).isEqualTo(400);
        assertThat(json(malformed).at("/issue/0/diagnostics").asText()).contains("malformed FHIR JSON");
        assertThat(malformed.getBody()).doesNotContain("Leakyname");

        ResponseEntity<String> unknown = post("/fhir/Patient", "{\"resourceType\":\"Patientx\",\"id\":\"1\"}");
        assertThat(unknown.getStatusCode().value()).as(unknown.getBody()).isEqualTo(400);
        assertThat(json(unknown).at("/issue/0/diagnostics").asText()).contains("not a FHIR R4 resource type");

        ResponseEntity<String> noId = post("/fhir/Patient", noIdentifierPatient("Noidname"));
        assertThat(noId.getStatusCode().value()).isEqualTo(422);
        assertThat(json(noId).at("/issue/0/diagnostics").asText()).contains("no patient identifier")
                .contains("Patient.identifier");
        assertThat(noId.getBody()).doesNotContain("Noidname");

        ResponseEntity<String> notTaken = post("/fhir/Organization", "{\"resourceType\":\"Organization\"}");
        assertThat(notTaken.getStatusCode().value()).isEqualTo(422);

        ResponseEntity<String> mismatch = post("/fhir/Appointment", noIdentifierPatient("X"));
        assertThat(mismatch.getStatusCode().value()).isEqualTo(400);

        String big = "{\"resourceType\":\"Patient\",\"id\":\"1\",\"text\":{\"status\":\"generated\",\"div\":\"<div>"
                + "x".repeat(MAX_BYTES) + "</div>\"}}";
        ResponseEntity<String> oversized = post("/fhir/Patient", big);
        assertThat(oversized.getStatusCode().value()).isEqualTo(413);
        assertThat(json(oversized).path("resourceType").asText()).isEqualTo("OperationOutcome");

        String deep = "{\"resourceType\":\"Patient\",\"extension\":" + "[{\"extension\":".repeat(200) + "[]"
                + "}]".repeat(200) + "}";
        ResponseEntity<String> nested = post("/fhir/Patient", deep);
        assertThat(nested.getStatusCode().value()).isEqualTo(413);
        assertThat(json(nested).at("/issue/0/diagnostics").asText()).contains("nested deeper");
    }

    @Test
    void xmlIsTakenAndAnExternalEntityIsRefused() throws Exception {
        String mrn = unique("FX");
        String xml = "<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"" + unique("px") + "\"/>"
                + "<meta><versionId value=\"1\"/><lastUpdated value=\"2026-03-05T10:00:00Z\"/></meta>"
                + "<identifier><system value=\"http://hospital.example.org/mrn\"/><value value=\"" + mrn
                + "\"/></identifier><name><family value=\"Xmlname\"/></name></Patient>";
        ResponseEntity<String> r = post("/fhir/Patient", xml, "application/fhir+xml", TestHub.INTEGRATION);
        assertThat(r.getStatusCode().value()).as(r.getBody()).isEqualTo(200);
        assertThat(r.getHeaders().getContentType().toString()).startsWith("application/fhir+xml");
        assertThat(r.getBody()).contains("<OperationOutcome");
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(contact("MERCY|" + mrn))
                .hasValueSatisfying(c -> assertThat(c.name.family()).isEqualTo("Xmlname")));

        String xxe = "<?xml version=\"1.0\"?><!DOCTYPE p [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
                + "<Patient xmlns=\"http://hl7.org/fhir\"><name><family value=\"&x;\"/></name></Patient>";
        ResponseEntity<String> refused = post("/fhir/Patient", xxe, "application/fhir+xml", TestHub.INTEGRATION);
        assertThat(refused.getStatusCode().value()).isEqualTo(400);
        assertThat(refused.getBody()).contains("DTD").doesNotContain("root:");
    }

    @Test
    void onlyIntegrationMayPostAndMetadataSaysWhatIsAccepted() throws Exception {
        String body = patient(unique("pat-"), "1", "2026-03-05T10:00:00Z", unique("FR"), "Role", "r@example.org");
        assertThat(post("/fhir/Patient", body, "application/fhir+json", TestHub.COMPLIANCE).getStatusCode().value())
                .isEqualTo(403);
        assertThat(rest.postForEntity("/fhir/Patient", body, String.class).getStatusCode().value()).isEqualTo(401);

        ResponseEntity<String> meta = rest.withBasicAuth(TestHub.INTEGRATION, TestHub.USER_PASSWORD)
                .getForEntity("/fhir/metadata", String.class);
        assertThat(meta.getStatusCode().value()).isEqualTo(200);
        JsonNode cs = json(meta);
        assertThat(cs.path("resourceType").asText()).isEqualTo("CapabilityStatement");
        assertThat(cs.path("fhirVersion").asText()).isEqualTo("4.0.1");
        assertThat(cs.at("/rest/0/resource").findValuesAsText("type")).contains("Patient", "Appointment");
    }

    @Test
    void theContactTheWriterHandsToTheEventLogReadersIsTheContactAsStored() throws Exception {
        String mrn = unique("SEED");
        String id = unique("p");
        String body = """
                {"resourceType":"Patient","id":"%s","meta":{"versionId":"1","lastUpdated":"2026-03-01T10:00:00Z"},
                 "identifier":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},
                   "system":"http://hospital.example.org/mrn","value":"%s"}],
                 "name":[{"use":"official","family":"Seedling","given":["Fhir","Middle"]}],
                 "telecom":[{"system":"email","value":"seed@example.org"},{"system":"phone","value":"217-555-0123","use":"mobile"}],
                 "gender":"female","birthDate":"1980-01-01","deceasedDateTime":"2026-02-28T09:30:00Z",
                 "address":[{"use":"home","line":["1 Main St","Apt 2"],"city":"Springfield","state":"IL","postalCode":"62701"}],
                 "communication":[{"language":{"coding":[{"system":"urn:ietf:bcp:47","code":"es"}]},"preferred":true}]}
                """.formatted(id, mrn);
        assertThat(post("/fhir/Patient", body).getStatusCode().value()).isEqualTo(200);
        UUID registered = contact("MERCY|" + mrn).orElseThrow().id;
        // the readers get the writer's own object: every field, with the types a read of the row gives
        assertSameAsStored(registered);

        // an update: the writer's copy at the row's next version
        assertThat(post("/fhir/Patient", body.replace("\"versionId\":\"1\"", "\"versionId\":\"2\"")
                .replace("2026-03-01T10:00:00Z", "2026-03-02T10:00:00Z").replace("seed@example.org",
                        "seed2@example.org")).getStatusCode().value()).isEqualTo(200);
        assertThat(store.findById(registered).orElseThrow().email).isEqualTo("seed2@example.org");
        assertSameAsStored(registered);

        // and a contact registered over HL7 v2, consent segments and all
        assertSameAsStored(io.caravan.support.HubApi.register(hub(), rest, unique("SEEDH"), "Hlseven", "Seed",
                "seedh@example.org", "PD1|||||||||||02^Reminder/recall - no calls^HL70215|N\r"
                        + "CON|1|MKT^Marketing communications^L|||||||||R\r"));
    }

    void assertSameAsStored(UUID id) {
        Contact held = org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
                .until(() -> store.heldForSend(id), Optional::isPresent).orElseThrow();
        Contact stored = store.findById(id).orElseThrow();
        assertThat(held).usingRecursiveComparison().withStrictTypeChecking().isEqualTo(stored);
    }
}
