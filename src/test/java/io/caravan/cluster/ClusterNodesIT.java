package io.caravan.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.support.HubProcess;
import io.caravan.support.Hl7Messages;
import io.caravan.support.MllpTestClient;
import io.caravan.support.PostgresSupport;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * Two hub processes of the {@code cluster} profile on one PostgreSQL database, as an operator runs them behind a load
 * balancer: both take HL7 at once and neither logs an error (the segment index's subscriber, its start-up work, the
 * journeys all meet the other node's work). Then one node is killed with SIGKILL mid-traffic: the work that runs on
 * one node at a time (here the segment index's cursor) carries on on the survivor within a bounded time.
 */
class ClusterNodesIT {

    static final ObjectMapper JSON = new ObjectMapper();

    // under target/, not a JUnit temp dir: the two nodes' logs stay for whoever reads a failure
    final Path tmp = Path.of("target", "cluster-it", UUID.randomUUID().toString()).toAbsolutePath();

    final String url = PostgresSupport.newDatabase();

    @Test
    void twoNodesWorkWithoutErrorsAndTheSurvivorTakesOverTheSingletons() throws Exception {
        String masterKey = "cluster-master-key-" + UUID.randomUUID();
        List<Path> data = HubProcess.nodeDirs(tmp, masterKey, "a", "b");
        Path dataA = data.get(0);
        Path dataB = data.get(1);
        try (HubProcess a = new HubProcess(dataA, url, "--spring.profiles.include=cluster");
                HubProcess b = new HubProcess(dataB, url, "--spring.profiles.include=cluster")) {
            // one after the other: two starts at once on a loaded 2-core machine outlast HubProcess's deadline
            a.start();
            b.start();

            // three senders per node, as feeds behind a load balancer: both nodes' subscribers see events at once
            List<CompletableFuture<Void>> senders = new java.util.ArrayList<>();
            for (int i = 0; i < 3; i++) {
                String n = String.valueOf(i);
                senders.add(CompletableFuture.runAsync(() -> register(a, "NA" + n, 30)));
                senders.add(CompletableFuture.runAsync(() -> register(b, "NB" + n, 30)));
            }
            senders.forEach(CompletableFuture::join);
            // both nodes see each other check in, and the subscriber's singleton is a trigger of their one store
            JsonNode cluster = JSON.readTree(b.get("/api/cluster"));
            assertThat(cluster.get("nodes")).hasSize(2);
            cluster.get("nodes").forEach(n -> assertThat(n.get("alive").asBoolean()).as(n.toString()).isTrue());
            assertThat(cluster.get("singletons").findValuesAsText("name")).contains("event-pump/segment-index",
                    "workflow/tick");
            // every contact indexed once for segments, whichever node holds the subscriber's trigger
            awaitIndexed(Duration.ofSeconds(60));
            // the next rounds of the journeys and the subscribers run on what the other node stored too
            Thread.sleep(5_000);
            assertThat(HubProcess.errorLines(a.log())).as("node a's log").isEmpty();
            assertThat(HubProcess.errorLines(b.log())).as("node b's log").isEmpty();

            // node a dies mid-traffic; what it may have been running moves to b
            CompletableFuture<Void> more = CompletableFuture.runAsync(() -> register(b, "NC", 10));
            a.kill9();
            more.join();
            awaitIndexed(Duration.ofSeconds(60));
            // Quartz's failure test on the survivor: the dead node is recovered and gone from the cluster
            Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
                JsonNode now = JSON.readTree(b.get("/api/cluster"));
                assertThat(now.get("nodes")).hasSize(1);
                assertThat(now.get("nodes").get(0).get("self").asBoolean()).isTrue();
            });
            assertThat(HubProcess.errorLines(b.log())).as("node b's log").isEmpty();
        }
    }

    private void awaitIndexed(Duration limit) {
        Awaitility.await().atMost(limit).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            long contacts = count("SELECT COUNT(*) FROM contact");
            assertThat(contacts).isPositive();
            assertThat(count("SELECT COUNT(*) FROM segment_attribute")).isEqualTo(contacts);
        });
    }

    private long count(String sql) throws Exception {
        return PostgresSupport.count(url, sql);
    }

    private static void register(HubProcess hub, String prefix, int n) {
        try (MllpTestClient c = new MllpTestClient(hub.mllpPort)) {
            for (int i = 0; i < n; i++) {
                String mrn = prefix + System.nanoTime() % 1_000_000_000L;
                assertThat(MllpTestClient.msa1(c.exchange(Hl7Messages.a04(Hl7Messages.controlId(), mrn,
                        "Fam" + prefix + i, "Given", "p" + mrn.toLowerCase() + "@example.org"), 60_000)))
                        .isEqualTo("AA");
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
