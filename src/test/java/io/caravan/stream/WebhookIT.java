package io.caravan.stream;

import static io.caravan.support.HubApi.JSON;
import static io.caravan.support.HubApi.post;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.caravan.support.HubApi;
import io.caravan.support.TestHub;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Webhooks against a receiver in the test that checks every signature with its own HMAC code (and once with openssl)
 * and answers 500 to the first delivery of each event: each event is still accepted exactly once, in order; a replay
 * sends it again with the same id; the status API shows the backlog and the last error.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@DirtiesContext
class WebhookIT {

    static final TestHub HUB = TestHub.named("stream-webhooks");
    static final String SECRET = "a-webhook-signing-secret-for-tests-only";
    static final Receiver RECEIVER = new Receiver();
    static final Path ADAPTERS;

    /** One request as received: the three Standard Webhooks headers, the body and what the receiver answered. */
    record Received(String id, String timestamp, String signature, byte[] body, int answered, Instant at) {
    }

    /** Answers 500 to the first delivery of each webhook-id, 200 after; records everything. */
    static final class Receiver {
        final HttpServer server;
        final List<Received> received = Collections.synchronizedList(new ArrayList<>());
        final Map<String, Integer> seen = new HashMap<>();
        /** The stubborn endpoint answers 503 while this is set, else 200. */
        volatile boolean refuse;
        final List<Received> stubborn = Collections.synchronizedList(new ArrayList<>());

        Receiver() {
            try {
                server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
            server.createContext("/stubborn", x -> {
                byte[] body = x.getRequestBody().readAllBytes();
                int code = refuse ? 503 : 200;
                stubborn.add(new Received(x.getRequestHeaders().getFirst("webhook-id"),
                        x.getRequestHeaders().getFirst("webhook-timestamp"),
                        x.getRequestHeaders().getFirst("webhook-signature"), body, code, Instant.now()));
                x.sendResponseHeaders(code, -1);
                x.close();
            });
            server.createContext("/hooks", x -> {
                byte[] body = x.getRequestBody().readAllBytes();
                String id = x.getRequestHeaders().getFirst("webhook-id");
                int code;
                synchronized (seen) {
                    code = seen.merge(id == null ? "" : id, 1, Integer::sum) == 1 ? 500 : 200;
                }
                received.add(new Received(id, x.getRequestHeaders().getFirst("webhook-timestamp"),
                        x.getRequestHeaders().getFirst("webhook-signature"), body, code, Instant.now()));
                x.sendResponseHeaders(code, -1);
                x.close();
            });
            server.start();
        }

        List<Received> accepted() {
            synchronized (received) {
                return received.stream().filter(r -> r.answered() == 200).toList();
            }
        }
    }

