package io.caravan.system;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.support.Hl7Messages;
import io.caravan.support.MllpTestClient;
import io.caravan.support.TestHub;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
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

    private JsonNode jolokia(String request) throws Exception {
        HttpHeaders h = new HttpHeaders();
        h.setContentType(MediaType.APPLICATION_JSON);
        ResponseEntity<String> r = admin().postForEntity("/actuator/jolokia", new HttpEntity<>(request, h),
                String.class);
        return JSON.readTree(r.getBody());
    }
}
