package io.caravan.ingest.fhir.subscription;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.caravan.contact.ContactStore;
import io.caravan.contact.TriggerEvent;
import io.caravan.support.TestHub;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;
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
 * Topic-based subscription notifications (Subscriptions R5 Backport IG on R4) posted as an EHR would: handshake
 * answered, events out of order all applied, a duplicate applied once, a missing event number recovered from the
 * server ($events, or a search when the server has no $events), an id-only event's resource read back, and a silent
 * subscription asked its $status - against a fake EHR that keeps every event it "sent".
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
// closed after the class, as its PostgreSQL variant is: the two must not hold one MLLP port at the same time
@org.springframework.test.annotation.DirtiesContext
class FhirSubscriptionIT {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String SECRET = "a-shared-subscription-secret";
    static Ehr ehr;

    /** The EHR: resources, the events each subscription sent, $events, $status and a search. */
    static final class Ehr implements AutoCloseable {
        final HttpServer server;
        final Map<String, String> resources = new ConcurrentHashMap<>();
        final Map<String, Map<Long, String>> events = new ConcurrentHashMap<>();
        final List<String> requests = Collections.synchronizedList(new ArrayList<>());

        Ehr() throws IOException {
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            server.createContext("/ehr/", this::handle);
            server.start();
        }

        String base() {
            return "http://127.0.0.1:" + server.getAddress().getPort() + "/ehr";
        }

        /** The EHR sends (or would send) event {@code n} of {@code sid} about {@code resource}. */
        void sent(String sid, long n, String resource) {
            events.computeIfAbsent(sid, k -> new TreeMap<>()).put(n, resource);
            resources.put(ref(resource), resource);
        }

        private void handle(HttpExchange x) throws IOException {
            try (x) {
                String path = x.getRequestURI().getPath().substring("/ehr".length());
                String query = x.getRequestURI().getQuery();
                requests.add(path + (query == null ? "" : "?" + query));
                String[] p = path.split("/");
                String body;
                int status = 200;
                if (p.length >= 4 && "Subscription".equals(p[1]) && "$events".equals(p[3])) {
                    if (p[2].startsWith("noevents-")) {
                        status = 404;
                        body = "{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":\"error\","
                                + "\"code\":\"not-supported\"}]}";
                    } else {
                        Map<String, String> q = params(query);
                        long from = Long.parseLong(q.get("eventsSinceNumber"));
                        long to = Long.parseLong(q.get("eventsUntilNumber"));
                        List<Long> numbers = events.getOrDefault(p[2], Map.of()).keySet().stream()
                                .filter(n -> n >= from && n <= to).toList();
                        body = notification(base(), p[2], "query-event", max(p[2]), numbers.stream()
                                .map(n -> new Ev(n, events.get(p[2]).get(n))).toList(), true);
                    }
                } else if (p.length >= 4 && "Subscription".equals(p[1]) && "$status".equals(p[3])) {
                    body = notification(base(), p[2], "query-status", max(p[2]), List.of(), false);
                } else if (p.length == 2) {
                    // a search by _lastUpdated: every resource of the type (the hub dedupes what it has)
                    StringBuilder b = new StringBuilder("{\"resourceType\":\"Bundle\",\"type\":\"searchset\","
                            + "\"entry\":[");
                    String sep = "";
                    for (var e : resources.entrySet()) {
                        if (e.getKey().startsWith(p[1] + "/")) {
                            b.append(sep).append("{\"resource\":").append(e.getValue()).append('}');
                            sep = ",";
                        }
                    }
                    body = b.append("]}").toString();
                } else if (p.length >= 3 && resources.containsKey(p[1] + "/" + p[2])) {
                    body = resources.get(p[1] + "/" + p[2]);
                } else {
                    status = 404;
                    body = "{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":\"error\","
                            + "\"code\":\"not-found\"}]}";
                }
                byte[] b = body.getBytes(StandardCharsets.UTF_8);
                x.getResponseHeaders().add("Content-Type", "application/fhir+json");
                x.sendResponseHeaders(status, b.length);
                x.getResponseBody().write(b);
            }
        }

        long max(String sid) {
            return events.getOrDefault(sid, Map.of()).keySet().stream().mapToLong(Long::longValue).max().orElse(0);
        }

        static Map<String, String> params(String query) {
            Map<String, String> m = new TreeMap<>();
            for (String kv : query.split("&")) {
                String[] p = kv.split("=", 2);
                m.put(p[0], p.length > 1 ? p[1] : "");
            }
            return m;
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }

    record Ev(long number, String resource) {
    }