    static {
        try {
            ADAPTERS = Files.createTempDirectory("caravan-webhook-adapters");
            Files.writeString(ADAPTERS.resolve("hook.yaml"), """
                    id: hook
                    kind: webhook
                    baa: { status: none }
                    webhook: { url: "http://127.0.0.1:%d/hooks", secretEnv: CARAVAN_TEST_HOOK_SECRET }
                    stream:
                      events: [patient.registered]
                    """.formatted(RECEIVER.server.getAddress().getPort()));
            Files.writeString(ADAPTERS.resolve("stubborn.yaml"), """
                    id: stubborn
                    kind: webhook
                    baa: { status: none }
                    webhook: { url: "http://127.0.0.1:%d/stubborn", secretEnv: CARAVAN_TEST_HOOK_SECRET }
                    stream:
                      events: [patient.registered]
                    """.formatted(RECEIVER.server.getAddress().getPort()));
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        HUB.register(r);
        r.add("caravan.mapping.adapters-dir", ADAPTERS::toString);
        r.add("caravan.event-log.poll-interval", () -> "50ms");
        r.add("caravan.streams.webhook.poll-interval", () -> "50");
        r.add("caravan.streams.webhook.retry-initial", () -> "200ms");
        // the retry window of the issue is 3 days; here a few seconds, so giving up can be watched
        r.add("caravan.streams.webhook.give-up-after", () -> "4s");
        r.add("CARAVAN_TEST_HOOK_SECRET", () -> SECRET);
    }

    @AfterAll
    static void stop() {
        RECEIVER.server.stop(0);
    }

    @Autowired
    TestRestTemplate rest;
    @Autowired
    Surrogates surrogates;

    /** The receiver's own check, written from the convention, not from the hub's signer. */
    static boolean verified(Received r) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        byte[] expected = mac.doFinal((r.id() + "." + r.timestamp() + "." + new String(r.body(),
                StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8));
        for (String part : r.signature().split(" ")) {
            if (part.startsWith("v1,") && MessageDigest.isEqual(expected,
                    Base64.getDecoder().decode(part.substring(3)))) {
                return true;
            }
        }
        return false;
    }

    static String surrogateIn(Received r) throws Exception {
        return JSON.readTree(r.body()).at("/contact/id").asText();
    }

    @Test
    void eachEventIsAcceptedOnceAndSignedThroughA500() throws Exception {
        List<UUID> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ids.add(HubApi.register(HUB, rest, "WH-10" + i, "Hookham", "Ada", "ada" + i + "@example.org", ""));
        }
        List<String> expected = ids.stream().map(id -> surrogates.surrogate("hook", id).toString()).toList();
        await().atMost(Duration.ofSeconds(30)).until(() -> RECEIVER.accepted().stream().filter(r -> {
            try {
                return expected.contains(surrogateIn(r));
            } catch (Exception e) {
                return false;
            }
        }).count() >= 3);

        List<Received> mine = new ArrayList<>();
        for (Received r : new ArrayList<>(RECEIVER.received)) {
            if (expected.contains(surrogateIn(r))) {
                mine.add(r);
            }
        }
        for (Received r : mine) {
            assertThat(verified(r)).as("signature of %s", r.id()).isTrue();
            assertThat(Math.abs(Long.parseLong(r.timestamp()) - r.at().getEpochSecond())).isLessThan(300);
            assertThat(new String(r.body(), StandardCharsets.UTF_8)).doesNotContain("Hookham", "WH-10",
                    "@example.org");
        }
        List<Received> accepted = mine.stream().filter(r -> r.answered() == 200).toList();
        // each event once, each after its 500. Order holds per contact (the event log is partitioned by contact, as a
        // Kafka topic would be): these are three patients, so any order; one contact's order is WebhookKillNineIT's
        assertThat(accepted).hasSize(3);
        assertThat(accepted.stream().map(r -> {
            try {
                return surrogateIn(r);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }).toList()).containsExactlyInAnyOrderElementsOf(expected);
        assertThat(accepted.stream().map(Received::id).distinct()).hasSize(3);
        for (Received a : accepted) {
            assertThat(mine.stream().filter(r -> r.id().equals(a.id()))).extracting(Received::answered)
                    .containsExactly(500, 200);
        }
    }

    @Test
    void opensslAgreesWithTheSignature() throws Exception {
        UUID id = HubApi.register(HUB, rest, "WH-200", "Sslworth", "Otto", "otto@example.org", "");
        String surrogate = surrogates.surrogate("hook", id).toString();
        await().atMost(Duration.ofSeconds(30)).until(() -> RECEIVER.accepted().stream().anyMatch(r -> {
            try {
                return surrogate.equals(surrogateIn(r));
            } catch (Exception e) {
                return false;
            }
        }));
        Received r = RECEIVER.accepted().stream().filter(x -> {
            try {
                return surrogate.equals(surrogateIn(x));
            } catch (Exception e) {
                return false;
            }
        }).findFirst().orElseThrow();
        Path signed = Files.createTempFile("webhook-signed", ".txt");
        Files.write(signed, (r.id() + "." + r.timestamp() + ".").getBytes(StandardCharsets.UTF_8));
        Files.write(signed, r.body(), java.nio.file.StandardOpenOption.APPEND);
        ProcessBuilder pb = new ProcessBuilder("sh", "-c",
                "openssl dgst -sha256 -hmac \"$SECRET\" -binary \"$FILE\" | base64 -w0");
        pb.environment().put("SECRET", SECRET);
        pb.environment().put("FILE", signed.toString());
        Process run = pb.redirectErrorStream(true).start();
        assertThat(run.waitFor(20, TimeUnit.SECONDS)).isTrue();
        String out = new String(run.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertThat(r.signature()).isEqualTo("v1," + out);
    }

    @Test
    void aReplaySendsTheEventsAgainWithTheirIds() throws Exception {
        Instant before = Instant.now().minusSeconds(1);
        UUID id = HubApi.register(HUB, rest, "WH-300", "Replayne", "Rita", "rita@example.org", "");
        String surrogate = surrogates.surrogate("hook", id).toString();
        java.util.function.Supplier<List<Received>> ritas = () -> RECEIVER.accepted().stream().filter(x -> {
            try {
                return surrogate.equals(surrogateIn(x));
            } catch (Exception e) {
                return false;
            }
        }).toList();
        await().atMost(Duration.ofSeconds(30)).until(() -> ritas.get().size() == 1);

        assertThat(post(rest.withBasicAuth(TestHub.OPERATOR, TestHub.USER_PASSWORD),
                "/api/streams/hook/replay?from={f}", null, before.toString()).getStatusCode())
                .isEqualTo(HttpStatus.FORBIDDEN);
        ResponseEntity<String> replay = post(rest.withBasicAuth(TestHub.INTEGRATION, TestHub.USER_PASSWORD),
                "/api/streams/hook/replay?from={f}", null, before.toString());
        assertThat(replay.getStatusCode()).isEqualTo(HttpStatus.ACCEPTED);
        assertThat(JSON.readTree(replay.getBody()).get("replayed").asInt()).isGreaterThanOrEqualTo(1);
        await().atMost(Duration.ofSeconds(30)).until(() -> ritas.get().size() == 2);
        assertThat(ritas.get().get(1).id()).isEqualTo(ritas.get().get(0).id());
        assertThat(verified(ritas.get().get(1))).isTrue();

        assertThat(post(rest.withBasicAuth(TestHub.INTEGRATION, TestHub.USER_PASSWORD),
                "/api/streams/nowhere/replay?from={f}", null, before.toString()).getStatusCode())
                .isEqualTo(HttpStatus.NOT_FOUND);
        ResponseEntity<String> bad = post(rest.withBasicAuth(TestHub.INTEGRATION, TestHub.USER_PASSWORD),
                "/api/streams/hook/replay?from=yesterday", null);
        assertThat(bad.getStatusCode()).isEqualTo(HttpStatus.BAD_REQUEST);
        assertThat(bad.getBody()).contains("from");
    }

    @Test
    void anEventStillRefusedAtTheEndOfItsRetryWindowIsGivenUpAndAReplaySendsItAgain() throws Exception {
        Instant before = Instant.now().minusSeconds(1);
        RECEIVER.refuse = true;
        UUID refused;
        try {
            refused = HubApi.register(HUB, rest, "WH-500", "Givenup", "Gil", "gil@example.org", "");
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                JsonNode s = stubbornStatus();
                assertThat(s.get("givenUp").asLong()).isGreaterThanOrEqualTo(1);
                assertThat(s.get("lastError").asText()).isEqualTo("HTTP 503");
            });
        } finally {
            RECEIVER.refuse = false;
        }
        String gil = surrogates.surrogate("stubborn", refused).toString();
        List<Received> attempts = RECEIVER.stubborn.stream().filter(r -> body(r).contains(gil)).toList();
        assertThat(attempts).as("retried with backoff before giving up").hasSizeGreaterThan(1)
                .allMatch(r -> r.answered() == 503);
        assertThat(attempts.stream().map(Received::id).distinct()).hasSize(1);

        // given up, it no longer holds the destination: the next event goes
        UUID next = HubApi.register(HUB, rest, "WH-501", "Nextly", "Nia", "nia@example.org", "");
        String nia = surrogates.surrogate("stubborn", next).toString();
        await().atMost(Duration.ofSeconds(20)).until(() -> RECEIVER.stubborn.stream()
                .anyMatch(r -> r.answered() == 200 && body(r).contains(nia)));

        assertThat(post(rest.withBasicAuth(TestHub.INTEGRATION, TestHub.USER_PASSWORD),
                "/api/streams/stubborn/replay?from={f}", null, before.toString()).getStatusCode())
                .isEqualTo(HttpStatus.ACCEPTED);
        await().atMost(Duration.ofSeconds(20)).until(() -> RECEIVER.stubborn.stream()
                .anyMatch(r -> r.answered() == 200 && body(r).contains(gil)));
        assertThat(RECEIVER.stubborn.stream().filter(r -> r.answered() == 200 && body(r).contains(gil))
                .map(Received::id).findFirst()).contains(attempts.get(0).id());
        assertThat(stubbornStatus().get("givenUp").asLong()).isZero();
    }

