package io.caravan.ingest;

import static io.caravan.support.MllpTestClient.field;
import static io.caravan.support.MllpTestClient.msa1;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.mapping.Hl7Parsing;
import io.caravan.support.Hl7Messages;
import io.caravan.support.MllpTestClient;
import io.caravan.support.TestHub;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.http.ResponseEntity;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Data-quality tolerance against the running hub (README "Data quality"): a NAK stops many EHRs' whole outbound queue
 * until a person steps in, so only what the hub cannot do without is answered AE/AR. Public samples from another
 * project are the measure: every one HAPI parses, of a supported type and naming a patient, must be accepted.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class DataQualityIT {

    static final Path SAMPLES = Path.of("src/test/resources/hl7-samples");
    static final Set<String> SUPPORTED = Set.of("ADT", "SIU", "ORU");
    static final ObjectMapper JSON = new ObjectMapper();

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        TestHub.named("data-quality").register(r);
    }

    @Autowired
    TestRestTemplate rest;
    @Autowired
    JdbcTemplate jdbc;
    @Autowired
    MeterRegistry registry;

    TestHub hub() {
        return TestHub.named("data-quality");
    }

    @Test
    void everyPublicSampleHapiParsesThatNamesAPatientIsAccepted() throws Exception {
        List<Path> files;
        try (Stream<Path> s = Files.walk(SAMPLES)) {
            files = s.filter(p -> p.toString().endsWith(".hl7")).sorted().toList();
        }
        List<String> refusedButExpected = new ArrayList<>();
        List<String> exceptions = new ArrayList<>();
        int parsed = 0;
        int accepted = 0;
        int expected = 0;
        try (MllpTestClient c = new MllpTestClient(hub().mllpPort)) {
            for (Path f : files) {
                String raw = Files.readString(f, StandardCharsets.UTF_8);
                String name = SAMPLES.relativize(f).toString();
                String why = null;
                try {
                    Hl7Parsing.parse(raw);
                    parsed++;
                } catch (Exception e) {
                    why = "HAPI does not parse it (" + e.getClass().getSimpleName() + ")";
                }
                String type = mshField(raw, 9).split("\\^", -1)[0];
                if (why == null && !SUPPORTED.contains(type)) {
                    why = "type " + type + " is not taken";
                }
                if (why == null && !hasPatientId(raw)) {
                    why = "no patient id in PID-3, PID-2 or PID-4";
                }
                String ack = c.exchange(raw, 10_000);
                String code = msa1(ack);
                boolean ok = "AA".equals(code) || "CA".equals(code); // CA: a commit ACK, asked for by MSH-15
                if (ok) {
                    accepted++;
                }
                if (why == null) {
                    expected++;
                    if (!ok) {
                        refusedButExpected.add(name + ": " + code + " " + field(ack, "ERR", 2) + " "
                                + field(ack, "ERR", 3));
                    }
                } else {
                    exceptions.add(name + ": " + code + " (" + why + ")");
                }
            }
        }
        System.out.printf("DataQualityIT: %d public ADT/SIU/ORU samples, HAPI parses %d, the hub accepts %d (%d %%);"
                + " expected to accept %d%n", files.size(), parsed, accepted, 100 * accepted / files.size(), expected);
        exceptions.forEach(e -> System.out.println("DataQualityIT: exception " + e));
        refusedButExpected.forEach(e -> System.out.println("DataQualityIT: refused " + e));
        assertThat(expected).as("samples HAPI parses that name a patient").isPositive();
        assertThat(refusedButExpected).as("samples HAPI parses, naming a patient, that the hub refused").isEmpty();
    }

    @Test
    void malformedOptionalFieldsAreSkippedWithWarningsAndTheMessageIsAccepted() throws Exception {
        String mrn = "DQ-" + Hl7Messages.controlId();
        double birthBefore = warnings("PID-7");
        double deathBefore = warnings("PID-29");
        String msg = pidMessage(Hl7Messages.controlId(), "|" + mrn + "^^^MERCY^MR|", "1980013X",
                "^PRN^CP^^1^217^55", "N");
        try (MllpTestClient c = new MllpTestClient(hub().mllpPort)) {
            assertThat(msa1(c.exchange(msg, 10_000))).isEqualTo("AA");
        }
        JsonNode contact = contactBy("MERCY|" + mrn);
        assertThat(contact.at("/name/family").asText()).isEqualTo("Quality");
        assertThat(contact.has("birthDate") && !contact.get("birthDate").isNull()).isFalse();
        assertThat(contact.path("phone").isMissingNode() || contact.path("phone").isNull()).isTrue();
        assertThat(contact.at("/attributes/deathDateTime").isMissingNode()).isTrue();
        String warnings = inboundWarnings(contact);
        assertThat(warnings).contains("PID-7: 102").contains("PID-29: 102").contains("PID-13: 102")
                .doesNotContain("1980013X").doesNotContain("5255");
        assertThat(warnings("PID-7")).isEqualTo(birthBefore + 1);
        assertThat(warnings("PID-29")).isEqualTo(deathBefore + 1);
    }

    @Test
    void aPatientIdInPid2OrPid4IsTakenWhenPid3IsEmptyWithAWarning() throws Exception {
        String ext = "EXT-" + Hl7Messages.controlId();
        String alt = "ALT-" + Hl7Messages.controlId();
        try (MllpTestClient c = new MllpTestClient(hub().mllpPort)) {
            assertThat(msa1(c.exchange(pidMessage(Hl7Messages.controlId(), ext + "^^^MERCY||", "19800101", "", ""),
                    10_000))).isEqualTo("AA");
            assertThat(msa1(c.exchange(pidMessage(Hl7Messages.controlId(), "||" + alt + "^^^MERCY^PI", "19800101",
                    "", ""), 10_000))).isEqualTo("AA");
        }
        JsonNode byPid2 = contactBy("MERCY|" + ext);
        assertThat(byPid2.at("/birthDate").asText()).isEqualTo("1980-01-01");
        assertThat(inboundWarnings(byPid2)).contains("PID-2").doesNotContain(ext);
        JsonNode byPid4 = contactBy("MERCY|" + alt);
        assertThat(inboundWarnings(byPid4)).contains("PID-4").doesNotContain(alt);
    }

    @Test
    void aMessageWithoutAnyPatientIdStillGetsAeNamingPid3() throws Exception {
        try (MllpTestClient c = new MllpTestClient(hub().mllpPort)) {
            String ack = c.exchange(pidMessage(Hl7Messages.controlId(), "||", "19800101", "", ""), 10_000);
            assertThat(msa1(ack)).isEqualTo("AE");
            assertThat(field(ack, "ERR", 2)).isEqualTo("PID^1^3");
            assertThat(field(ack, "ERR", 3)).startsWith("101^");
        }
    }

    @Test
    void aMessageWithoutAnyEventTimeIsOrderedByItsReceiveTimeWithAWarning() throws Exception {
        String mrn = "DQT-" + Hl7Messages.controlId();
        String msg = pidMessage(Hl7Messages.controlId(), "|" + mrn + "^^^MERCY^MR|", "19800101", "", "")
                .replace("|20260301090000-0500||ADT^A04", "|||ADT^A04").replace("EVN|A04|20260301090000-0500",
                        "EVN|A04|");
        OffsetDateTime before = OffsetDateTime.now().minusSeconds(1);
        try (MllpTestClient c = new MllpTestClient(hub().mllpPort)) {
            assertThat(msa1(c.exchange(msg, 10_000))).isEqualTo("AA");
        }
        JsonNode contact = contactBy("MERCY|" + mrn);
        JsonNode events = get("/api/contacts/" + contact.get("id").asText() + "/events");
        OffsetDateTime occurred = OffsetDateTime.parse(events.get(0).get("occurredAt").asText());
        assertThat(Duration.between(before, occurred)).isBetween(Duration.ZERO, Duration.ofSeconds(30));
        assertThat(inboundWarnings(contact)).contains("MSH-7: 101");
    }

    @Test
    void anHl7V21MessageIsAccepted() throws Exception {
        String mrn = "DQ21-" + Hl7Messages.controlId();
        String msg = "MSH|^~\\&|REGADT|MERCY|CARAVAN|HUB|198801011200||ADT^A04|" + Hl7Messages.controlId()
                + "|P|2.1\r"
                + "EVN|A04|198801011200\r"
                + "PID|||" + mrn + "^^^MERCY||Oldfeed^Olive||19500101|F\r"
                + "PV1||O\r";
        try (MllpTestClient c = new MllpTestClient(hub().mllpPort)) {
            assertThat(msa1(c.exchange(msg, 10_000))).isEqualTo("AA");
        }
        assertThat(contactBy("MERCY|" + mrn).at("/name/family").asText()).isEqualTo("Oldfeed");
    }

    /** An A04 with PID-2|PID-3|PID-4 given as {@code ids}, a birth date, a home XTN and a death date. */
    static String pidMessage(String ctl, String ids, String dob, String phone, String death) {
        return "MSH|^~\\&|REGADT|MERCY|CARAVAN|HUB|20260301090000-0500||ADT^A04^ADT_A01|" + ctl + "|P|2.5.1\r"
                + "EVN|A04|20260301090000-0500\r"
                + "PID|1|" + ids + "|Quality^Dana||" + dob + "|F|||1 Main St^^Springfield^IL^62704||" + phone
                + "||||||||||||||||" + death + "\r"
                + "PV1|1|O|CLINIC^^^MERCY\r";
    }

    double warnings(String location) {
        Counter c = registry.find("caravan.hl7.field.warnings").tag("feed", "default").tag("location", location)
                .counter();
        return c == null ? 0 : c.count();
    }

    String inboundWarnings(JsonNode contact) {
        return String.join("; ", jdbc.queryForList("SELECT warnings FROM inbound_message WHERE contact_id = ?"
                + " AND warnings IS NOT NULL", String.class, UUID.fromString(contact.get("id").asText())));
    }

    JsonNode contactBy(String identifier) throws Exception {
        JsonNode all = get("/api/contacts?identifier={id}", identifier);
        assertThat(all).as(identifier).hasSize(1);
        return all.get(0);
    }

    JsonNode get(String path, Object... vars) throws Exception {
        ResponseEntity<String> r = rest.withBasicAuth("admin", hub().adminPassword())
                .getForEntity(path, String.class, vars);
        assertThat(r.getStatusCode().is2xxSuccessful()).as(path + " -> " + r.getStatusCode()).isTrue();
        return JSON.readTree(r.getBody());
    }

    static String mshField(String raw, int n) {
        String[] f = raw.split("\r", 2)[0].split("\\|", -1);
        return n - 1 < f.length ? f[n - 1] : "";
    }

    /** Whether PID-3, PID-2 or PID-4 carries an id (CX-1 valued), read from the text, not by the hub's code. */
    static boolean hasPatientId(String raw) {
        for (String seg : raw.split("[\r\n]+")) {
            if (seg.startsWith("PID|")) {
                String[] f = seg.split("\\|", -1);
                for (int i = 2; i <= 4 && i < f.length; i++) {
                    for (String rep : f[i].split("~")) {
                        String id = rep.split("\\^", -1)[0].trim();
                        if (!id.isEmpty() && !id.equals("\"\"")) {
                            return true;
                        }
                    }
                }
            }
        }
        return false;
    }
}
