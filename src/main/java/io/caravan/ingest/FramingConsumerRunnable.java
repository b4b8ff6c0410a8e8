package io.caravan.ingest;

import io.caravan.mapping.Msh;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.Charset;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSocket;
import javax.security.auth.x500.X500Principal;
import org.apache.camel.component.mllp.MllpTcpServerConsumer;
import org.apache.camel.component.mllp.internal.Hl7Util;
import org.apache.camel.component.mllp.internal.MllpSocketBuffer;
import org.apache.camel.component.mllp.internal.TcpSocketConsumerRunnable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one MLLP connection: replaces camel-mllp 4.17's read loop, which keeps one envelope per read and drops the
 * rest (two frames in one TCP write lose the second, silently or with a WARN that prints the message). Here every
 * complete frame is handed to the consumer in order, partial frames wait for the rest, and nothing received is ever
 * logged. The consumer still builds and writes the ACK through this runnable's {@link MllpSocketBuffer}, which holds
 * only that ACK.
 *
 * <p>Deadlines are absolute: a frame must be complete within the frame timeout of its first byte, and a connection
 * that completes no frame within the idle timeout is closed. Counting from the last byte let one byte every few
 * seconds hold a connection - and one of the limited connection slots - forever.
 */
final class FramingConsumerRunnable extends TcpSocketConsumerRunnable {

    private static final Logger log = LoggerFactory.getLogger(FramingConsumerRunnable.class);

    private final MllpTcpServerConsumer consumer;
    private final Socket socket;
    private final MllpProperties props;
    private final long idleMillis;
    private final long frameMillis;
    private final IngestMetrics metrics;
    private final MllpMemoryBudget budget;
    private final MllpSenders senders;
    private final ScheduledExecutorService watchdog;
    /** Told when this connection ends (with itself, so the listener can forget it). */
    private final java.util.function.Consumer<FramingConsumerRunnable> onEnd;
    private final Charset charset;
    private static final java.util.concurrent.atomic.AtomicLong ACCEPTED = new java.util.concurrent.atomic.AtomicLong();
    private final long openedAt = System.currentTimeMillis();
    /** Accept order: tells apart connections opened in the same millisecond. */
    private final long sequence = ACCEPTED.incrementAndGet();
    private volatile long lastFrameAt;
    private volatile boolean processing;
    private volatile boolean active = true;
    private volatile boolean evicted;

    FramingConsumerRunnable(MllpTcpServerConsumer consumer, Socket socket, MllpProperties props,
            IngestMetrics metrics, MllpMemoryBudget budget, MllpSenders senders, ScheduledExecutorService watchdog,
            java.util.function.Consumer<FramingConsumerRunnable> onEnd) {
        super(consumer, socket, new MllpSocketBuffer(consumer.getEndpoint()), new Hl7Util(0, false), false);
        this.consumer = consumer;
        this.socket = socket;
        this.props = props;
        this.idleMillis = props.idleTimeout().toMillis();
        this.frameMillis = props.frameTimeout().toMillis();
        this.metrics = metrics;
        this.budget = budget;
        this.senders = senders;
        this.watchdog = watchdog;
        this.onEnd = onEnd;
        this.charset = Charset.forName(props.charset());
    }

    @Override
    public void run() {
        String originalName = Thread.currentThread().getName();
        // the listener's port first: an operator's thread dump (and a test) tells the listeners' connections apart
        Thread.currentThread().setName("mllp-connection-" + socket.getLocalPort() + "-" + socket.getPort());
        byte[] chunk = new byte[16 * 1024];
        long idleSince = openedAt;
        long frameSince = 0;
        long framesSeen = 0;
        MllpFrames frames = null;
        try (socket) {
            X500Principal clientSubject = handshake();
            frames = new MllpFrames(props.maxFrameBytes(), budget);
            InputStream in = socket.getInputStream();
            while (active && !socket.isClosed()) {
                long now = System.currentTimeMillis();
                long left = frames.inFrame() ? frameSince + frameMillis - now : idleSince + idleMillis - now;
                if (left <= 0) {
                    metrics.connectionDropped(frames.inFrame() ? "frame-timeout" : "idle");
                    break;
                }
                // never wait past the deadline; wake at least once a second to notice a stop
                socket.setSoTimeout((int) Math.max(1, Math.min(1000, left)));
                int n;
                try {
                    n = in.read(chunk);
                } catch (SocketTimeoutException quiet) {
                    continue;
                }
                if (n < 0) {
                    break;
                }
                long truncatedBefore = frames.truncatedFrames();
                frames.append(chunk, 0, n);
                byte[] payload;
                while (active && (payload = frames.next()) != null) {
                    serve(payload, clientSubject);
                    lastFrameAt = idleSince = System.currentTimeMillis();
                    if (socket.isClosed()) {
                        break;
                    }
                }
                if (frames.inFrame() && frames.framesStarted() != framesSeen) {
                    // a frame began in this read: its deadline runs from now (after the frames before it were served)
                    frameSince = System.currentTimeMillis();
                }
                framesSeen = frames.framesStarted();
                if (frames.truncatedFrames() > truncatedBefore) {
                    metrics.truncatedFrames(frames.truncatedFrames() - truncatedBefore);
                }
            }
        } catch (MllpFrames.FrameTooLargeException e) {
            metrics.connectionDropped("frame-too-large");
            log.warn("Closed an MLLP connection from {}: {}", peer(), e.getMessage());
        } catch (MllpFrames.MemoryBudgetExceededException e) {
            metrics.connectionDropped("memory-budget");
            log.warn("Closed an MLLP connection from {}: {}", peer(), e.getMessage());
        } catch (IOException e) {
            log.debug("MLLP connection ended: {}", e.getClass().getSimpleName());
        } catch (RuntimeException e) {
            log.error("MLLP connection failed ({})", e.getClass().getName());
        } finally {
            if (frames != null) {
                if (frames.discardedBytes() > 0) {
                    metrics.discardedBytes(frames.discardedBytes());
                }
                frames.close();
            }
            consumer.getConsumerRunnables().remove(this);
            onEnd.accept(this);
            Thread.currentThread().setName(originalName);
        }
    }

