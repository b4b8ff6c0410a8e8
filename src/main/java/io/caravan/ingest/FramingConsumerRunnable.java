package io.caravan.ingest;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
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
 */
final class FramingConsumerRunnable extends TcpSocketConsumerRunnable {

    private static final Logger log = LoggerFactory.getLogger(FramingConsumerRunnable.class);

    private final MllpTcpServerConsumer consumer;
    private final Socket socket;
    private final MllpFrames frames;
    private final int pollMillis;
    private final long idleMillis;
    private final long frameMillis;
    private final IngestMetrics metrics;
    private volatile boolean active = true;

    FramingConsumerRunnable(MllpTcpServerConsumer consumer, Socket socket, MllpProperties props,
            IngestMetrics metrics) {
        super(consumer, socket, new MllpSocketBuffer(consumer.getEndpoint()), new Hl7Util(0, false), false);
        this.consumer = consumer;
        this.socket = socket;
        this.frames = new MllpFrames(props.maxFrameBytes());
        this.idleMillis = props.idleTimeout().toMillis();
        this.frameMillis = props.frameTimeout().toMillis();
        this.pollMillis = (int) Math.max(100, Math.min(1000, Math.min(idleMillis, frameMillis)));
        this.metrics = metrics;
    }

    @Override
    public void run() {
        String originalName = Thread.currentThread().getName();
        Thread.currentThread().setName("mllp-connection-" + socket.getPort());
        byte[] chunk = new byte[16 * 1024];
        long lastActivity = System.currentTimeMillis();
        try (socket) {
            socket.setSoTimeout(pollMillis);
            InputStream in = socket.getInputStream();
            while (active && !socket.isClosed()) {
                int n;
                try {
                    n = in.read(chunk);
                } catch (SocketTimeoutException idle) {
                    long quiet = System.currentTimeMillis() - lastActivity;
                    if (frames.inFrame() && quiet >= frameMillis) {
                        metrics.connectionDropped("frame-timeout");
                        break;
                    }
                    if (!frames.inFrame() && quiet >= idleMillis) {
                        metrics.connectionDropped("idle");
                        break;
                    }
                    continue;
                }
                if (n < 0) {
                    break;
                }
                lastActivity = System.currentTimeMillis();
                long truncatedBefore = frames.truncatedFrames();
                frames.append(chunk, 0, n);
                byte[] payload;
                while (active && (payload = frames.next()) != null) {
                    getMllpBuffer().reset();
                    consumer.processMessage(payload, this);
                    if (socket.isClosed()) {
                        break;
                    }
                }
                if (frames.truncatedFrames() > truncatedBefore) {
                    metrics.truncatedFrames(frames.truncatedFrames() - truncatedBefore);
                }
            }
        } catch (MllpFrames.FrameTooLargeException e) {
            metrics.connectionDropped("frame-too-large");
            log.warn("Closed an MLLP connection: {}", e.getMessage());
        } catch (IOException e) {
            log.debug("MLLP connection ended: {}", e.getClass().getSimpleName());
        } catch (RuntimeException e) {
            log.error("MLLP connection failed ({})", e.getClass().getName());
        } finally {
            if (frames.discardedBytes() > 0) {
                metrics.discardedBytes(frames.discardedBytes());
            }
            consumer.getConsumerRunnables().remove(this);
            Thread.currentThread().setName(originalName);
        }
    }

    @Override
    public void stop() {
        active = false;
        super.stop();
    }
}
