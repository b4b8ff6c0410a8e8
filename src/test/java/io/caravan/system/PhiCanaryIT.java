package io.caravan.system;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.support.Bytes;
import io.caravan.support.Hl7Messages;
import io.caravan.support.MllpTestClient;
import io.caravan.support.TestHub;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * PHI canary: patients with unique fake names, emails and MRNs go in through every path — accepted, rejected, failed,
 * garbage, truncated — and the canaries must appear in no log line (the hub's own code at DEBUG), no metric, and
 * nowhere in the data directory in clear. Only the API, to an authenticated caller, may show them.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "logging.level.io.caravan=DEBUG", "logging.level.org.apache.camel=DEBUG"})
@ExtendWith(OutputCaptureExtension.class)
class PhiCanaryIT {

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        TestHub.canary().register(r);
    }

    @Autowired
    TestRestTemplate rest;
    @Autowired
    io.caravan.audit.Disclosures disclosures;

    @Test
    void canariesAppearInNoLogNoMetricAndNoFileInClear(CapturedOutput output) throws Exception {
        String tag = UUID.randomUUID().toString().replace("-", "").substring(0, 10);
        String family = "Quixotecanary" + tag;
        String given = "Zephyrine" + tag;
        String email = "zephyrine." + tag + "@canary.example";
        String mrn = "CNRY" + tag;
        List<String> canaries = List.of(family, given, email, mrn);
        int port = TestHub.canary().mllpPort;

        try (MllpTestClient c = new MllpTestClient(port)) {
            String ok = Hl7Messages.a04(Hl7Messages.controlId(), mrn, family, given, email);
            assertThat(MllpTestClient.msa1(c.exchange(ok, 5000))).isEqualTo("AA");
            // resend, update, and a pipelined pair
            assertThat(MllpTestClient.msa1(c.exchange(ok, 5000))).isEqualTo("AA");
            c.sendPipelined(Hl7Messages.adt("A08", Hl7Messages.controlId(), mrn, family, given, email,
                            java.time.OffsetDateTime.now()),
                    Hl7Messages.s12(Hl7Messages.controlId(), mrn, "20270101100000-0500").replace("Doe^Jane",
                            family + "^" + given));
            assertThat(c.readAck(5000)).isNotNull();
            assertThat(c.readAck(5000)).isNotNull();
            // AE: no PID-3, but the name is there
            assertThat(MllpTestClient.msa1(c.exchange(ok.replace(mrn + "^^^MERCY^MR", "")
                    .replace("|P|2.5.1", "|P|2.5.1").replace(ok.split("\\|")[9], Hl7Messages.controlId()), 5000)))
                    .isEqualTo("AE");
            // AR: unsupported type
            assertThat(MllpTestClient.msa1(c.exchange(ok.replace("ADT^A04^ADT_A01", "MDM^T02^MDM_T02"), 5000)))
                    .isEqualTo("AR");
            // not HL7 at all, and an unparseable body behind a valid MSH
            assertThat(MllpTestClient.msa1(c.exchange("HELLO " + family + " " + email, 5000))).isEqualTo("AR");
            String broken = ok.replace("EVN|", "EVN|\u0000" + family + "|").replace("PID|1|", "PID|1|^~\\&~~^^^|");
            assertThat(c.exchange(broken.replace(ok.split("\\|")[9], Hl7Messages.controlId()), 5000)).isNotNull();
        }
        try (MllpTestClient cut = new MllpTestClient(port)) {
            byte[] f = MllpTestClient.frame(Hl7Messages.a04("CUT", mrn, family, given, email));
            cut.write(java.util.Arrays.copyOf(f, f.length - 10));
            cut.write(MllpTestClient.frame(Hl7Messages.a04(Hl7Messages.controlId(), mrn, family, given, email)));
            assertThat(cut.readAck(5000)).isNotNull();
        }

        // the API shows the patient to an authenticated caller: the canary is real data, not a typo
        String pw = TestHub.canary().adminPassword();
        String found = rest.withBasicAuth("admin", pw)
                .getForObject("/api/contacts?identifier={id}", String.class, "MERCY|" + mrn);
        assertThat(found).contains(family).contains(email);

        // the HIPAA gate's paths: a signed authorization, a decision, a disclosure, an opt-out and the audit trail
        // all carry or touch the canaries
        String id = found.replaceAll("(?s).*?\"id\":\"([0-9a-f-]{36})\".*", "$1");
        TestRestTemplate admin = rest.withBasicAuth("admin", pw);
        org.springframework.http.HttpHeaders json = new org.springframework.http.HttpHeaders();
        json.setContentType(org.springframework.http.MediaType.APPLICATION_JSON);
        String auth = "{\"purpose\":\"marketing\",\"description\":\"Newsletter for " + family + " " + given
                + "\",\"recipients\":[\"" + email + "\"],\"signedAt\":\"2026-01-01T00:00:00Z\","
                + "\"expiresAt\":\"2030-01-01T00:00:00Z\",\"evidence\":\"form " + mrn + "\"}";
        assertThat(admin.postForEntity("/api/contacts/{id}/authorizations",
                new org.springframework.http.HttpEntity<>(auth, json), String.class, id).getStatusCode().value())
                .isEqualTo(201);
        assertThat(admin.getForObject("/api/contacts/{id}/decision?purpose=marketing&channel=email", String.class,
                id)).contains("\"allowed\":true");
        disclosures.record(new io.caravan.audit.Disclosures.Disclosure(UUID.fromString(id), "marketing", "email",
                email, "Newsletter for " + family, "tls", "m-" + mrn, true), "canary-channel");
        assertThat(admin.getForObject("/api/contacts/{id}/disclosures", String.class, id)).contains(email);
        assertThat(admin.getForObject("/api/audit?contact={id}", String.class, id)).contains(family);
        assertThat(admin.postForEntity("/api/contacts/{id}/opt-outs", new org.springframework.http.HttpEntity<>(
                "{\"channel\":\"any\",\"purpose\":\"marketing\",\"evidence\":\"letter from " + given + "\"}",
                json), String.class, id).getStatusCode().value()).isEqualTo(201);
        assertThat(admin.getForObject("/api/audit/verify", String.class)).contains("\"valid\":true");

        String metrics = rest.withBasicAuth("admin", pw).getForObject("/actuator/prometheus", String.class);
        for (String canary : canaries) {
            assertThat(metrics).as("metrics").doesNotContain(canary);
            assertThat(output.getAll()).as("log output").doesNotContain(canary);
        }
        assertThat(output.getAll()).as("the hub did log at DEBUG").contains("DEBUG");

        List<Path> files;
        try (Stream<Path> s = Files.walk(TestHub.canary().dataDir)) {
            files = s.filter(Files::isRegularFile).toList();
        }
        assertThat(files).anySatisfy(p -> assertThat(p.toString()).endsWith(".mv.db"));
        List<String> leaks = new ArrayList<>();
        for (Path p : files) {
            byte[] bytes = Files.readAllBytes(p);
            for (String canary : canaries) {
                for (java.nio.charset.Charset cs : List.of(StandardCharsets.UTF_8, StandardCharsets.UTF_16BE,
                        StandardCharsets.UTF_16LE)) {
                    if (Bytes.contains(bytes, canary.getBytes(cs))) {
                        leaks.add(p + " holds " + canary + " as " + cs);
                    }
                }
            }
        }
        assertThat(leaks).isEmpty();
    }
}