    static String body(Received r) {
        return new String(r.body(), StandardCharsets.UTF_8);
    }

    JsonNode stubbornStatus() throws Exception {
        JsonNode all = JSON.readTree(rest.withBasicAuth(TestHub.OPERATOR, TestHub.USER_PASSWORD)
                .getForObject("/api/streams", String.class));
        for (JsonNode n : all) {
            if ("stubborn".equals(n.get("destination").asText())) {
                return n;
            }
        }
        throw new AssertionError("no stubborn destination in " + all);
    }

    @Test
    void theStatusShowsLagBacklogAndTheLastError() throws Exception {
        UUID id = HubApi.register(HUB, rest, "WH-400", "Statusby", "Sam", "sam@example.org", "");
        String surrogate = surrogates.surrogate("hook", id).toString();
        await().atMost(Duration.ofSeconds(30)).until(() -> RECEIVER.accepted().stream().anyMatch(r -> {
            try {
                return surrogate.equals(surrogateIn(r));
            } catch (Exception e) {
                return false;
            }
        }));
        assertThat(rest.getForEntity("/api/streams", String.class).getStatusCode())
                .isEqualTo(HttpStatus.UNAUTHORIZED);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            JsonNode all = JSON.readTree(rest.withBasicAuth(TestHub.OPERATOR, TestHub.USER_PASSWORD)
                    .getForObject("/api/streams", String.class));
            JsonNode hook = null;
            for (JsonNode n : all) {
                if ("hook".equals(n.get("destination").asText())) {
                    hook = n;
                }
            }
            assertThat(hook).isNotNull();
            assertThat(hook.get("destination").asText()).isEqualTo("hook");
            assertThat(hook.get("channel").asText()).isEqualTo("webhook:hook");
            assertThat(hook.get("form").asText()).isEqualTo("deidentified");
            assertThat(hook.get("lag").asLong()).isZero();
            assertThat(hook.get("backlog").asLong()).isZero();
            assertThat(hook.get("lastError").asText()).isEqualTo("HTTP 500");
            assertThat(hook.hasNonNull("lastDelivered")).isTrue();
        });
    }
}