    /**
     * Completes a TLS handshake within the frame timeout (a peer trickling handshake bytes would otherwise hold the
     * connection) and returns the client certificate's subject, if any.
     */
    private X500Principal handshake() throws IOException {
        if (!(socket instanceof SSLSocket ssl)) {
            return null;
        }
        ScheduledFuture<?> deadline = watchdog.schedule((Runnable) this::hangUp, frameMillis,
                TimeUnit.MILLISECONDS);
        try {
            ssl.setSoTimeout((int) Math.max(1, frameMillis));
            ssl.startHandshake();
        } finally {
            deadline.cancel(false);
        }
        try {
            return ssl.getSession().getPeerPrincipal() instanceof X500Principal p ? p : null;
        } catch (SSLPeerUnverifiedException none) {
            return null;
        }
    }

    private void serve(byte[] payload, X500Principal clientSubject) throws IOException {
        processing = true;
        try {
            if (payload.length < 4) {
                // camel-mllp 4.17 reads the field separator at byte 3 of the received message when it sends the
                // ACK: a shorter frame throws there and resets the connection, losing the frames behind it
                metrics.received("default");
                metrics.answered("default", IngestMetrics.Outcome.REJECTED, 0);
                answer(Acks.build(null, "AR", "100", "message does not start with an MSH segment", "MSH^1"));
                return;
            }
            if (senders.active()) {
                Msh msh = Msh.read(new String(payload, charset));
                MllpSenders.Refusal refusal = senders.check(msh, socket.getInetAddress(), clientSubject);
                if (refusal != null) {
                    refuse(msh, refusal);
                    return;
                }
            }
            getMllpBuffer().reset();
            consumer.processMessage(payload, this);
        } finally {
            processing = false;
        }
    }

    /** Answers AR without handing the message to the route: nothing of it is stored or logged. */
    private void refuse(Msh msh, MllpSenders.Refusal refusal) throws IOException {
        metrics.senderRefused(refusal.adapter() == null ? "unknown" : refusal.adapter());
        log.warn("Refused an MLLP message from {} (adapter {}): {}", peer(),
                refusal.adapter() == null ? "none" : refusal.adapter(), refusal.reason());
        answer(Acks.build(msh, "AR", "207", refusal.reason(), "MSH^1^3"));
    }

    /** Writes an ACK the hub answers itself, without the route. */
    private void answer(String ack) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(ack.length() + 3);
        out.write(MllpFrames.VT);
        out.writeBytes(ack.getBytes(charset));
        out.write(MllpFrames.FS);
        out.write(MllpFrames.CR);
        socket.getOutputStream().write(out.toByteArray());
        socket.getOutputStream().flush();
    }

    private String peer() {
        return socket.getInetAddress() == null ? "?" : socket.getInetAddress().getHostAddress();
    }

    java.net.InetAddress source() {
        return socket.getInetAddress();
    }

    /** When this connection last completed a frame, 0 if never. */
    long lastFrameAt() {
        return lastFrameAt;
    }

    long openedAt() {
        return openedAt;
    }

    long sequence() {
        return sequence;
    }

    /** May be closed to make room: not in the middle of serving a message and not already being closed. */
    boolean evictable() {
        return !processing && !evicted && active;
    }

    /** Closes the connection to make room for a new one. */
    void evict() {
        evicted = true;
        active = false;
        hangUp();
    }

    private void hangUp() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    @Override
    public void stop() {
        active = false;
        super.stop();
    }
}
