package io.caravan.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.caravan.support.Hl7Messages;
import io.caravan.support.HubProcess;
import io.caravan.support.MllpTestClient;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The hub killed with SIGKILL while it is delivering a webhook backlog, then started again: every event arrives, each
 * contact's events in order, and a duplicate only as a resend of the same event (same id, same body).
 */
class WebhookKillNineIT {

    static final ObjectMapper JSON = new ObjectMapper();
    static final int PATIENTS = 15;

    record Got(String id, String body) {
    }

    @Test
    void killedWhileDeliveringEveryEventArrivesInOrderPerContact() throws Exception {
        List<Got> got = Collections.synchronizedList(new ArrayList<>());
        HttpServer receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        receiver.createContext("/hooks", x -> {
            byte[] body = x.getRequestBody().readAllBytes();
            try {
                Thread.sleep(40); // a slow receiver: the backlog is still draining when the hub dies
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            got.add(new Got(x.getRequestHeaders().getFirst("webhook-id"), new String(body)));
            x.sendResponseHeaders(204, -1);
            x.close();
        });
        receiver.start();
        Path root = Files.createTempDirectory("caravan-webhook-kill");
        Path data = root.resolve("data");
        Path adapters = Files.createDirectories(root.resolve("adapters"));
        Files.writeString(adapters.resolve("hook.yaml"), """
                id: hook
                kind: webhook
                baa: { status: none }
                webhook: { url: "http://127.0.0.1:%d/hooks", secretEnv: CARAVAN_TEST_HOOK_SECRET }
                stream:
                  events: [patient.registered, patient.updated]
                """.formatted(receiver.getAddress().getPort()));
        String[] args = {"--caravan.mapping.adapters-dir=" + adapters,
                "--CARAVAN_TEST_HOOK_SECRET=a-kill-nine-test-signing-secret", "--caravan.streams.webhook.poll-interval=20",
                "--caravan.event-log.poll-interval=50ms"};
        try (HubProcess hub = new HubProcess(data, null, args)) {
            hub.start();
            try (MllpTestClient c = new MllpTestClient(hub.mllpPort)) {
                for (int i = 0; i < PATIENTS; i++) {
                    String mrn = "KN-" + (100 + i);
                    assertThat(MllpTestClient.msa1(c.exchange(Hl7Messages.a04(Hl7Messages.controlId(), mrn,
                            "Killington", "Ned", "ned@example.org"), 10_000))).isEqualTo("AA");
                    assertThat(MllpTestClient.msa1(c.exchange(Hl7Messages.adt("A08", Hl7Messages.controlId(), mrn,
                            "Killington", "Ned", "ned@example.org", OffsetDateTime.parse("2026-03-02T09:00:00-05:00")),
                            10_000))).isEqualTo("AA");
                }
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> got.size() >= 8);
            hub.kill9();
            int before = got.size();
            assertThat(before).as("killed mid-stream").isLessThan(2 * PATIENTS);
        }
        try (HubProcess again = new HubProcess(data, null, args)) {
            again.start();
            await().atMost(Duration.ofSeconds(90)).until(() -> distinct(got).size() >= 2 * PATIENTS);
            Thread.sleep(1000);
        } finally {
            receiver.stop(0);
        }

        Map<String, String> byId = new LinkedHashMap<>();
        for (Got g : got) {
            String earlier = byId.putIfAbsent(g.id(), g.body());
            if (earlier != null) {
                assertThat(g.body()).as("a duplicate is a resend of the same event").isEqualTo(earlier);
            }
        }
        assertThat(byId).hasSize(2 * PATIENTS);
        Map<String, List<String>> perContact = new LinkedHashMap<>();
        for (String body : byId.values()) {
            JsonNode n = JSON.readTree(body);
            perContact.computeIfAbsent(n.at("/contact/id").asText(), k -> new ArrayList<>())
                    .add(n.get("type").asText());
        }
        assertThat(perContact).hasSize(PATIENTS);
        perContact.values().forEach(types -> assertThat(types).containsExactly("patient.registered",
                "patient.updated"));
    }

    static Map<String, Got> distinct(List<Got> got) {
        Map<String, Got> m = new LinkedHashMap<>();
        synchronized (got) {
            got.forEach(g -> m.putIfAbsent(g.id(), g));
        }
        return m;
    }
}
