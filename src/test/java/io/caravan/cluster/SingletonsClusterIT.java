package io.caravan.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.caravan.support.HubProcess;
import io.caravan.support.Hl7Messages;
import io.caravan.support.MllpTestClient;
import io.caravan.support.PostgresSupport;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * The periodic singletons on two hub processes of the {@code cluster} profile sharing one PostgreSQL database: the
 * webhook destination's outbox is drained by one node at a time (each event POSTed once, in the outbox's order, not
 * by both nodes racing over the same rows), and the audit outbox (entries another writer committed with its data, here
 * the restriction changes of PD1-12) is moved into the one chain by one node at a time - every entry once, the chain
 * valid, and no node's move rolled back because the other had moved the same entries first. Then one node is killed
 * with SIGKILL: the survivor drains both outboxes on its own.
 */
class SingletonsClusterIT {

    static final ObjectMapper JSON = new ObjectMapper();
    static final int PATIENTS_PER_NODE = 25;
    static final int RESTRICTED_PER_NODE = 15;

    final Path tmp = Path.of("target", "singletons-it", UUID.randomUUID().toString()).toAbsolutePath();

    final String url = PostgresSupport.newDatabase();

    @Test
    void twoNodesDrainEachOutboxOnceAndInOrder() throws Exception {
        List<String> got = Collections.synchronizedList(new ArrayList<>());
        HttpServer receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        receiver.createContext("/hooks", x -> {
            x.getRequestBody().readAllBytes();
            try {
                Thread.sleep(15); // a receiver that takes its time: a drain is still going when the next tick comes
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            got.add(x.getRequestHeaders().getFirst("webhook-id"));
            x.sendResponseHeaders(204, -1);
            x.close();
        });
        receiver.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(4));
        receiver.start();
        String masterKey = "singletons-master-key-" + UUID.randomUUID();
        Path adapters = Files.createDirectories(tmp.resolve("adapters"));
        Files.writeString(adapters.resolve("hook.yaml"), """
                id: hook
                kind: webhook
                baa: { status: none }
                webhook: { url: "http://127.0.0.1:%d/hooks", secretEnv: CARAVAN_TEST_HOOK_SECRET }
                stream:
                  events: [patient.registered]
                """.formatted(receiver.getAddress().getPort()));
        List<Path> data = HubProcess.nodeDirs(tmp, masterKey, "a", "b");
        Path dataA = data.get(0);
        Path dataB = data.get(1);
        String[] args = {"--spring.profiles.include=cluster", "--caravan.mapping.adapters-dir=" + adapters,
                "--CARAVAN_TEST_HOOK_SECRET=a-singletons-test-signing-secret",
                "--caravan.streams.webhook.poll-interval=50", "--caravan.event-log.poll-interval=100ms"};
        try (HubProcess a = new HubProcess(dataA, url, args); HubProcess b = new HubProcess(dataB, url, args)) {
            a.start();
            b.start();

            // both nodes take registrations (an event for the webhook each) and registrations with a restriction
            // (PD1-12 = Y: not streamed, an audit outbox entry each, committed on the node that took the message)
            List<CompletableFuture<Void>> senders = new ArrayList<>();
            senders.add(CompletableFuture.runAsync(() -> register(a, "SA", PATIENTS_PER_NODE, false)));
            senders.add(CompletableFuture.runAsync(() -> register(b, "SB", PATIENTS_PER_NODE, false)));
            senders.add(CompletableFuture.runAsync(() -> register(a, "RA", RESTRICTED_PER_NODE, true)));
            senders.add(CompletableFuture.runAsync(() -> register(b, "RB", RESTRICTED_PER_NODE, true)));
            senders.forEach(CompletableFuture::join);

            Awaitility.await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500))
                    .untilAsserted(() -> {
                        assertThat(count("SELECT COUNT(*) FROM stream_outbox WHERE destination = 'hook'"))
                                .as("events for the webhook").isEqualTo(2 * PATIENTS_PER_NODE);
                        assertThat(count("SELECT COUNT(*) FROM stream_outbox WHERE destination = 'hook'"
                                + " AND delivered_at IS NULL")).as("webhook events not delivered").isZero();
                        assertThat(count("SELECT COUNT(*) FROM audit_outbox")).as("audit outbox").isZero();
                    });
            Thread.sleep(2_000); // a second node's late drain would show up now

