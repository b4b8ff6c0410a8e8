package io.caravan.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.CaravanApplication;
import io.caravan.contact.Contact;
import io.caravan.contact.ContactStore;
import io.caravan.contact.SourceMessage;
import io.caravan.support.Hl7Messages;
import io.caravan.support.MllpTestClient;
import io.caravan.support.TestHub;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * A second source kind plugs into the hub with an {@link io.caravan.contact.IntakeSource} bean and calls to
 * {@link Intake} - nothing else: its messages are sealed, deduplicated, committed through the real writer, listed
 * with their kind, and replayed through that source after its "mapping" is fixed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class IntakeSourceKindIT {

    static final ObjectMapper JSON = new ObjectMapper();

    @Configuration
    static class JsonLineConfig {
        @Bean
        JsonLineSource jsonLineSource() {
            return new JsonLineSource();
        }
    }

    final TestHub hub = TestHub.named("intake-kind");
    final HttpClient http = HttpClient.newHttpClient();
    ConfigurableApplicationContext context;
    Intake intake;
    JsonLineSource source;
    int httpPort;

    @BeforeAll
    void start() throws Exception {
        Map<String, Object> props = new HashMap<>();
        hub.register((name, value) -> props.put(name, value.get()));
        props.put("server.port", 0);
        context = new SpringApplicationBuilder(CaravanApplication.class, JsonLineConfig.class)
                .run(props.entrySet().stream().map(e -> "--" + e.getKey() + "=" + e.getValue()).toArray(String[]::new));
        httpPort = Integer.parseInt(context.getEnvironment().getProperty("local.server.port"));
        intake = context.getBean(Intake.class);
        source = context.getBean(JsonLineSource.class);
    }

    @AfterAll
    void stop() {
        JsonLineSource.patientIdFallback = false;
        if (context != null) {
            context.close();
        }
    }

    Intake.Committed send(String json) throws InterruptedException {
        byte[] raw = json.getBytes(StandardCharsets.UTF_8);
        Instant now = Instant.now();
        SourceMessage read = source.read(raw, now);
        return intake.commit(source.kind(), read, raw, now);
    }

    static String unique(String prefix) {
        return prefix + UUID.randomUUID().toString().substring(0, 8);
    }

    @Test
    void aMessageOfTheNewKindIsCommittedOnceAndListedWithItsKind() throws Exception {
        String ref = unique("ref-");
        String mrn = unique("M");
        String line = "{\"ref\":\"" + ref + "\",\"mrn\":\"" + mrn + "\",\"email\":\"" + mrn + "@example.org\"}";
        Intake.Committed first = send(line);
        assertThat(first.outcome()).isEqualTo(Intake.Outcome.ACCEPTED);
        // a resend: with the journal (the embedded default) the answer comes before the store sees it is one
        Intake.Committed resend = send(line);
        assertThat(resend.outcome()).isIn(Intake.Outcome.ACCEPTED, Intake.Outcome.DUPLICATE);
        assertThat(resend.dedupeKey()).isEqualTo(first.dedupeKey());
        assertThat(get("/api/inbound/" + resend.id()).statusCode()).as("applied once").isEqualTo(404);

        Contact c = context.getBean(ContactStore.class).findByIdentifier("JSONLINE", mrn).orElseThrow();
        assertThat(c.email).isEqualTo(mrn + "@example.org");
        assertThat(context.getBean(ContactStore.class).events(c.id)).singleElement()
                .satisfies(e -> assertThat(e.type()).isEqualTo("jsonline.received"))
                .satisfies(e -> assertThat(e.source().messageControlId()).isEqualTo(ref));

        JsonNode listed = JSON.readTree(get("/api/inbound/" + first.id()).body());
        assertThat(listed.get("sourceKind").asText()).isEqualTo(JsonLineSource.KIND);
        assertThat(listed.get("status").asText()).isEqualTo("accepted");
        assertThat(listed.get("controlId").asText()).isEqualTo(ref);
        assertThat(listed.toString()).doesNotContain(mrn);

        assertThat(send("{\"ref\":\"" + unique("skip-") + "\",\"kind\":\"skip\"}").outcome())
                .isEqualTo(Intake.Outcome.IGNORED);
    }

    @Test
    void anHl7MessageIsRecordedAsHl7v2() throws Exception {
        String controlId = Hl7Messages.controlId();
        try (MllpTestClient c = new MllpTestClient(hub.mllpPort)) {
            assertThat(MllpTestClient.msa1(c.exchange(Hl7Messages.a04(controlId, unique("H"), "Kindtest", "Hl7",
                    "hl7kind@example.org"), 10_000))).isEqualTo("AA");
        }
        JsonNode items = JSON.readTree(get("/api/inbound?status=accepted&limit=200").body()).get("items");
        JsonNode item = null;
        for (JsonNode i : items) {
            if (controlId.equals(i.path("controlId").asText())) {
                item = i;
            }
        }
        assertThat(item).as(items.toString()).isNotNull();
        assertThat(item.get("sourceKind").asText()).isEqualTo("hl7v2");
    }

    @Test
    void aFailedMessageOfTheNewKindIsReplayedThroughItsSourceOnceTheMappingIsFixed() throws Exception {
        String ref = unique("bad-");
        String patientId = unique("P");
        Intake.Committed failed = send("{\"ref\":\"" + ref + "\",\"patientId\":\"" + patientId + "\"}");
        assertThat(failed.outcome()).isEqualTo(Intake.Outcome.FAILED_STORED);
        JsonNode listed = JSON.readTree(get("/api/inbound/" + failed.id()).body());
        assertThat(listed.get("status").asText()).isEqualTo("failed");
        assertThat(listed.get("errorCode").asText()).isEqualTo("mapping:mrn");
        assertThat(listed.get("sourceKind").asText()).isEqualTo(JsonLineSource.KIND);

        JsonLineSource.patientIdFallback = true;
        HttpResponse<String> r = post("/api/inbound/" + failed.id() + "/replay");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode answer = JSON.readTree(r.body());
        assertThat(answer.get("outcome").asText()).isEqualTo("accepted");
        assertThat(answer.has("ack")).as("this source answers no sender").isFalse();
        assertThat(context.getBean(ContactStore.class).findByIdentifier("JSONLINE", patientId)).isPresent();
        JsonNode replay = JSON.readTree(get("/api/inbound/" + answer.get("resolvedBy").asText()).body());
        assertThat(replay.get("sourceKind").asText()).isEqualTo(JsonLineSource.KIND);
        assertThat(replay.get("replayOf").asText()).isEqualTo(failed.id().toString());
    }

    HttpResponse<String> get(String path) throws Exception {
        return http.send(auth(HttpRequest.newBuilder(uri(path))).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> post(String path) throws Exception {
        return http.send(auth(HttpRequest.newBuilder(uri(path))).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + httpPort + path);
    }

    HttpRequest.Builder auth(HttpRequest.Builder b) {
        return b.header("Authorization", "Basic " + Base64.getEncoder().encodeToString(
                (TestHub.INTEGRATION + ":" + TestHub.USER_PASSWORD).getBytes(StandardCharsets.UTF_8)));
    }
}
