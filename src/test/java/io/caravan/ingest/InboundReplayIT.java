package io.caravan.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.CaravanApplication;
import io.caravan.support.Hl7Messages;
import io.caravan.support.MllpTestClient;
import io.caravan.support.TestHub;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * An integration engineer's repair of a bad mapping: a feed's adapter links on the wrong identifier type, so its
 * registrations are answered AE and kept as failed. They find them with {@code GET /api/inbound?status=failed} (no
 * patient data in the listing), fix the adapter, restart the hub (mappings load at start) and replay: the contact and
 * its event appear exactly as on a first delivery, and the audit trail says who replayed what.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class InboundReplayIT {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String ADAPTER = """
            id: replay-lab
            name: Replay test lab
            kind: hl7v2-mllp
            match:
              sendingApplication: RPLAB
            baa:
              status: not-applicable
            identity:
              linkingTypes: [%s]
            """;

    final TestHub hub = hub();
    final HttpClient http = HttpClient.newHttpClient();
    final String canary = "Zq" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
    final String mrn = "RP" + System.nanoTime() % 1_000_000_000L;
    final String brokenControlId = Hl7Messages.controlId();
    final String stillBrokenControlId = Hl7Messages.controlId();
    final String resentControlId = Hl7Messages.controlId();
    final String resentMrn = mrn + "9";
    final List<String> goodControlIds = new ArrayList<>();
    Path adapters;
    ConfigurableApplicationContext context;
    int httpPort;
    Instant sentFrom;
    Instant sentTo;

    @BeforeAll
    void sendThroughABrokenAdapterThenFixIt() throws Exception {
        adapters = Files.createTempDirectory("caravan-replay-adapters");
        Files.writeString(adapters.resolve("replay-lab.yaml"), ADAPTER.formatted("XX"));
        start();
        sentFrom = Instant.now();
        try (MllpTestClient c = new MllpTestClient(hub.mllpPort)) {
            assertThat(MllpTestClient.msa1(c.exchange(lab(brokenControlId, mrn, "MR"), 10_000))).isEqualTo("AE");
            // an SSN links under no adapter: it fails before and after the fix
            assertThat(MllpTestClient.msa1(c.exchange(lab(stillBrokenControlId, mrn + "7", "SS"), 10_000)))
                    .isEqualTo("AE");
            assertThat(MllpTestClient.msa1(c.exchange(lab(resentControlId, resentMrn, "MR"), 10_000)))
                    .isEqualTo("AE");
            for (int i = 0; i < 3; i++) {
                String id = Hl7Messages.controlId();
                goodControlIds.add(id);
                assertThat(MllpTestClient.msa1(c.exchange(Hl7Messages.a04(id, mrn + "G" + i, canary + "Good",
                        canary + "Given", canary.toLowerCase() + "@example.org"), 10_000))).isEqualTo("AA");
            }
        }
        sentTo = Instant.now();
        context.close();
        Files.writeString(adapters.resolve("replay-lab.yaml"), ADAPTER.formatted("MR"));
        start();
    }

    @AfterAll
    void stop() {
        if (context != null) {
            context.close();
        }
    }

    TestHub hub() {
        return TestHub.named("inbound-replay");
    }

    /** Extra start arguments (a profile). */
    List<String> profile() {
        return List.of();
    }

    private void start() {
        Map<String, Object> props = new HashMap<>();
        hub.register((name, value) -> props.put(name, value.get()));
        profile().forEach(p -> props.put("spring.profiles.active", p));
        props.put("server.port", 0);
        props.put("caravan.mapping.adapters-dir", adapters.toString());
        // as arguments: default properties would lose to application.yaml
        context = new SpringApplicationBuilder(CaravanApplication.class)
                .run(props.entrySet().stream().map(e -> "--" + e.getKey() + "=" + e.getValue()).toArray(String[]::new));
        httpPort = Integer.parseInt(context.getEnvironment().getProperty("local.server.port"));
    }

    /** A registration from the replay-lab feed; PID-3 typed {@code idType}; every PHI field holds the canary. */
    String lab(String controlId, String id, String idType) {
        return Hl7Messages.a04(controlId, id, canary + "Fam", canary + "Giv", canary.toLowerCase() + "@example.org")
                .replace("|REGADT|MERCY|", "|RPLAB|MERCY|").replace(id + "^^^MERCY^MR", id + "^^^MERCY^" + idType);
    }

    @Test
    @Order(1)
    void aMessageTheMappingRejectsIsListedAsFailedWithItsLocationAndNoPhi() throws Exception {
        HttpResponse<String> r = get("/api/inbound?status=failed&feed=replay-lab", TestHub.INTEGRATION);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.body()).doesNotContain(canary).doesNotContain(canary.toLowerCase()).doesNotContain(mrn);
        JsonNode broken = item(r, brokenControlId);
        assertThat(broken.get("feed").asText()).isEqualTo("replay-lab");
        assertThat(broken.get("type").asText()).isEqualTo("ADT^A04");
        assertThat(broken.get("status").asText()).isEqualTo("failed");
        assertThat(broken.get("errorCode").asText()).isEqualTo("mapping:101");
        assertThat(broken.get("errorLocation").asText()).isEqualTo("PID-3");
        assertThat(Instant.parse(broken.get("receivedAt").asText())).isBetween(sentFrom, sentTo);

        HttpResponse<String> one = get("/api/inbound/" + broken.get("id").asText(), TestHub.INTEGRATION);
        assertThat(one.statusCode()).isEqualTo(200);
        assertThat(one.body()).doesNotContain(canary).doesNotContain(canary.toLowerCase()).doesNotContain(mrn);
        assertThat(JSON.readTree(one.body()).get("controlId").asText()).isEqualTo(brokenControlId);
        assertThat(JSON.readTree(one.body()).has("warnings")).isTrue();
    }

    @Test
    @Order(2)
    void listsFilterByFeedAndTime() throws Exception {
        HttpResponse<String> defaults = get("/api/inbound?feed=default&from=" + enc(sentFrom.toString()),
                TestHub.INTEGRATION);
        assertThat(controlIds(defaults)).containsAll(goodControlIds).doesNotContain(brokenControlId);
        assertThat(defaults.body()).doesNotContain(canary);
        assertThat(controlIds(get("/api/inbound?status=accepted&feed=default&from=" + enc(sentFrom.toString()),
                TestHub.INTEGRATION))).containsExactlyInAnyOrderElementsOf(goodControlIds);
        assertThat(controlIds(get("/api/inbound?feed=replay-lab&from=" + enc(sentTo.toString()),
                TestHub.INTEGRATION))).isEmpty();
        assertThat(controlIds(get("/api/inbound?feed=replay-lab&to=" + enc(sentFrom.toString()),
                TestHub.INTEGRATION))).isEmpty();
        String window = "&from=" + enc(sentFrom.atOffset(java.time.ZoneOffset.ofHours(-5)).toString()) + "&to="
                + enc(sentTo.toString());
        assertThat(controlIds(get("/api/inbound?feed=replay-lab" + window, TestHub.INTEGRATION)))
                .containsExactlyInAnyOrder(brokenControlId, stillBrokenControlId, resentControlId);
    }

    @Test
    @Order(3)
    void pagesNewestFirstWithACursor() throws Exception {
        String q = "/api/inbound?feed=default&from=" + enc(sentFrom.toString()) + "&limit=2";
        HttpResponse<String> first = get(q, TestHub.INTEGRATION);
        JsonNode page1 = JSON.readTree(first.body());
        assertThat(controlIds(first)).containsExactly(goodControlIds.get(2), goodControlIds.get(1));
        String cursor = page1.get("nextCursor").asText();
        HttpResponse<String> second = get(q + "&cursor=" + cursor, TestHub.INTEGRATION);
        assertThat(controlIds(second)).containsExactly(goodControlIds.get(0));
        assertThat(JSON.readTree(second.body()).has("nextCursor")).isFalse();
    }

    @Test
    @Order(4)
    void badParametersAreProblemsNamingTheParameterAndItsForm() throws Exception {
        HttpResponse<String> from = get("/api/inbound?from=yesterday", TestHub.INTEGRATION);
        assertThat(from.statusCode()).isEqualTo(400);
        assertThat(from.headers().firstValue("Content-Type")).hasValueSatisfying(
                t -> assertThat(t).startsWith("application/problem+json"));
        assertThat(JSON.readTree(from.body()).get("detail").asText()).contains("from").contains("ISO 8601");
        assertThat(JSON.readTree(get("/api/inbound?status=broken", TestHub.INTEGRATION).body()).get("detail")
                .asText()).contains("status").contains("failed");
        assertThat(JSON.readTree(get("/api/inbound?limit=0", TestHub.INTEGRATION).body()).get("detail").asText())
                .contains("limit");
        assertThat(JSON.readTree(get("/api/inbound?cursor=x", TestHub.INTEGRATION).body()).get("detail").asText())
                .contains("cursor");
    }

    @Test
    @Order(5)
    void unknownIdsAre404AndOtherRolesAreRefused() throws Exception {
        String unknown = "/api/inbound/" + UUID.randomUUID();
        assertThat(get(unknown, TestHub.INTEGRATION).statusCode()).isEqualTo(404);
        assertThat(post(unknown + "/replay", TestHub.INTEGRATION).statusCode()).isEqualTo(404);
        String failed = item(get("/api/inbound?status=failed&feed=replay-lab", TestHub.INTEGRATION), brokenControlId)
                .get("id").asText();
        for (String user : List.of(TestHub.OPERATOR, TestHub.COMPLIANCE)) {
            assertThat(get("/api/inbound", user).statusCode()).isEqualTo(403);
            assertThat(get("/api/inbound/" + failed, user).statusCode()).isEqualTo(403);
            assertThat(post("/api/inbound/" + failed + "/replay", user).statusCode()).isEqualTo(403);
        }
        assertThat(http.send(HttpRequest.newBuilder(uri("/api/inbound")).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(401);
        // still failed: a refused replay changed nothing
        assertThat(JSON.readTree(get("/api/inbound/" + failed, TestHub.INTEGRATION).body()).get("status").asText())
                .isEqualTo("failed");
    }

    @Test
    @Order(6)
    void replayAfterTheFixCommitsTheMessageAsAFirstDeliveryWould() throws Exception {
        String failed = item(get("/api/inbound?status=failed&feed=replay-lab", TestHub.INTEGRATION), brokenControlId)
                .get("id").asText();
        assertThat(contacts(mrn)).isEmpty();

        HttpResponse<String> r = post("/api/inbound/" + failed + "/replay", TestHub.INTEGRATION);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.body()).doesNotContain(canary).doesNotContain(canary.toLowerCase()).doesNotContain(mrn);
        JsonNode answer = JSON.readTree(r.body());
        assertThat(answer.get("outcome").asText()).isEqualTo("accepted");
        assertThat(MllpTestClient.msa1(answer.get("ack").asText())).isEqualTo("AA");
        assertThat(MllpTestClient.field(answer.get("ack").asText(), "MSA", 2)).isEqualTo(brokenControlId);
        String replay = answer.get("resolvedBy").asText();

        JsonNode contact = contacts(mrn);
        assertThat(contact.size()).isEqualTo(1);
        assertThat(contact.get(0).toString()).contains(canary + "Fam");
        JsonNode events = JSON.readTree(get("/api/contacts/" + contact.get(0).get("id").asText() + "/events",
                "admin").body());
        assertThat(events.toString()).contains("patient.registered");

        JsonNode original = JSON.readTree(get("/api/inbound/" + failed, TestHub.INTEGRATION).body());
        assertThat(original.get("status").asText()).isEqualTo("replayed");
        assertThat(original.get("errorCode").asText()).as("the failure record is kept").isEqualTo("mapping:101");
        assertThat(original.get("replayedBy").asText()).isEqualTo(replay);
        JsonNode replayed = JSON.readTree(get("/api/inbound/" + replay, TestHub.INTEGRATION).body());
        assertThat(replayed.get("status").asText()).isEqualTo("accepted");
        assertThat(replayed.get("replayOf").asText()).isEqualTo(failed);
        assertThat(replayed.get("controlId").asText()).isEqualTo(brokenControlId);
        assertThat(controlIds(get("/api/inbound?status=failed&feed=replay-lab", TestHub.INTEGRATION)))
                .doesNotContain(brokenControlId).contains(stillBrokenControlId);

        JsonNode audit = JSON.readTree(get("/api/audit?action=inbound.replayed", "admin").body());
        JsonNode entry = null;
        for (JsonNode e : audit) {
            if (e.toString().contains(failed)) {
                entry = e;
            }
        }
        assertThat(entry).as(audit.toString()).isNotNull();
        assertThat(entry.get("actor").asText()).isEqualTo(TestHub.INTEGRATION);
        assertThat(entry.get("outcome").asText()).isEqualTo("accepted");
        assertThat(entry.toString()).doesNotContain(canary).doesNotContain(mrn);

        HttpResponse<String> again = post("/api/inbound/" + failed + "/replay", TestHub.INTEGRATION);
        assertThat(again.statusCode()).as("a resolved failure is not replayed twice").isEqualTo(409);
        assertThat(post("/api/inbound/" + replay + "/replay", TestHub.INTEGRATION).statusCode())
                .as("an accepted message is not re-applied").isEqualTo(409);
        assertThat(JSON.readTree(get("/api/contacts/" + contact.get(0).get("id").asText() + "/events", "admin")
                .body()).size()).isEqualTo(events.size());
    }

    @Test
    @Order(7)
    void aReplayThatStillFailsStoresNothingAndSaysWhere() throws Exception {
        String failed = item(get("/api/inbound?status=failed&feed=replay-lab", TestHub.INTEGRATION),
                stillBrokenControlId).get("id").asText();
        HttpResponse<String> r = post("/api/inbound/" + failed + "/replay", TestHub.INTEGRATION);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode answer = JSON.readTree(r.body());
        assertThat(answer.get("outcome").asText()).isEqualTo("failed");
        assertThat(answer.get("errorLocation").asText()).isEqualTo("PID-3");
        assertThat(MllpTestClient.msa1(answer.get("ack").asText())).isEqualTo("AE");
        assertThat(r.body()).doesNotContain(canary).doesNotContain(mrn);
        assertThat(JSON.readTree(get("/api/inbound/" + failed, TestHub.INTEGRATION).body()).get("status").asText())
                .isEqualTo("failed");
        assertThat(get("/api/audit?action=inbound.replayed", "admin").body()).contains(failed);
    }

    @Test
    @Order(8)
    void aReplayOfWhatTheSenderHasSinceResentIsADuplicateAndResolvesTheFailure() throws Exception {
        try (MllpTestClient c = new MllpTestClient(hub.mllpPort)) {
            assertThat(MllpTestClient.msa1(c.exchange(lab(resentControlId, resentMrn, "MR"), 10_000)))
                    .isEqualTo("AA");
        }
        JsonNode contact = contacts(resentMrn);
        assertThat(contact.size()).isEqualTo(1);
        String eventsBefore = get("/api/contacts/" + contact.get(0).get("id").asText() + "/events", "admin").body();
        String failed = item(get("/api/inbound?status=failed&feed=replay-lab", TestHub.INTEGRATION),
                resentControlId).get("id").asText();
        JsonNode answer = JSON.readTree(post("/api/inbound/" + failed + "/replay", TestHub.INTEGRATION).body());
        assertThat(answer.get("outcome").asText()).isEqualTo("duplicate");
        assertThat(MllpTestClient.msa1(answer.get("ack").asText())).isEqualTo("AA");
        String resend = item(get("/api/inbound?status=accepted&feed=replay-lab", TestHub.INTEGRATION),
                resentControlId).get("id").asText();
        assertThat(answer.get("resolvedBy").asText()).isEqualTo(resend);
        assertThat(get("/api/contacts/" + contact.get(0).get("id").asText() + "/events", "admin").body())
                .as("no second event").isEqualTo(eventsBefore);
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    JsonNode contacts(String id) throws Exception {
        return JSON.readTree(get("/api/contacts?identifier=" + enc("MERCY|" + id), "admin").body());
    }

    static JsonNode item(HttpResponse<String> r, String controlId) throws Exception {
        for (JsonNode i : JSON.readTree(r.body()).get("items")) {
            if (controlId.equals(i.path("controlId").asText())) {
                return i;
            }
        }
        throw new AssertionError(controlId + " not in " + r.body());
    }

    static List<String> controlIds(HttpResponse<String> r) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        List<String> out = new ArrayList<>();
        JSON.readTree(r.body()).get("items").forEach(i -> out.add(i.path("controlId").asText()));
        return out;
    }

    static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + httpPort + path);
    }

    HttpResponse<String> get(String path, String user) throws Exception {
        return http.send(auth(HttpRequest.newBuilder(uri(path)), user).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> post(String path, String user) throws Exception {
        return http.send(auth(HttpRequest.newBuilder(uri(path)), user)
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpRequest.Builder auth(HttpRequest.Builder b, String user) {
        String password = "admin".equals(user) ? hub.adminPassword() : TestHub.USER_PASSWORD;
        return b.header("Authorization", "Basic " + Base64.getEncoder()
                .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8)));
    }
}
