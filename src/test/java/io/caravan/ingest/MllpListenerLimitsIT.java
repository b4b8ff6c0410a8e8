package io.caravan.ingest;

import static io.caravan.support.MllpTestClient.msa1;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.caravan.support.Hl7Messages;
import io.caravan.support.MllpTestClient;
import io.caravan.support.TestHub;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The listener's limits against a sender that misbehaves on purpose: bytes trickled to hold a frame open, more such
 * sockets than there are connection slots, frames that together would fill the heap.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@ExtendWith(OutputCaptureExtension.class)
class MllpListenerLimitsIT {

    static final int MAX_CONNECTIONS = 8;
    static final int PER_SOURCE = 6;

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        TestHub.named("limits").register(r); // frame timeout 2 s, idle timeout 3 s
        r.add("caravan.mllp.max-connections", () -> MAX_CONNECTIONS);
        r.add("caravan.mllp.max-connections-per-source", () -> PER_SOURCE);
        r.add("caravan.mllp.max-frame-bytes", () -> 2 * 1024 * 1024);
        r.add("caravan.mllp.memory-budget", () -> "3MB");
    }

    @Autowired
    MeterRegistry registry;

    int port() {
        return TestHub.named("limits").mllpPort;
    }

    /** Opens a frame and sends one more byte every {@code everyMillis}; returns when the hub closes the socket. */
    static long trickleUntilClosed(Socket s, int everyMillis, long giveUpMillis) throws IOException {
        long start = System.currentTimeMillis();
        OutputStream out = s.getOutputStream();
        InputStream in = s.getInputStream();
        out.write(0x0b);
        out.write("MSH|^~\\&|".getBytes());
        s.setSoTimeout(everyMillis);
        while (System.currentTimeMillis() - start < giveUpMillis) {
            try {
                if (in.read() < 0) {
                    break;
                }
            } catch (SocketTimeoutException stillOpen) {
                try {
                    out.write('x');
                    out.flush();
                } catch (IOException closed) {
                    break;
                }
            } catch (IOException reset) {
                break;
            }
        }
        return System.currentTimeMillis() - start;
    }

    @Test
    void aFrameTrickledByteByByteIsClosedAtTheFrameTimeoutCountedFromItsFirstByte() throws Exception {
        try (Socket s = new Socket("127.0.0.1", port())) {
            // a byte every 300 ms is well inside the 2 s frame timeout if it counted from the last byte
            long held = trickleUntilClosed(s, 300, 10_000);
            assertThat(held).isBetween(1_500L, 3_500L);
        }
    }

    @Test
    void slowLorisSocketsBeyondTheConnectionLimitDoNotLockALegitSenderOut() throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> loris = new ArrayList<>();
        for (int i = 0; i < 2 * MAX_CONNECTIONS; i++) {
            // two attacking hosts, each with more sockets than its share; they reconnect as soon as they are closed
            String from = i % 2 == 0 ? "127.0.0.1" : "127.0.0.3";
            Thread t = new Thread(() -> {
                while (!stop.get()) {
                    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port(), InetAddress.getByName(from),
                            0)) {
                        trickleUntilClosed(s, 300, 60_000);
                    } catch (IOException refused) {
                        // reconnect at once, as an attacker would
                    }
                }
            });
            t.setDaemon(true);
            t.start();
            loris.add(t);
        }
        try {
            await().atMost(Duration.ofSeconds(10)).until(() -> liveConnections() >= MAX_CONNECTIONS);
            Thread.sleep(500); // every slot taken by trickling sockets
            for (int i = 0; i < 3; i++) {
                String ctl = Hl7Messages.controlId();
                try (MllpTestClient c = new MllpTestClient(port(), "127.0.0.2")) {
                    String ack = c.exchange(Hl7Messages.a04(ctl, "MRN-L" + ctl, "Legit", "Sender", "l@example.org"),
                            5_000);
                    assertThat(ack).as("ACK for the legit sender, attempt %d", i).isNotNull();
                    assertThat(msa1(ack)).isEqualTo("AA");
                }
            }
        } finally {
            stop.set(true);
            for (Thread t : loris) {
                t.join(15_000);
            }
        }
    }

    @Test
    void oneAddressBeyondItsShareLosesItsOwnOldestConnectionNotAnotherAddresssSlot() throws Exception {
        List<Socket> held = new ArrayList<>();
        Counter evicted = registry.find("caravan.mllp.connections").tag("event", "evicted").counter();
        double before = evicted == null ? 0 : evicted.count();
        try {
            for (int i = 0; i < PER_SOURCE; i++) {
                held.add(new Socket(InetAddress.getLoopbackAddress(), port(), InetAddress.getByName("127.0.0.4"), 0));
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> liveConnections() >= PER_SOURCE);
            String ctl = Hl7Messages.controlId();
            try (MllpTestClient c = new MllpTestClient(port(), "127.0.0.4")) {
                assertThat(msa1(c.exchange(Hl7Messages.a04(ctl, "MRN-S" + ctl, "Share", "One", "s@example.org"),
                        5_000))).isEqualTo("AA");
            }
            // the address's oldest silent connection made room (well before the 3 s idle timeout); newer ones stay
            held.get(0).setSoTimeout(1_000);
            assertThat(readsEnd(held.get(0))).isTrue();
            held.get(PER_SOURCE - 1).setSoTimeout(200);
            assertThat(readsEnd(held.get(PER_SOURCE - 1))).isFalse();
            assertThat(registry.find("caravan.mllp.connections").tag("event", "evicted").counter().count())
                    .isEqualTo(before + 1);
        } finally {
            for (Socket s : held) {
                s.close();
            }
        }
    }

    @Test
    void framesBeyondTheMemoryBudgetCloseTheirConnectionWhileOthersAreServed(CapturedOutput log) throws Exception {
        Counter refusedBefore = registry.find("caravan.mllp.connections").tag("event", "memory-budget").counter();
        double before = refusedBefore == null ? 0 : refusedBefore.count();
        byte[] open = new byte[1_900_000];
        Arrays.fill(open, (byte) 'x');
        byte[] canary = "PID|1||CANARY-MRN^^^MERCY^MR||Budgetsecret^Ann".getBytes();
        System.arraycopy(canary, 0, open, 10, canary.length);
        open[0] = 0x0b;
        try (Socket a = new Socket("127.0.0.1", port()); Socket b = new Socket("127.0.0.1", port())) {
            a.getOutputStream().write(open);
            a.getOutputStream().flush();
            await().atMost(Duration.ofSeconds(5)).until(() -> memoryUsed() >= 1_900_000);
            b.getOutputStream().write(open);
            b.getOutputStream().flush();
            // b does not fit beside a: the hub closes it; a's frame is kept
            b.setSoTimeout(5_000);
            assertThat(readsEnd(b)).isTrue();
            a.setSoTimeout(200);
            assertThat(readsEnd(a)).isFalse();
            // a small message from another sender is still served
            String ctl = Hl7Messages.controlId();
            try (MllpTestClient c = new MllpTestClient(port())) {
                assertThat(msa1(c.exchange(Hl7Messages.a04(ctl, "MRN-B" + ctl, "Small", "One", "s@example.org"),
                        5_000))).isEqualTo("AA");
            }
        }
        assertThat(registry.find("caravan.mllp.connections").tag("event", "memory-budget").counter().count())
                .isEqualTo(before + 1);
        assertThat(log.getOut() + log.getErr()).contains("memory budget").doesNotContain("Budgetsecret")
                .doesNotContain("CANARY-MRN");
        // every connection gone: the budget is whole again
        await().atMost(Duration.ofSeconds(10)).until(() -> memoryUsed() == 0);
    }

    double liveConnections() {
        Gauge g = registry.find("caravan.mllp.connections.open").gauge();
        return g == null ? MAX_CONNECTIONS : g.value();
    }

    double memoryUsed() {
        Gauge g = registry.find("caravan.mllp.memory.used").gauge();
        return g == null ? -1 : g.value();
    }

    /** True when the hub closed the socket (end of stream or reset) before the read timeout. */
    static boolean readsEnd(Socket s) throws IOException {
        try {
            return s.getInputStream().read() < 0;
        } catch (SocketTimeoutException open) {
            return false;
        } catch (IOException reset) {
            return true;
        }
    }
}
