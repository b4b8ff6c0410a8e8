package io.caravan.system;

import static org.assertj.core.api.Assertions.assertThat;

import ca.uhn.hl7v2.DefaultHapiContext;
import ca.uhn.hl7v2.HapiContext;
import ca.uhn.hl7v2.app.Connection;
import ca.uhn.hl7v2.model.Message;
import ca.uhn.hl7v2.util.Terser;
import ca.uhn.hl7v2.validation.impl.ValidationContextFactory;
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
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
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
 * PHI canary: patients with unique fake names, emails, MRNs, phones, birth dates and streets go in through every path
 * of every route — accepted, rejected, failed, garbage, truncated, a store failure, refused and broken deliveries,
 * workflows, malformed API requests — with the whole hub at DEBUG, and the canaries must appear in no log line, no
 * metric, no error answer and nowhere in the data directory in clear. Only the API, to an authenticated caller, may
 * show them.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "logging.level.root=DEBUG", "logging.level.io.caravan=DEBUG", "logging.level.org.apache.camel=DEBUG",
        // the test's own HTTP clients (not the hub) log the URLs and bodies they send
        "logging.level.org.springframework.web.client=INFO", "logging.level.jdk.internal.httpclient=INFO"})
@ExtendWith(OutputCaptureExtension.class)
class PhiCanaryIT {

    static final HapiContext HAPI = new DefaultHapiContext();
    /** Every canary any test used: a late log line (a retry, a workflow tick) is caught by the next test's check. */
    static final List<String> ALL = new CopyOnWriteArrayList<>();
    static final RefusingRelay RELAY;
    static final Path ADAPTERS;

