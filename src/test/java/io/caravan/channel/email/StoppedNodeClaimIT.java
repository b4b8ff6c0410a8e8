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
 * Two hub processes of the {@code cluster} profile; node a is killed with SIGKILL while its send gate holds a message
 * on the wire (the relay has the DATA and has not answered). The message is node a's claim for two minutes; once the
 * cluster's job store has recovered node a, node b takes the claim over and sends the message - within about half a
 * minute, not when the claim runs out - and the relay takes one copy.
 */
class StoppedNodeClaimIT {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String TO = "claim.takeover@example.org";

    // under target/, not a JUnit temp dir: the nodes' logs stay for whoever reads a failure
    final Path tmp = Path.of("target", "stopped-node-claim-it", UUID.randomUUID().toString()).toAbsolutePath();

    @Test
    void aMessageOnTheWireOfAKilledNodeGoesFromTheSurvivorOnceTheClusterRecoveredTheNode() throws Exception {
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
            try (HubProcess a = new HubProcess(data.get(0), url, args);
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
                HttpResponse<String> planned = a.post("/api/messages", """
                        {"contactId": "%s", "template": "appointment-reminder-notice", "channel": "email",
                         "purpose": "treatment", "data": {"clinicPhone": "+1 217 555 0100"}}"""
                        .formatted(found.get(0).get("id").asText()));
                assertThat(planned.statusCode()).as(planned.body()).isEqualTo(202);
                String id = JSON.readTree(planned.body()).get("id").asText();

                onWire.get(60, TimeUnit.SECONDS);
                Instant kill = Instant.now();
                a.kill9();
                killed.countDown();

                // the claim lasts two minutes from before the kill; the survivor sends well before that
                Awaitility.await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofSeconds(1)).until(() ->
                        JSON.readTree(b.get("/api/messages/" + id)).get("status").asText().equals("sent"));
                Duration took = Duration.between(kill, Instant.now());
                assertThat(took).as("sent from the survivor after the kill").isLessThan(Duration.ofSeconds(90));
                assertThat(Files.readString(b.log())).contains("Message " + id + " taken over from stopped node");
                Thread.sleep(2_000);
                assertThat(relay.received.stream().filter(r -> r.to().equals(TO)).count())
                        .as("copies the relay accepted").isEqualTo(1);
                assertThat(HubProcess.errorLines(b.log())).as("node b's log").isEmpty();
                System.out.println("stopped-node claim: sent " + took.toSeconds() + " s after the kill");
            }
        }
    }
}