            List<String> outboxOrder = ids("SELECT event_id FROM stream_outbox WHERE destination = 'hook' ORDER BY seq");
            List<String> received;
            synchronized (got) {
                received = List.copyOf(got);
            }
            assertThat(new LinkedHashSet<>(received)).as("every event arrived").hasSize(2 * PATIENTS_PER_NODE);
            assertThat(received).as("each event POSTed once, in the outbox's order").isEqualTo(outboxOrder);

            // one chain entry per restriction change, the chain whole on either node
            assertThat(count("SELECT COUNT(*) FROM audit_entry WHERE action = 'consent.changed'"))
                    .isEqualTo(2 * RESTRICTED_PER_NODE);
            assertThat(a.get("/api/audit/verify")).contains("\"valid\":true");
            assertThat(b.get("/api/audit/verify")).contains("\"valid\":true");

            JsonNode cluster = JSON.readTree(a.get("/api/cluster"));
            assertThat(cluster.get("singletons").findValuesAsText("name")).contains("singleton/stream-webhooks",
                    "singleton/stream-kafka", "singleton/audit-outbox", "singleton/campaigns");

            assertThat(HubProcess.errorLines(a.log())).as("node a's log").isEmpty();
            assertThat(HubProcess.errorLines(b.log())).as("node b's log").isEmpty();

            // node a dies (SIGKILL) with the outbox drained: the drains' triggers fire on b once Quartz finds a gone
            a.kill9();
            register(b, "SC", 10, false);
            register(b, "RC", 5, true);
            // the stream's subscriber runs on a's Quartz trigger until b's scheduler finds a gone and recovers it:
            // wait for the new events in the outbox, not only for an outbox with nothing undelivered
            Awaitility.await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500))
                    .untilAsserted(() -> {
                        assertThat(count("SELECT COUNT(*) FROM stream_outbox WHERE destination = 'hook'"))
                                .as("events for the webhook").isEqualTo(2 * PATIENTS_PER_NODE + 10);
                        assertThat(count("SELECT COUNT(*) FROM stream_outbox WHERE destination = 'hook'"
                                + " AND delivered_at IS NULL")).as("webhook events not delivered").isZero();
                        assertThat(count("SELECT COUNT(*) FROM audit_outbox")).as("audit outbox").isZero();
                    });
            List<String> all = ids("SELECT event_id FROM stream_outbox WHERE destination = 'hook' ORDER BY seq");
            assertThat(all).hasSize(2 * PATIENTS_PER_NODE + 10);
            synchronized (got) {
                received = List.copyOf(got);
            }
            assertThat(received).as("after the kill too, each event once and in order").isEqualTo(all);
            assertThat(b.get("/api/audit/verify")).contains("\"valid\":true");
            assertThat(HubProcess.errorLines(b.log())).as("node b's log").isEmpty();
        } finally {
            receiver.stop(0);
        }
    }

    private long count(String sql) throws Exception {
        return PostgresSupport.count(url, sql);
    }

    private List<String> ids(String sql) throws Exception {
        List<String> out = new ArrayList<>();
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    private static void register(HubProcess hub, String prefix, int n, boolean restricted) {
        try (MllpTestClient c = new MllpTestClient(hub.mllpPort)) {
            for (int i = 0; i < n; i++) {
                String mrn = prefix + i + "-" + System.nanoTime() % 1_000_000L;
                // PD1-12 protection indicator Y: the new contact's restrictions change, recorded through the outbox
                // (and a restricted patient is left out of the stream)
                String msg = Hl7Messages.a04(Hl7Messages.controlId(), mrn, "Single" + prefix, "Ton",
                        "s" + mrn.toLowerCase() + "@example.org");
                if (restricted) {
                    msg = msg.replace("PV1|", "PD1" + "|".repeat(12) + "Y\rPV1|");
                }
                assertThat(MllpTestClient.msa1(c.exchange(msg, 10_000))).isEqualTo("AA");
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