    static {
        HAPI.setValidationContext(ValidationContextFactory.noValidation());
        try {
            RELAY = new RefusingRelay();
            ADAPTERS = Files.createTempDirectory("caravan-canary-adapters");
            // the hub's only email route is this relay: it refuses or breaks every delivery (no STARTTLS, so PHI
            // goes as a portal notice, which still names the recipient on the wire)
            io.caravan.support.RelayAdapters.smtp(ADAPTERS, "canary-relay", RELAY.port(), """
                    onwardTls: guaranteed
                    connections: 2
                    """);
        } catch (IOException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        TestHub.canary().register(r);
        r.add("caravan.mapping.adapters-dir", ADAPTERS::toString);
        r.add("caravan.email.relay", () -> "canary-relay");
        r.add("caravan.email.retry.backoff", () -> "1s,1s");
    }

    @AfterAll
    static void stop() throws IOException {
        HAPI.getConnectionHub().discardAll();
        RELAY.close();
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
        ALL.addAll(canaries);
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
        }
        assertNoCanaryIn(output);
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

    /** One fictional patient whose every identifying value is unique to this run. */
    record Canary(String family, String given, String email, String mrn, String street, String dob, String phone) {
        static Canary next() {
            String tag = UUID.randomUUID().toString().replace("-", "").substring(0, 10);
            java.util.Random r = new java.util.Random();
            String dob = String.format("19%02d%02d%02d", 10 + r.nextInt(80), 1 + r.nextInt(12), 1 + r.nextInt(28));
            return new Canary("Quixotecanary" + tag, "Zephyrine" + tag, "zephyrine." + tag + "@canary.example",
                    "CNRY" + tag, "Quillfeather" + tag + " Lane", dob, String.format("55501%02d", r.nextInt(100)));
        }

        /** What must never be logged: each value as the message carries it and as the hub stores it. */
        List<String> values() {
            return List.of(family, given, email, mrn, street, "|" + dob + "|",
                    dob.substring(0, 4) + "-" + dob.substring(4, 6) + "-" + dob.substring(6), "217^" + phone,
                    "+1217" + phone);
        }

        String adt(String trigger, String controlId, String msh9, String version, String ackModes) {
            String t = "20260301090000-0500";
            return "MSH|^~\\&|REGADT|MERCY|CARAVAN|HUB|" + t + "||" + msh9 + "|" + controlId + "|P|" + version
                    + ackModes + "\r"
                    + "EVN|" + trigger + "|" + t + "\r"
                    + "PID|1||" + mrn + "^^^MERCY^MR||" + family + "^" + given + "||" + dob + "|F|||" + street
                    + "^^Springfield^IL^62704||^PRN^CP^^1^217^" + phone + "~^NET^Internet^" + email + "||eng\r"
                    + "PV1|1|O|CLINIC^^^MERCY\r";
        }

        String a04(String controlId, String ackModes) {
            return adt("A04", controlId, "ADT^A04^ADT_A01", "2.5.1", ackModes);
        }
    }

    static Canary canary() {
        Canary c = Canary.next();
        ALL.addAll(c.values());
        return c;
    }

    static void assertNoCanaryIn(CapturedOutput output) {
        String all = output.getAll();
        List<String> found = ALL.stream().filter(all::contains).toList();
        for (String c : found) {
            int i = all.indexOf(c);
            int from = all.lastIndexOf('\n', i) + 1;
            System.err.println("CANARY LEAK: " + c + " in line: "
                    + all.substring(from, Math.min(all.length(), i + c.length() + 80)));
        }
        // the count only: a failure's message is logged too, and would carry the canaries into the next test
        assertThat(found.size()).as("canaries in the log output (the CANARY LEAK lines show where)").isZero();
        assertThat(all).as("the hub did log at DEBUG").contains("DEBUG");
    }

    Message sendWithHapi(String raw) throws Exception {
        Connection c = HAPI.newClient("127.0.0.1", TestHub.canary().mllpPort, false);
        // shorter than any sender's timeout: an answer must come at once, never after the sender gives up
        c.getInitiator().setTimeout(5, java.util.concurrent.TimeUnit.SECONDS);
        return c.getInitiator().sendAndReceive(HAPI.getPipeParser().parse(raw));
    }

    static String msa1(Message ack) throws Exception {
        return new Terser(ack).get("/MSA-1");
    }

    String contacts(String mrn) {
        return rest.withBasicAuth("admin", TestHub.canary().adminPassword())
                .getForObject("/api/contacts?identifier={id}", String.class, "MERCY|" + mrn);
    }

    @Autowired
    org.apache.camel.CamelContext camel;

    @Test
    void everyRouteFailsThroughThePhiSafeErrorHandler() {
        // routes/error-handling.yaml: Camel's default error handler would log a failed exchange's body and history
        // (phi-safe-callee: the same without its own ERROR line, for a route whose callers report its failures)
        assertThat(camel.getRoutes()).isNotEmpty().allSatisfy(r -> assertThat(r.getConfigurationId())
                .as("route " + r.getRouteId()).isIn("phi-safe", "phi-safe-callee"));
        // camel-mllp puts the whole HL7 text into its exceptions' messages unless logPhi is off
        assertThat(camel.getComponent("mllp", org.apache.camel.component.mllp.MllpComponent.class).getLogPhi())
                .isFalse();
    }

    @Test
    void aRouteThatFailsIsLoggedByRouteAndExceptionClassOnly(CapturedOutput output) throws Exception {
        // any route of the hub's, failing the way a library fails: the body is a patient's message and the
        // exception's message quotes it (as camel-mllp's and Jakarta Mail's do)
        Canary p = canary();
        String body = p.a04(Hl7Messages.controlId(), "");
        camel.getRegistry().bind("canaryFailure", (org.apache.camel.Processor) e -> {
            throw new IllegalStateException("could not handle " + e.getIn().getBody(String.class),
                    new java.io.IOException("refused " + p.email()));
        });
        // loaded as the hub loads routes/*.yaml
        org.apache.camel.support.PluginHelper.getRoutesLoader(camel).loadRoutes(
                org.apache.camel.support.ResourceHelper.fromString("canary-failure.yaml", """
                        - route:
                            id: canary-failure
                            routeConfigurationId: phi-safe
                            from:
                              uri: direct:canary-failure
                              steps:
                                - setHeader: { name: CanaryHeader, simple: "${body}" }
                                - process: { ref: canaryFailure }
                        """));
        try (org.apache.camel.ProducerTemplate t = camel.createProducerTemplate()) {
            org.apache.camel.Exchange ex = t.send("direct:canary-failure", e -> e.getIn().setBody(body));
            assertThat(ex.getException()).as("the failure reaches the caller").isNotNull();
        } finally {
            camel.getRouteController().stopRoute("canary-failure");
            camel.removeRoute("canary-failure");
        }
        assertThat(output.getAll()).contains("Route canary-failure failed").contains(
                "java.lang.IllegalStateException <- java.io.IOException");
        assertNoCanaryIn(output);
    }

    @Test
    void everyMllpFailurePathAnswersAtOnceAndLogsNoPhi(CapturedOutput output) throws Exception {
        int port = TestHub.canary().mllpPort;
        int before = output.getAll().length();
        // MSH-15/16 = NE/NE, as public ELR samples send: the sender still gets a frame at once, the message is kept
        Canary ne = canary();
        assertThat(msa1(sendWithHapi(ne.a04(Hl7Messages.controlId(), "|||NE|NE")))).isEqualTo("CA");
        assertThat(contacts(ne.mrn())).contains(ne.family());
        Canary al = canary();
        assertThat(msa1(sendWithHapi(al.a04(Hl7Messages.controlId(), "|||AL|NE")))).isEqualTo("CA");
        Canary er = canary();
        assertThat(msa1(sendWithHapi(er.a04(Hl7Messages.controlId(), "|||ER|NE")))).isEqualTo("CA");
        // the listener and the route had nothing to complain about
        assertThat(output.getAll().substring(before).lines().filter(l -> l.contains(" ERROR ")
                && (l.contains("o.a.c.") || l.contains("org.apache.camel") || l.contains("ingest")))).isEmpty();
        Canary su = canary();
        try (MllpTestClient c = new MllpTestClient(port)) {
            // failures in enhanced mode, NE included: CE / CR, never silence
            assertThat(MllpTestClient.msa1(c.exchange(su.adt("A04", Hl7Messages.controlId(), "ADT^A04^ADT_A01",
                    "9.9", "|||NE|NE"), 5000))).isEqualTo("CR");
            assertThat(MllpTestClient.msa1(c.exchange(su.adt("A04", Hl7Messages.controlId(),
                    su.family() + "^" + su.given(), "2.5.1", "|||SU|NE"), 5000))).isEqualTo("CR");
            String unparseable = su.a04(Hl7Messages.controlId(), "|||AL|NE").replace("PID|1|",
                    "PID|1|^~\\&~~^^^|").replace("EVN|", "EVN|\u0000" + su.family() + "|");
            assertThat(MllpTestClient.msa1(c.exchange(unparseable, 5000))).isIn("CE", "CA");
        }
        Canary orig = canary();
        try (MllpTestClient c = new MllpTestClient(port)) {
            // original mode: garbage MSH-9, an unsupported version, no PID-3, an unparseable body, not HL7 at all
            assertThat(MllpTestClient.msa1(c.exchange(orig.adt("A04", Hl7Messages.controlId(),
                    orig.family() + "^" + orig.mrn(), "2.5.1", ""), 5000))).isEqualTo("AR");
            assertThat(MllpTestClient.msa1(c.exchange(orig.adt("A04", Hl7Messages.controlId(), "^^", "2.5.1", ""),
                    5000))).isEqualTo("AR");
            assertThat(MllpTestClient.msa1(c.exchange(orig.adt("A04", Hl7Messages.controlId(), "ADT^A04^ADT_A01",
                    "9.9", ""), 5000))).isEqualTo("AR");
            assertThat(MllpTestClient.msa1(c.exchange(orig.a04(Hl7Messages.controlId(), "")
                    .replace(orig.mrn() + "^^^MERCY^MR", ""), 5000))).isEqualTo("AE");
            String broken = orig.a04(Hl7Messages.controlId(), "").replace("PID|1|", "PID|1|^~\\&~~^^^|")
                    .replace("EVN|", "EVN|\u0000" + orig.family() + "|");
            assertThat(c.exchange(broken, 5000)).isNotNull();
            assertThat(MllpTestClient.msa1(c.exchange("HELLO " + orig.family() + " " + orig.email(), 5000)))
                    .isEqualTo("AR");
            // a trigger event longer than the store keeps (once ACKed and then failed at the store)
            String tooLong = orig.adt("A99", Hl7Messages.controlId(), "ADT^A99XXXXXXXXXXXXXXXXXXXXXXXXX^ADT_A01",
                    "2.5.1", "");
            assertThat(MllpTestClient.msa1(c.exchange(tooLong, 10_000))).isEqualTo("AR");
        }
        // the refused message does not hold up the feed: the next one is stored and found
        Canary after = canary();
        assertThat(msa1(sendWithHapi(after.a04(Hl7Messages.controlId(), "")))).isEqualTo("AA");
        assertThat(contacts(after.mrn())).contains(after.family());
        // a frame cut short, then a good one on the same connection
        try (MllpTestClient cut = new MllpTestClient(port)) {
            byte[] f = MllpTestClient.frame(orig.a04(Hl7Messages.controlId(), ""));
            cut.write(java.util.Arrays.copyOf(f, f.length - 10));
            cut.write(MllpTestClient.frame(orig.a04(Hl7Messages.controlId(), "")));
            assertThat(cut.readAck(5000)).isNotNull();
        }
        Thread.sleep(1000); // the journal's applier and the workflow tick log after the ACK
        assertNoCanaryIn(output);
    }

    @Test
    void malformedApiRequestsAnswerProblemsWithoutQuotingAndLogNoPhi(CapturedOutput output) throws Exception {
        Canary p = canary();
        TestRestTemplate admin = rest.withBasicAuth("admin", TestHub.canary().adminPassword());
        try (MllpTestClient c = new MllpTestClient(TestHub.canary().mllpPort)) {
            assertThat(MllpTestClient.msa1(c.exchange(p.a04(Hl7Messages.controlId(), ""), 5000))).isEqualTo("AA");
        }
        String id = contacts(p.mrn()).replaceAll("(?s).*?\"id\":\"([0-9a-f-]{36})\".*", "$1");
        org.springframework.http.HttpHeaders json = new org.springframework.http.HttpHeaders();
        json.setContentType(org.springframework.http.MediaType.APPLICATION_JSON);
        List<String[]> bad = List.of(
                // not JSON: Jackson's message quotes the token
                new String[] {"/api/contacts/{id}/authorizations", "{\"purpose\": " + p.family() + "}"},
                // unterminated
                new String[] {"/api/contacts/{id}/authorizations", "{\"description\": \"for " + p.given()},
                // a value of the wrong type: Jackson quotes the value
                new String[] {"/api/contacts/{id}/authorizations", "{\"purpose\":\"marketing\",\"signedAt\":\""
                        + p.email() + "\",\"description\":\"" + p.family() + "\"}"},
                new String[] {"/api/contacts/{id}/authorizations", "{\"purpose\":[\"" + p.mrn() + "\"]}"},
                new String[] {"/api/contacts/{id}/opt-outs", "{\"channel\":\"" + p.email() + "\",\"purpose\":\""
                        + p.family() + "\"}"},
                new String[] {"/api/messages", "{\"contactId\":\"" + p.mrn() + "\",\"template\":\"x\"}"},
                new String[] {"/api/messages", "{\"contactId\":\"" + id + "\",\"template\":\"appointment-reminder"
                        + "\",\"channel\":\"email\",\"purpose\":\"treatment\",\"data\":" + p.given() + "}"});
        for (String[] b : bad) {
            org.springframework.http.ResponseEntity<String> r = admin.postForEntity(b[0],
                    new org.springframework.http.HttpEntity<>(b[1], json), String.class, id);
            assertThat(r.getStatusCode().is4xxClientError()).as(b[1] + " -> " + r).isTrue();
            for (String c : p.values()) {
                assertThat(String.valueOf(r.getBody())).as("answer to " + b[1]).doesNotContain(c);
            }
        }
        for (String path : List.of("/api/contacts/{id}/smime-certificate", "/api/contacts/{id}/pgp-key")) {
            org.springframework.http.ResponseEntity<String> r = admin.exchange(path,
                    org.springframework.http.HttpMethod.PUT, new org.springframework.http.HttpEntity<>(
                            "-----BEGIN CERTIFICATE-----\n" + p.family() + p.email() + "\n-----END CERTIFICATE-----\n"),
                    String.class, id);
            assertThat(r.getStatusCode().is4xxClientError()).as(path + " -> " + r).isTrue();
            for (String c : p.values()) {
                assertThat(String.valueOf(r.getBody())).as("answer to " + path).doesNotContain(c);
            }
        }
        assertNoCanaryIn(output);
    }

    @Test
    void refusedAndBrokenDeliveriesAndWorkflowsLogNoPhi(CapturedOutput output) throws Exception {
        Canary p = canary();
        String provider = "Dr Oswaldcanary" + p.mrn();
        ALL.add(provider);
        try (MllpTestClient c = new MllpTestClient(TestHub.canary().mllpPort)) {
            assertThat(MllpTestClient.msa1(c.exchange(p.a04(Hl7Messages.controlId(), ""), 5000))).isEqualTo("AA");
            // a diagnosis that starts a workflow, a discharge with a disposition that is no code, an appointment
            // whose start is no date: the workflow engine's conditions meet values they cannot read
            assertThat(MllpTestClient.msa1(c.exchange(p.adt("A08", Hl7Messages.controlId(), "ADT^A08^ADT_A01",
                    "2.5.1", "") + "DG1|1||E11.9^Type 2 diabetes^I10\r", 5000))).isEqualTo("AA");
            assertThat(MllpTestClient.msa1(c.exchange(p.adt("A03", Hl7Messages.controlId(), "ADT^A03^ADT_A03",
                    "2.5.1", "").replace("PV1|1|O|CLINIC^^^MERCY", "PV1|1|I|WARD^^^MERCY|||||||||||||||||||||||||||||"
                    + "||||||" + p.given()), 5000))).isIn("AA", "AE");
            assertThat(MllpTestClient.msa1(c.exchange(Hl7Messages.s12(Hl7Messages.controlId(), p.mrn(),
                    "2027" + p.family()), 5000))).isIn("AA", "AE");
        }
        String id = contacts(p.mrn()).replaceAll("(?s).*?\"id\":\"([0-9a-f-]{36})\".*", "$1");
        TestRestTemplate integration = rest.withBasicAuth(TestHub.INTEGRATION, TestHub.USER_PASSWORD);
        java.util.Map<String, Object> visit = java.util.Map.of("appointmentDate", "2026-12-03", "appointmentTime",
                "09:30", "provider", provider, "clinicPhone", "+1 217 555 0100");
        for (RefusingRelay.Mode mode : RefusingRelay.Mode.values()) {
            RELAY.mode = mode;
            org.springframework.http.ResponseEntity<String> r = io.caravan.support.HubApi.post(integration,
                    "/api/messages", java.util.Map.of("contactId", id, "template", "appointment-reminder", "channel",
                            "email", "purpose", "treatment", "data", visit));
            assertThat(r.getStatusCode().value()).as(r.toString()).isEqualTo(202);
            String mid = io.caravan.support.HubApi.JSON.readTree(r.getBody()).get("id").asText();
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20)).until(() -> {
                String m = integration.getForObject("/api/messages/{id}", String.class, mid);
                return !m.contains("\"planned\"");
            });
        }
        assertThat(RELAY.sessions.get()).as("the hub reached the relay").isGreaterThan(0);
        Thread.sleep(3000); // retries after 1 s, and the workflow tick
        assertNoCanaryIn(output);
    }

    /**
     * An SMTP relay that fails every delivery, the way real relays answer: refusals quote the recipient's address.
     * No STARTTLS is offered.
     */
    static final class RefusingRelay implements AutoCloseable {
        enum Mode { REFUSE_RECIPIENT, RELAY_DENIED, BUSY, DROP }

        volatile Mode mode = Mode.REFUSE_RECIPIENT;
        final java.util.concurrent.atomic.AtomicInteger sessions = new java.util.concurrent.atomic.AtomicInteger();
        private final java.net.ServerSocket server;

        RefusingRelay() throws IOException {
            server = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
            Thread t = new Thread(this::serve, "refusing-relay");
            t.setDaemon(true);
            t.start();
        }

        int port() {
            return server.getLocalPort();
        }

        private void serve() {
            while (!server.isClosed()) {
                try {
                    java.net.Socket s = server.accept();
                    Thread t = new Thread(() -> session(s), "refusing-relay-session");
                    t.setDaemon(true);
                    t.start();
                } catch (IOException e) {
                    return;
                }
            }
        }

        private void session(java.net.Socket s) {
            sessions.incrementAndGet();
            try (s; java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(
                    s.getInputStream(), StandardCharsets.US_ASCII))) {
                java.io.OutputStream out = s.getOutputStream();
                java.util.function.Consumer<String> say = line -> {
                    try {
                        out.write((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
                        out.flush();
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                };
                say.accept("220 relay.canary.example ESMTP");
                String line;
                while ((line = in.readLine()) != null) {
                    String cmd = line.length() >= 4 ? line.substring(0, 4).toUpperCase(java.util.Locale.ROOT) : line;
                    switch (cmd) {
                        case "EHLO", "HELO" -> say.accept("250 relay.canary.example");
                        case "MAIL" -> say.accept("250 2.1.0 Ok");
                        case "RCPT" -> {
                            String to = line.substring(line.indexOf(':') + 1).trim();
                            switch (mode) {
                                case REFUSE_RECIPIENT -> say.accept("550 5.1.1 " + to
                                        + ": Recipient address rejected: User unknown");
                                case RELAY_DENIED -> say.accept("554 5.7.1 " + to + ": Relay access denied");
                                case BUSY -> say.accept("451 4.3.0 " + to + ": Temporary lookup failure");
                                case DROP -> {
                                    return;
                                }
                            }
                        }
                        case "RSET", "NOOP" -> say.accept("250 2.0.0 Ok");
                        case "QUIT" -> {
                            say.accept("221 2.0.0 Bye");
                            return;
                        }
                        default -> say.accept("502 5.5.2 Error: command not recognized");
                    }
                }
            } catch (IOException | RuntimeException e) {
                // the hub hung up
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }
}
