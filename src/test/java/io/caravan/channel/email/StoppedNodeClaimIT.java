package io.caravan.channel.email;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.support.HubProcess;
import io.caravan.support.Hl7Messages;
import io.caravan.support.MllpTestClient;
import io.caravan.support.PostgresSupport;
import io.caravan.support.RelayAdapters;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * Two hub processes of the {@code cluster} profile; node a (one send consumer) is killed with SIGKILL while its send
 * gate holds a message on the wire (the relay has the DATA and has not answered) and a second waits in its send queue.
 * The first is node a's claim for two minutes, the second would be found stranded after a minute; once the cluster's
 * job store has recovered node a, node b sends both - within about half a minute - and the relay takes one copy of
 * each.
 */
class StoppedNodeClaimIT {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String TO = "claim.takeover@example.org";

    // under target/, not a JUnit temp dir: the nodes' logs stay for whoever reads a failure
    final Path tmp = Path.of("target", "stopped-node-claim-it", UUID.randomUUID().toString()).toAbsolutePath();

    static String status(HubProcess hub, String message) throws Exception {
        return JSON.readTree(hub.get("/api/messages/" + message)).get("status").asText();
    }

    @Test
    void whatAKilledNodeHeldGoesFromTheSurvivorOnceTheClusterRecoveredTheNode() throws Exception {
        String url = PostgresSupport.newDatabase();
        Path ca = TestSmtpServers.caAndServer(Files.createDirectories(tmp.resolve("certs")));
        CountDownLatch killed = new CountDownLatch(1);
        CompletableFuture<Void> onWire = new CompletableFuture<>();
        try (TestSmtpServers.StartTls relay = new TestSmtpServers.StartTls(
                TestSmtpServers.tls(tmp.resolve("certs/server.p12")))) {
            // the first copy stays unanswered until node a is dead, then is refused (its sender is gone)
            relay.verdict = r -> {
                if (r.to().equals(TO) && onWire.complete(null)) {
                    try {
                        killed.await(60, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    return 421;
                }
                return 0;
            };
            Path adapters = RelayAdapters.smtp(tmp.resolve("adapters"), "mail", relay.port(),
                    "trustCertificates: " + ca);
            Path workflows = Files.createDirectories(tmp.resolve("no-workflows"));
            List<Path> data = HubProcess.nodeDirs(tmp, "claim-master-key-" + UUID.randomUUID(), "a", "b");
            String[] args = {"--spring.profiles.include=cluster", "--caravan.mapping.adapters-dir=" + adapters,
                    "--caravan.email.relay=mail", "--caravan.workflow.dir=" + workflows};
            String[] argsA = java.util.stream.Stream.concat(java.util.Arrays.stream(args),
                    java.util.stream.Stream.of("--caravan.send.consumers=1")).toArray(String[]::new);
            try (HubProcess a = new HubProcess(data.get(0), url, argsA);
                    HubProcess b = new HubProcess(data.get(1), url, args)) {
                a.start();
                b.start();
                String mrn = "CLAIM-" + System.nanoTime() % 1_000_000L;
                try (MllpTestClient c = new MllpTestClient(a.mllpPort)) {
                    assertThat(MllpTestClient.msa1(c.exchange(Hl7Messages.a04(Hl7Messages.controlId(), mrn,
                            "Quillon", "Tamsin", TO), 10_000))).isEqualTo("AA");
                }
                JsonNode found = JSON.readTree(a.get("/api/contacts?identifier=MERCY%7C" + mrn));
                assertThat(found.size()).as(found.toString()).isEqualTo(1);
                String body = """
                        {"contactId": "%s", "template": "appointment-reminder-notice", "channel": "email",
                         "purpose": "treatment", "data": {"clinicPhone": "+1 217 555 0100"}}"""
                        .formatted(found.get(0).get("id").asText());
                HttpResponse<String> first = a.post("/api/messages", body);
                assertThat(first.statusCode()).as(first.body()).isEqualTo(202);
                onWire.get(60, TimeUnit.SECONDS);
                // the one send consumer is on the wire: the second message waits in node a's queue, unclaimed
                HttpResponse<String> second = a.post("/api/messages", body);
                assertThat(second.statusCode()).as(second.body()).isEqualTo(202);
                List<String> ids = List.of(JSON.readTree(first.body()).get("id").asText(),
                        JSON.readTree(second.body()).get("id").asText());
                Thread.sleep(500);
                assertThat(status(b, ids.get(1))).isEqualTo("planned");

                Instant kill = Instant.now();
                a.kill9();
                killed.countDown();

                // the claim lasts two minutes from before the kill, the stranded sweep waits a minute; the survivor
                // sends both well before either. The relay's session thread may fail on node a's dropped connection:
                // that is this test's doing, not the hub's, so the await leaves other threads' exceptions alone
                Awaitility.await().dontCatchUncaughtExceptions().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofSeconds(1)).until(() ->
                        status(b, ids.get(0)).equals("sent") && status(b, ids.get(1)).equals("sent"));
                Duration took = Duration.between(kill, Instant.now());
                String log = Files.readString(b.log());
                assertThat(log).contains("Message " + ids.get(0) + " taken over from stopped node")
                        .contains("A node left the cluster");
                Thread.sleep(2_000);
                assertThat(relay.received.stream().filter(r -> r.to().equals(TO)).count())
                        .as("copies the relay accepted").isEqualTo(2);
                assertThat(HubProcess.errorLines(b.log())).as("node b's log").isEmpty();
                System.out.println("stopped-node claim: both sent " + took.toSeconds() + " s after the kill");
            }
        }
    }
}
