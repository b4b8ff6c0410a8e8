package io.caravan.system;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.support.Hl7Messages;
import io.caravan.support.MllpTestClient;
import io.caravan.support.TestHub;
import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.HttpEntity;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** What an operator and an attacker see over HTTP: open health, authenticated everything else, no leaky endpoints. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class OperationsIT {

    static final ObjectMapper JSON = new ObjectMapper();

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        TestHub.named("operations").register(r);
    }

    @Autowired
    TestRestTemplate rest;
    @LocalServerPort
    int port;

    TestRestTemplate admin() {
        return rest.withBasicAuth("admin", TestHub.named("operations").adminPassword());
    }

    @Test
    void healthIsOpenAndSaysOnlyUp() {
        ResponseEntity<String> r = rest.getForEntity("/actuator/health", String.class);
        assertThat(r.getStatusCode()).as(String.valueOf(admin().getForEntity("/actuator/health", String.class)))
                .isEqualTo(HttpStatus.OK);
        assertThat(r.getBody()).as(r.toString()).isEqualTo("{\"status\":\"UP\"}");
    }

    @Test
    void everythingElseNeedsCredentials() {
        for (String path : new String[] {"/api/contacts?identifier=A%7CB", "/api/contacts/" + UUID.randomUUID(),
                "/actuator/prometheus", "/hawtio/", "/actuator/jolokia/version", "/actuator"}) {
            assertThat(rest.getForEntity(path, String.class).getStatusCode()).as(path)
                    .isEqualTo(HttpStatus.UNAUTHORIZED);
            assertThat(rest.withBasicAuth("admin", "wrong").getForEntity(path, String.class).getStatusCode())
                    .as(path).isEqualTo(HttpStatus.UNAUTHORIZED);
        }
    }

    @Test
    void apiErrorsAreProblemJson() throws Exception {
        ResponseEntity<String> missing = admin().getForEntity("/api/contacts/" + UUID.randomUUID(), String.class);
        assertThat(missing.getStatusCode()).isEqualTo(HttpStatus.NOT_FOUND);
        assertThat(missing.getHeaders().getContentType()).isEqualTo(MediaType.APPLICATION_PROBLEM_JSON);
        assertThat(JSON.readTree(missing.getBody()).get("status").asInt()).isEqualTo(404);

        ResponseEntity<String> badId = admin().getForEntity("/api/contacts/not-a-uuid", String.class);
        assertThat(badId.getStatusCode()).isEqualTo(HttpStatus.BAD_REQUEST);
        assertThat(badId.getHeaders().getContentType()).isEqualTo(MediaType.APPLICATION_PROBLEM_JSON);

        ResponseEntity<String> noBar = admin().getForEntity("/api/contacts?identifier=justavalue", String.class);
        assertThat(noBar.getStatusCode()).isEqualTo(HttpStatus.BAD_REQUEST);
        assertThat(JSON.readTree(noBar.getBody()).get("detail").asText()).contains("SYSTEM|VALUE");

        ResponseEntity<String> noParam = admin().getForEntity("/api/contacts", String.class);
        assertThat(noParam.getStatusCode()).isEqualTo(HttpStatus.BAD_REQUEST);
        assertThat(noParam.getHeaders().getContentType()).isEqualTo(MediaType.APPLICATION_PROBLEM_JSON);

        ResponseEntity<String> unknown = admin().getForEntity("/api/nothing-here", String.class);
        assertThat(unknown.getStatusCode()).isEqualTo(HttpStatus.NOT_FOUND);
        assertThat(unknown.getHeaders().getContentType()).isEqualTo(MediaType.APPLICATION_PROBLEM_JSON);
    }

    @Test
    void noHeapDumpEnvironmentThreadOrLoggerEndpointsOnTheWeb() {
        for (String path : new String[] {"/actuator/env", "/actuator/heapdump", "/actuator/threaddump",
                "/actuator/loggers", "/actuator/configprops", "/actuator/beans", "/actuator/shutdown"}) {
            assertThat(admin().getForEntity(path, String.class).getStatusCode()).as(path)
                    .isEqualTo(HttpStatus.NOT_FOUND);
        }
    }

    @Test
    void prometheusShowsPerFeedAndPerRouteMetricsWithBoundedLabels() throws Exception {
        try (MllpTestClient c = new MllpTestClient(TestHub.named("operations").mllpPort)) {
            String ctl = Hl7Messages.controlId();
            assertThat(MllpTestClient.msa1(c.exchange(Hl7Messages.a04(ctl, "MRN-M" + ctl, "Metric", "Person",
                    "m@example.org"), 5000))).isEqualTo("AA");
        }
        String body = admin().getForEntity("/actuator/prometheus", String.class).getBody();
        assertThat(body).contains("caravan_hl7_received_total{feed=\"default\"")
                .contains("caravan_hl7_messages_total{feed=\"default\",outcome=\"accepted\"")
                .contains("caravan_hl7_ack_latency_seconds_bucket{feed=\"default\"")
                .contains("routeId=\"hl7-mllp-ingest\"");
        assertThat(body).doesNotContain("MRN-M").doesNotContain("Metric");
    }

    @Test
    void hawtioIsServedToAuthenticatedOperators() {
        ResponseEntity<String> r = admin().getForEntity("/actuator/hawtio/", String.class);
        assertThat(admin().getForEntity("/hawtio", String.class).getStatusCode().is2xxSuccessful()).isTrue();
        assertThat(r.getStatusCode()).isEqualTo(HttpStatus.OK);
        assertThat(r.getBody()).containsIgnoringCase("hawtio");
    }

    @Test
    void jolokiaReadsMBeansAndShowsTheRoutesButRefusesWritesAndDangerousOperations() throws Exception {
        JsonNode heap = jolokia("{\"type\":\"read\",\"mbean\":\"java.lang:type=Memory\",\"attribute\":\"HeapMemoryUsage\"}");
        assertThat(heap.get("status").asInt()).isEqualTo(200);

        JsonNode routes = jolokia("{\"type\":\"search\",\"mbean\":\"org.apache.camel:type=routes,*\"}");
        assertThat(routes.get("status").asInt()).isEqualTo(200);
        assertThat(routes.get("value").toString()).contains("hl7-mllp-ingest");

        // what Hawtio itself needs to build its tree
        JsonNode rbac = jolokia("{\"type\":\"exec\",\"mbean\":\"hawtio:type=security,name=RBACRegistry\","
                + "\"operation\":\"list()\"}");
        assertThat(rbac.get("status").asInt()).isEqualTo(200);
        assertThat(rbac.get("value").toString()).contains("hl7-mllp-ingest");

        JsonNode diag = jolokia("{\"type\":\"exec\",\"mbean\":\"com.sun.management:type=DiagnosticCommand\","
                + "\"operation\":\"vmSystemProperties()\"}");
        assertThat(diag.get("status").asInt()).isEqualTo(403);

        JsonNode heapDump = jolokia("{\"type\":\"exec\",\"mbean\":\"com.sun.management:type=HotSpotDiagnostic\","
                + "\"operation\":\"dumpHeap\",\"arguments\":[\"/tmp/caravan-heap.hprof\",true]}");
        assertThat(heapDump.get("status").asInt()).isEqualTo(403);
        assertThat(new java.io.File("/tmp/caravan-heap.hprof")).doesNotExist();

        String route = routes.get("value").get(0).asText();
        JsonNode stop = jolokia("{\"type\":\"exec\",\"mbean\":\"" + route.replace("\"", "\\\"")
                + "\",\"operation\":\"stop()\"}");
        assertThat(stop.get("status").asInt()).isEqualTo(403);

        JsonNode write = jolokia("{\"type\":\"write\",\"mbean\":\"java.lang:type=Memory\",\"attribute\":\"Verbose\","
                + "\"value\":true}");
        assertThat(write.get("status").asInt()).isEqualTo(403);
    }

    /**
     * Issue 15 item 2: a JSR-160 proxy request ({@code target}) made the hub open a JRMP connection to any host an
     * operator named. Refused, and nothing connects - through the actuator endpoint and Hawtio's forward alike.
     */
    @Test
    void jolokiaRefusesProxyRequestsAndConnectsNowhere() throws Exception {
        try (Listener listener = new Listener()) {
            String request = "{\"type\":\"read\",\"mbean\":\"java.lang:type=Memory\",\"attribute\":\"HeapMemoryUsage\","
                    + "\"target\":{\"url\":\"service:jmx:rmi:///jndi/rmi://127.0.0.1:" + listener.port() + "/jmxrmi\"}}";
            List<RawHttp.Response> answers = new java.util.ArrayList<>();
            for (String path : new String[] {"/actuator/jolokia", "/actuator/hawtio/jolokia"}) {
                for (String body : new String[] {request, "[" + request + "]"}) {
                    answers.add(RawHttp.send(port, null, "POST", path, Map.of("Authorization",
                            RawHttp.basic(TestHub.OPERATOR, TestHub.USER_PASSWORD), "Content-Type", "application/json"),
                            body));
                }
            }
            // before the fix: "<connected>JRMI..." - the hub spoke JRMP to the named host
            assertThat(listener.received(Duration.ofSeconds(2))).as("bytes received by the named host").isEmpty();
            for (RawHttp.Response r : answers) {
                assertThat(r.status()).as(r.toString()).isEqualTo(403);
                assertThat(r.body()).as(r.toString()).doesNotContain("HeapMemoryUsage").contains("target");
            }
        }
        // the same read without a target is served
        assertThat(jolokia("{\"type\":\"read\",\"mbean\":\"java.lang:type=Memory\",\"attribute\":\"HeapMemoryUsage\"}")
                .get("status").asInt()).isEqualTo(200);
    }

    /** Issue 15 item 2: CORS reflected any Origin with credentials allowed; only the hub's own origin may call it. */
    @Test
    void crossOriginCallsAreRefusedAndNeverGrantedCredentials() throws Exception {
        String evil = "http://evil.example";
        String auth = RawHttp.basic(TestHub.OPERATOR, TestHub.USER_PASSWORD);
        RawHttp.Response post = RawHttp.send(port, null, "POST", "/actuator/jolokia", Map.of("Authorization", auth,
                "Origin", evil, "Content-Type", "text/plain"),
                "{\"type\":\"read\",\"mbean\":\"java.lang:type=Memory\",\"attribute\":\"HeapMemoryUsage\"}");
        RawHttp.Response hawtio = RawHttp.send(port, null, "POST", "/actuator/hawtio/jolokia", Map.of("Authorization",
                auth, "Origin", evil, "Content-Type", "text/plain"), "{\"type\":\"version\"}");
        RawHttp.Response get = RawHttp.send(port, null, "GET", "/actuator/jolokia/version", Map.of("Authorization",
                auth, "Origin", evil), null);
        RawHttp.Response preflight = RawHttp.send(port, null, "OPTIONS", "/actuator/jolokia", Map.of("Origin", evil,
                "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization"), null);
        RawHttp.Response api = RawHttp.send(port, null, "GET", "/api/workflows", Map.of("Authorization", auth,
                "Origin", evil), null);
        for (RawHttp.Response r : List.of(post, hawtio, get, preflight, api)) {
            assertThat(r.header("Access-Control-Allow-Origin")).as(r.toString()).isNull();
            assertThat(r.header("Access-Control-Allow-Credentials")).as(r.toString()).isNull();
            assertThat(r.status()).as(r.toString()).isEqualTo(403);
            assertThat(r.body()).as(r.toString()).doesNotContain("HeapMemoryUsage").doesNotContain("\"agent\"");
        }
        // the console's own origin is served as before
        RawHttp.Response own = RawHttp.send(port, null, "POST", "/actuator/jolokia", Map.of("Authorization", auth,
                "Origin", "http://127.0.0.1:" + port, "Content-Type", "application/json"), "{\"type\":\"version\"}");
        assertThat(own.status()).as(own.toString()).isEqualTo(200);
        assertThat(own.body()).contains("\"agent\"");
    }

    /** Issue 15 item 2: Hawtio's proxy servlet forwarded requests to hosts the caller named. Off. */
    @Test
    void hawtiosProxyServletIsOff() throws Exception {
        String auth = RawHttp.basic(TestHub.OPERATOR, TestHub.USER_PASSWORD);
        RawHttp.Response enabled = RawHttp.get(port, "/actuator/hawtio/proxy/enabled", Map.of("Authorization", auth));
        assertThat(enabled.body().trim()).as(enabled.toString()).isNotEqualTo("true");
        try (Listener listener = new Listener()) {
            RawHttp.Response r = RawHttp.get(port, "/actuator/hawtio/proxy/http/127.0.0.1/" + listener.port()
                    + "/jolokia/version", Map.of("Authorization", auth));
            assertThat(r.status()).as(r.toString()).isIn(403, 404);
            assertThat(listener.received(Duration.ofSeconds(2))).as("bytes received by the named host").isEmpty();
        }
    }

    /**
     * Issue 15 item 6: {@code identifier=SYSTEM|VALUE} as curl sends it (a literal {@code |}, the public contract's
     * and FHIR's token syntax) was a 400 from Tomcat.
     */
    @Test
    void aLiteralBarInTheQueryFindsTheContact() throws Exception {
        TestHub hub = TestHub.named("operations");
        String mrn = "MRN-BAR" + Hl7Messages.controlId();
        java.util.UUID id = io.caravan.support.HubApi.register(hub, rest, mrn, "Bar", "Vertical", "bar@example.org", "");
        RawHttp.Response r = RawHttp.get(port, "/api/contacts?identifier=MERCY|" + mrn,
                Map.of("Authorization", RawHttp.basic("admin", hub.adminPassword())));
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        JsonNode found = JSON.readTree(r.body());
        assertThat(found.size()).isEqualTo(1);
        assertThat(found.get(0).get("id").asText()).isEqualTo(id.toString());
    }

    /**
     * Issue 15 item 10: a message's status and a contact's message list name templates (which can reveal a
     * condition), so reading them is a PHI read in the contact's audit trail like every other API read.
     */
    @Test
    void readingAMessageOrAContactsMessagesIsAuditedAsAPhiRead() throws Exception {
        TestHub hub = TestHub.named("operations");
        java.util.UUID contact = io.caravan.support.HubApi.register(hub, rest, "MRN-MSG" + Hl7Messages.controlId(),
                "Read", "Audited", "audited@example.org", "");
        TestRestTemplate integration = rest.withBasicAuth(TestHub.INTEGRATION, TestHub.USER_PASSWORD);
        TestRestTemplate compliance = rest.withBasicAuth(TestHub.COMPLIANCE, TestHub.USER_PASSWORD);
        ResponseEntity<String> planned = io.caravan.support.HubApi.post(integration, "/api/messages", Map.of(
                "contactId", contact.toString(), "template", "appointment-reminder", "channel", "email",
                "purpose", "treatment", "data", Map.of("appointmentDate", "2026-12-03", "appointmentTime", "09:30",
                        "provider", "Dr Osei", "clinicPhone", "+1 217 555 0100")));
        assertThat(planned.getStatusCode().value()).as(planned.getBody()).isEqualTo(202);
        String message = JSON.readTree(planned.getBody()).get("id").asText();

        assertThat(integration.getForEntity("/api/messages/{id}", String.class, message).getStatusCode())
                .isEqualTo(HttpStatus.OK);
        assertThat(compliance.getForEntity("/api/contacts/{id}/messages", String.class, contact).getStatusCode())
                .isEqualTo(HttpStatus.OK);

        JsonNode reads = JSON.readTree(compliance.getForEntity("/api/audit?contact={id}&action=phi.read",
                String.class, contact).getBody());
        List<String> seen = new java.util.ArrayList<>();
        reads.forEach(e -> seen.add(e.get("actor").asText() + ":" + e.get("outcome").asText()));
        assertThat(seen).contains(TestHub.INTEGRATION + ":message", TestHub.COMPLIANCE + ":messages");
    }

    /** A loopback listener that records whatever any client sends it (a JRMP client starts with "JRMI"). */
    static final class Listener implements AutoCloseable {
        private final ServerSocket server;
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final Thread thread;

        Listener() throws Exception {
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            thread = new Thread(() -> {
                while (!server.isClosed()) {
                    try (Socket s = server.accept()) {
                        s.setSoTimeout(1000);
                        synchronized (bytes) {
                            bytes.write("<connected>".getBytes(StandardCharsets.US_ASCII));
                        }
                        byte[] b = new byte[64];
                        int n = s.getInputStream().read(b);
                        if (n > 0) {
                            synchronized (bytes) {
                                bytes.write(b, 0, n);
                            }
                        }
                    } catch (Exception e) {
                        // closed, or the client said nothing: what arrived is recorded
                    }
                }
            }, "listener");
            thread.setDaemon(true);
            thread.start();
        }

        int port() {
            return server.getLocalPort();
        }

        String received(Duration wait) throws InterruptedException {
            Thread.sleep(wait.toMillis());
            synchronized (bytes) {
                return bytes.toString(StandardCharsets.ISO_8859_1);
            }
        }

        @Override
        public void close() throws Exception {
            server.close();
        }
    }

    private JsonNode jolokia(String request) throws Exception {
        HttpHeaders h = new HttpHeaders();
        h.setContentType(MediaType.APPLICATION_JSON);
        ResponseEntity<String> r = admin().postForEntity("/actuator/jolokia", new HttpEntity<>(request, h),
                String.class);
        return JSON.readTree(r.getBody());
    }
}
