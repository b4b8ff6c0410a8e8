package io.caravan.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.support.Hl7Messages;
import io.caravan.support.HubProcess;
import io.caravan.support.MllpTestClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a service manager's stop does to a busy hub: SIGTERM while four senders stream ADTs. The hub stops taking
 * messages, finishes the ones under way and exits 0 in bounded time, without an error in its log; after a restart on
 * the same data directory every message it ACKed AA is there.
 */
class GracefulShutdownIT {

    @Test
    void sigtermMidLoadExitsZeroAndKeepsEveryAcknowledgedMessage(@TempDir Path tmp) throws Exception {
        Path data = tmp.resolve("data");
        Files.createDirectories(data);
        Map<String, Boolean> acked = new ConcurrentHashMap<>();
        try (HubProcess hub = new HubProcess(data, null)) {
            hub.start();
            long logBefore = Files.size(hub.log());
            AtomicBoolean stop = new AtomicBoolean();
            CountDownLatch warm = new CountDownLatch(200);
            List<Thread> senders = new ArrayList<>();
            for (int s = 0; s < 4; s++) {
                Thread t = new Thread(() -> {
                    try (MllpTestClient c = new MllpTestClient(hub.mllpPort)) {
                        while (!stop.get()) {
                            String ctl = Hl7Messages.controlId();
                            String mrn = "TERM-" + ctl;
                            String ack = c.exchange(Hl7Messages.a04(ctl, mrn, "Term", "Sig", "t@example.org"), 30_000);
                            if (ack == null) {
                                return; // the hub closed the connection
                            }
                            if ("AA".equals(MllpTestClient.msa1(ack))) {
                                acked.put(mrn, true);
                                warm.countDown();
                            }
                        }
                    } catch (Exception closed) {
                        // connection closed or refused by the stopping hub
                    }
                });
                t.start();
                senders.add(t);
            }
            warm.await();
            long t0 = System.nanoTime();
            int exit = hub.terminate(Duration.ofSeconds(60));
            long took = Duration.ofNanos(System.nanoTime() - t0).toSeconds();
            stop.set(true);
            for (Thread t : senders) {
                t.join(40_000);
            }
            assertThat(exit).as("exit code after SIGTERM (took %d s)", took).isZero();

            String shutdownLog = new String(Files.readAllBytes(hub.log()), StandardCharsets.UTF_8)
                    .substring((int) logBefore);
            assertThat(shutdownLog).as("the hub's log from load to exit").doesNotContain(" ERROR ")
                    .doesNotContainPattern("(?m)^\\s+at [a-z]").doesNotContain("Exception");

            hub.start();
            assertThat(acked).hasSizeGreaterThanOrEqualTo(200);
            for (String mrn : acked.keySet()) {
                assertThat(KillNineContract.eventsOf(hub, mrn)).as("ACKed " + mrn + " after SIGTERM").isEqualTo(1);
            }
        }
    }
}