    static String ref(String resource) {
        try {
            JsonNode n = JSON.readTree(resource);
            return n.path("resourceType").asText() + "/" + n.path("id").asText();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static String version(String resource) {
        try {
            return JSON.readTree(resource).path("meta").path("versionId").asText();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A notification Bundle as the IG has it: type history, a Parameters status first, then the focus resources. */
    static String notification(String base, String sid, String type, long eventsSince, List<Ev> events,
            boolean withResources) {
        StringBuilder params = new StringBuilder("[{\"name\":\"subscription\",\"valueReference\":{\"reference\":\""
                + base + "/Subscription/" + sid + "\"}},{\"name\":\"topic\",\"valueCanonical\":"
                + "\"http://example.org/SubscriptionTopic/patient-changed\"},{\"name\":\"status\",\"valueCode\":"
                + "\"active\"},{\"name\":\"type\",\"valueCode\":\"" + type + "\"},{\"name\":"
                + "\"events-since-subscription-start\",\"valueString\":\"" + eventsSince + "\"}");
        StringBuilder entries = new StringBuilder();
        for (Ev e : events) {
            String ref = ref(e.resource());
            params.append(",{\"name\":\"notification-event\",\"part\":[{\"name\":\"event-number\",\"valueString\":\"")
                    .append(e.number()).append("\"},{\"name\":\"timestamp\",\"valueInstant\":\"2026-03-01T10:00:0")
                    .append(e.number() % 10).append("Z\"},{\"name\":\"focus\",\"valueReference\":{\"reference\":\"")
                    .append(ref).append("/_history/").append(version(e.resource())).append("\"}}]}");
            entries.append(",{\"fullUrl\":\"").append(base).append('/').append(ref).append('"');
            if (withResources) {
                entries.append(",\"resource\":").append(e.resource());
            }
            entries.append(",\"request\":{\"method\":\"PUT\",\"url\":\"").append(ref).append("\"},\"response\":"
                    + "{\"status\":\"200\"}}");
        }
        params.append(']');
        return "{\"resourceType\":\"Bundle\",\"type\":\"history\",\"timestamp\":\"2026-03-01T10:00:00Z\","
                + "\"entry\":[{\"fullUrl\":\"urn:uuid:" + UUID.randomUUID() + "\",\"resource\":{\"resourceType\":"
                + "\"Parameters\",\"meta\":{\"profile\":[\"http://hl7.org/fhir/uv/subscriptions-backport/"
                + "StructureDefinition/backport-subscription-status-r4\"]},\"parameter\":" + params + "},"
                + "\"request\":{\"method\":\"GET\",\"url\":\"" + base + "/Subscription/" + sid + "/$status\"},"
                + "\"response\":{\"status\":\"200\"}}" + entries + "]}";
    }

    static TestHub hub() {
        return TestHub.named("fhir-subscriptions");
    }

    /** The hub's store, port and data directory; the PostgreSQL variant hides this method with its own. */
    @DynamicPropertySource
    static void hubProps(DynamicPropertyRegistry r) {
        hub().register(r);
    }

    @DynamicPropertySource
    static void props(DynamicPropertyRegistry r) throws IOException {
        ehr = new Ehr();
        Path adapters = Files.createTempDirectory("caravan-sub-adapters");
        Files.writeString(adapters.resolve("subs-ehr.yaml"), """
                id: subs-ehr
                kind: fhir
                baa: { status: signed }
                fhir:
                  baseUrl: %s
                  identifierSystems: { "http://hospital.example.org/mrn": SUBS }
                  resourceTypes: [Patient, Appointment]
                  subscription: { secretEnv: CARAVAN_TEST_SUB_SECRET, gapWait: 2s, heartbeatPeriod: 4s }
                """.formatted(ehr.base()));
        r.add("caravan.mapping.adapters-dir", adapters::toString);
        r.add("CARAVAN_TEST_SUB_SECRET", () -> SECRET);
        r.add("caravan.fhir.tick", () -> 200);
    }

    @AfterAll
    static void stop() {
        ehr.close();
    }

    @Autowired
    TestRestTemplate rest;
    @Autowired
    ContactStore store;

    static String unique(String prefix) {
        return prefix + UUID.randomUUID().toString().substring(0, 8).toUpperCase();
    }

    static String patient(String id, int version, String lastUpdated, String mrn, String family) {
        return ("{\"resourceType\":\"Patient\",\"id\":\"%s\",\"meta\":{\"versionId\":\"%d\",\"lastUpdated\":\"%s\"},"
                + "\"identifier\":[{\"type\":{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/v2-0203\","
                + "\"code\":\"MR\"}]},\"system\":\"http://hospital.example.org/mrn\",\"value\":\"%s\"}],"
                + "\"name\":[{\"family\":\"%s\",\"given\":[\"Sub\"]}],\"gender\":\"male\",\"birthDate\":\"1960-02-02\"}")
                .formatted(id, version, lastUpdated, mrn, family);
    }

    ResponseEntity<String> post(String body, String secret) {
        HttpHeaders h = new HttpHeaders();
        h.setContentType(MediaType.parseMediaType("application/fhir+json"));
        if (secret != null) {
            h.add("X-Subscription-Secret", secret);
        }
        return rest.postForEntity("/fhir/subscriptions/subs-ehr", new HttpEntity<>(body, h), String.class);
    }

    ResponseEntity<String> post(String body) {
        return post(body, SECRET);
    }

    void handshake(String sid) {
        ResponseEntity<String> r = post(notification(ehr.base(), sid, "handshake", 0, List.of(), false));
        assertThat(r.getStatusCode().value()).as(r.getBody()).isEqualTo(200);
    }

    ResponseEntity<String> event(String sid, long n, boolean withResource) {
        String resource = ehr.events.get(sid).get(n);
        ResponseEntity<String> r = post(notification(ehr.base(), sid, "event-notification", n,
                List.of(new Ev(n, resource)), withResource));
        assertThat(r.getStatusCode().value()).as(r.getBody()).isEqualTo(200);
        return r;
    }

    List<String> events(String mrn) {
        return store.findByIdentifier("SUBS", mrn).map(c -> store.events(c.id).stream().map(TriggerEvent::type)
                .toList()).orElse(List.of());
    }

    JsonNode state(String sid) throws IOException {
        ResponseEntity<String> r = rest.withBasicAuth(TestHub.INTEGRATION, TestHub.USER_PASSWORD)
                .getForEntity("/api/fhir/subscriptions/subs-ehr", String.class);
        for (JsonNode n : JSON.readTree(r.getBody())) {
            if (sid.equals(n.path("subscription").asText())) {
                return n;
            }
        }
        return null;
    }

    List<String> requests(String fragment) {
        synchronized (ehr.requests) {
            return ehr.requests.stream().filter(q -> q.contains(fragment)).toList();
        }
    }

    @Test
    void theHandshakeIsAnsweredAndAWrongSecretIsRefused() throws Exception {
        String sid = unique("hs-");
        handshake(sid);
        assertThat(state(sid).path("status").asText()).isEqualTo("active");
        String mrn = unique("SW");
        ehr.sent(sid, 1, patient(unique("p-"), 1, "2026-03-01T10:00:00Z", mrn, "Wrongsecret"));
        String body = notification(ehr.base(), sid, "event-notification", 1, List.of(new Ev(1,
                ehr.events.get(sid).get(1L))), true);
        ResponseEntity<String> wrong = post(body, "not-the-secret");
        assertThat(wrong.getStatusCode().value()).isEqualTo(401);
        assertThat(wrong.getBody()).contains("OperationOutcome").doesNotContain("Wrongsecret");
        assertThat(post(body, null).getStatusCode().value()).isEqualTo(401);
        assertThat(events(mrn)).isEmpty();
        assertThat(rest.postForEntity("/fhir/subscriptions/no-such-adapter", new HttpEntity<>(body),
                String.class).getStatusCode().value()).isEqualTo(401);
    }

    @Test
    void eventsOutOfOrderAreAllAppliedWithoutAskingTheServer() throws Exception {
        String sid = unique("ooo-");
        handshake(sid);
        String a = unique("SA");
        String b = unique("SB");
        String aId = unique("p-");
        ehr.sent(sid, 1, patient(aId, 1, "2026-03-01T10:00:00Z", a, "Firstname"));
        ehr.sent(sid, 2, patient(aId, 2, "2026-03-01T11:00:00Z", a, "Secondname"));
        ehr.sent(sid, 3, patient(unique("p-"), 1, "2026-03-01T10:30:00Z", b, "Other"));
        event(sid, 1, true);
        event(sid, 3, true);
        event(sid, 2, true);
        assertThat(events(a)).containsExactly("patient.registered", "patient.updated");
        assertThat(events(b)).containsExactly("patient.registered");
        assertThat(store.findByIdentifier("SUBS", a).orElseThrow().name.family()).isEqualTo("Secondname");
        JsonNode st = state(sid);
        assertThat(st.path("contiguous").asLong()).isEqualTo(3);
        assertThat(st.path("highest").asLong()).isEqualTo(3);
        Thread.sleep(2500);   // past gapWait: nothing was missing, so nothing is asked
        assertThat(requests("/Subscription/" + sid + "/$events")).isEmpty();
    }

    @Test
    void theSameEventTwiceIsAppliedOnce() throws Exception {
        String sid = unique("dup-");
        handshake(sid);
        String mrn = unique("SD");
        ehr.sent(sid, 1, patient(unique("p-"), 1, "2026-03-01T10:00:00Z", mrn, "Twice"));
        event(sid, 1, true);
        ResponseEntity<String> again = event(sid, 1, true);
        assertThat(again.getBody()).contains("1 already applied");
        assertThat(events(mrn)).containsExactly("patient.registered");
        assertThat(state(sid).path("contiguous").asLong()).isEqualTo(1);
    }

    @Test
    void aMissingEventNumberIsRecoveredWithEvents() throws Exception {
        String sid = unique("gap-");
        handshake(sid);
        String first = unique("G1");
        String lost = unique("G2");
        String third = unique("G3");
        ehr.sent(sid, 1, patient(unique("p-"), 1, "2026-03-01T10:00:00Z", first, "One"));
        ehr.sent(sid, 2, patient(unique("p-"), 1, "2026-03-01T10:01:00Z", lost, "Lost"));
        ehr.sent(sid, 3, patient(unique("p-"), 1, "2026-03-01T10:02:00Z", third, "Three"));
        event(sid, 1, true);
        event(sid, 3, true);
        assertThat(state(sid).path("contiguous").asLong()).isEqualTo(1);
        await().atMost(Duration.ofSeconds(20)).until(() -> events(lost).size() == 1);
        assertThat(requests("/Subscription/" + sid + "/$events")).first().asString()
                .contains("eventsSinceNumber=2").contains("eventsUntilNumber=2");
        await().atMost(Duration.ofSeconds(5)).until(() -> state(sid).path("contiguous").asLong() == 3);
        assertThat(events(first)).hasSize(1);
        assertThat(events(third)).hasSize(1);
        // the lost notification arrives after all: nothing doubles
        event(sid, 2, true);
        assertThat(events(lost)).containsExactly("patient.registered");
    }

    @Test
    void anIdOnlyEventIsReadBackFromTheServer() throws Exception {
        String sid = unique("ido-");
        handshake(sid);
        String mrn = unique("SI");
        String id = unique("p-");
        ehr.sent(sid, 1, patient(id, 1, "2026-03-01T10:00:00Z", mrn, "Idonly"));
        event(sid, 1, false);
        assertThat(requests("/Patient/" + id)).isNotEmpty();
        assertThat(events(mrn)).containsExactly("patient.registered");
        assertThat(store.findByIdentifier("SUBS", mrn).orElseThrow().name.family()).isEqualTo("Idonly");
    }

    @Test
    void aServerWithoutEventsHasTheGapClosedByASearch() throws Exception {
        String sid = unique("noevents-");
        handshake(sid);
        String lost = unique("SN");
        String second = unique("SM");
        ehr.sent(sid, 1, patient(unique("p-"), 1, "2026-03-01T10:00:00Z", lost, "Searched"));
        ehr.sent(sid, 2, patient(unique("p-"), 1, "2026-03-01T10:01:00Z", second, "Posted"));
        event(sid, 2, true);
        await().atMost(Duration.ofSeconds(20)).until(() -> events(lost).size() == 1);
        assertThat(requests("/Patient?_lastUpdated=ge")).isNotEmpty();
        await().atMost(Duration.ofSeconds(5)).until(() -> state(sid).path("contiguous").asLong() == 2);
        assertThat(events(second)).containsExactly("patient.registered");
    }

    @Test
    void aSilentSubscriptionIsAskedItsStatusAndWhatItMissedIsRecovered() throws Exception {
        String sid = unique("hb-");
        handshake(sid);
        String mrn = unique("SH");
        // the EHR sends event 1, and the notification never arrives; nor does any heartbeat
        ehr.sent(sid, 1, patient(unique("p-"), 1, "2026-03-01T10:00:00Z", mrn, "Silent"));
        await().atMost(Duration.ofSeconds(30)).until(() -> events(mrn).size() == 1);
        assertThat(requests("/Subscription/" + sid + "/$status")).isNotEmpty();
        assertThat(state(sid).path("contiguous").asLong()).isEqualTo(1);
        // a heartbeat naming what was sent opens no gap
        assertThat(post(notification(ehr.base(), sid, "heartbeat", 1, List.of(), false)).getStatusCode().value())
                .isEqualTo(200);
        assertThat(state(sid).path("heartbeats").asLong()).isEqualTo(1);
        assertThat(state(sid).path("highest").asLong()).isEqualTo(1);
    }
}
