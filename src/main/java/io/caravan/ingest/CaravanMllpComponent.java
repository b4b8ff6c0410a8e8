package io.caravan.ingest;

import java.net.Socket;
import java.util.Comparator;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.apache.camel.Consumer;
import org.apache.camel.Endpoint;
import org.apache.camel.Processor;
import org.apache.camel.component.mllp.MllpComponent;
import org.apache.camel.component.mllp.MllpConfiguration;
import org.apache.camel.component.mllp.MllpEndpoint;
import org.apache.camel.component.mllp.MllpTcpServerConsumer;
import org.apache.camel.component.mllp.internal.MllpSocketBuffer;
import org.apache.camel.spi.ExceptionHandler;
import org.apache.camel.support.jsse.SSLContextParameters;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * camel-mllp 4.17.0 with these fixes, registered as the {@code mllp} component so route URIs stay standard:
 * pipelined frames are all processed ({@link FramingConsumerRunnable}); connections are served by one bounded pool
 * (the stock consumer validates each new connection on an unbounded pool and logs what it reads) in which a stalled
 * connection gives way to a new one; frames share one memory budget; senders are checked against their adapters
 * ({@link MllpSenders}); and errors are logged without payloads. Tied to 4.17.0 internals: drop it when 4.18.5+ can be used.
 */
public class CaravanMllpComponent extends MllpComponent {

    private static final Logger log = LoggerFactory.getLogger(CaravanMllpComponent.class);

    private final MllpProperties props;
    private final IngestMetrics metrics;
    private final SSLContextParameters tls;
    private final MllpMemoryBudget budget;
    private final MllpSenders senders;

    public CaravanMllpComponent(MllpProperties props, IngestMetrics metrics, SSLContextParameters tls,
            MllpSenders senders) {
        this.props = props;
        this.metrics = metrics;
        this.tls = tls;
        this.senders = senders;
        this.budget = new MllpMemoryBudget(props.memoryBudget().toBytes());
        metrics.memoryBudget(budget);
        setLogPhi(false);
        setLogPhiMaxBytes(0);
    }

    @Override
    protected Endpoint createEndpoint(String uri, String remaining, Map<String, Object> parameters) throws Exception {
        MllpEndpoint stock = (MllpEndpoint) super.createEndpoint(uri, remaining, parameters);
        Endpoint ep = new Ep(uri, this, stock.getConfiguration());
        ((MllpEndpoint) ep).setHostname(stock.getHostname());
        ((MllpEndpoint) ep).setPort(stock.getPort());
        ((MllpEndpoint) ep).setCharsetName(stock.getCharsetName());
        if (tls != null) {
            ((MllpEndpoint) ep).getConfiguration().setSslContextParameters(tls);
        }
        return ep;
    }

    final class Ep extends MllpEndpoint {
        Ep(String uri, MllpComponent component, MllpConfiguration configuration) {
            super(uri, component, configuration);
        }

        @Override
        public Consumer createConsumer(Processor processor) throws Exception {
            Consumer c = new FramingConsumer(this, processor);
            configureConsumer(c);
            // camel-mllp bridges consumer errors to the route's error handler by default (bridgeErrorHandler), which
            // would log them with the exchange: they stay here, logged by kind only
            ((FramingConsumer) c).setExceptionHandler(new PhiSafeExceptionHandler());
            return c;
        }
    }

    final class FramingConsumer extends MllpTcpServerConsumer {
        // twice the limit: a connection closed to make room still holds its thread for a moment
        private final ThreadPoolExecutor connections = new ThreadPoolExecutor(0, 2 * props.maxConnections(), 30,
                TimeUnit.SECONDS, new SynchronousQueue<>(), r -> {
                    Thread t = new Thread(r, "mllp-connection");
                    t.setDaemon(true);
                    return t;
                });
        private final ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "mllp-handshake-watchdog");
            t.setDaemon(true);
            return t;
        });
        private final Set<FramingConsumerRunnable> live = ConcurrentHashMap.newKeySet();

        FramingConsumer(MllpEndpoint endpoint, Processor processor) {
            super(endpoint, processor);
            setExceptionHandler(new PhiSafeExceptionHandler());
            metrics.openConnections(live);
        }

        @Override
        public void validateConsumer(Socket socket) {
            startConsumer(socket, null);
        }

        @Override
        public void startConsumer(Socket socket, MllpSocketBuffer ignored) {
            if (!senders.mayConnect(socket.getInetAddress())) {
                metrics.connectionDropped("unknown-source");
                log.warn("Refused an MLLP connection from {}: no adapter allows this address",
                        socket.getInetAddress().getHostAddress());
                closeQuietly(socket);
                return;
            }
            java.net.InetAddress source = socket.getInetAddress();
            boolean room = true;
            if (live.stream().filter(c -> c.source().equals(source)).count() >= props.maxConnectionsPerSource()) {
                room = makeRoom(source);
            } else if (live.size() >= props.maxConnections()) {
                room = makeRoom(null);
            }
            if (!room) {
                refuse(socket);
                return;
            }
            FramingConsumerRunnable r;
            try {
                r = new FramingConsumerRunnable(this, socket, props, metrics, budget, senders, watchdog, live::remove);
            } catch (RuntimeException e) {
                closeQuietly(socket);
                return;
            }
            live.add(r);
            getConsumerRunnables().put(r, System.currentTimeMillis());
            try {
                connections.execute(r);
                metrics.connectionOpened();
            } catch (RejectedExecutionException full) {
                live.remove(r);
                getConsumerRunnables().remove(r);
                refuse(socket);
            }
        }

        /**
         * All slots (or all of one source's) are taken: closes the connection least likely to be a working feed so
         * that stalled or trickling connections cannot lock senders out - one that never completed a frame before
         * one that did, one from the source holding most connections first, the oldest first. A connection serving
         * a message is never chosen.
         *
         * @param source only among this source's connections; null: among all
         */
        private boolean makeRoom(java.net.InetAddress source) {
            Map<java.net.InetAddress, Long> perSource = live.stream().collect(java.util.stream.Collectors.groupingBy(
                    FramingConsumerRunnable::source, java.util.stream.Collectors.counting()));
            FramingConsumerRunnable victim = live.stream()
                    .filter(c -> source == null || c.source().equals(source))
                    .filter(FramingConsumerRunnable::evictable)
                    .min(Comparator.comparing((FramingConsumerRunnable c) -> c.lastFrameAt() != 0)
                            .thenComparing(c -> -perSource.getOrDefault(c.source(), 0L))
                            .thenComparingLong(c -> c.lastFrameAt() != 0 ? c.lastFrameAt() : c.openedAt())
                            .thenComparingLong(FramingConsumerRunnable::sequence))
                    .orElse(null);
            if (victim == null) {
                return false;
            }
            live.remove(victim);
            victim.evict();
            metrics.connectionDropped("evicted");
            log.debug("Closed a stalled or idle MLLP connection from {} to make room", victim.source().getHostAddress());
            return true;
        }

        private void refuse(Socket socket) {
            metrics.connectionDropped("max-connections");
            log.warn("Refused an MLLP connection from {}: connection limit reached and every connection is "
                    + "serving a message", socket.getInetAddress().getHostAddress());
            closeQuietly(socket);
        }

        @Override
        protected void doShutdown() throws Exception {
            super.doShutdown();
            connections.shutdownNow();
            watchdog.shutdownNow();
        }

        private void closeQuietly(Socket s) {
            try {
                s.close();
            } catch (java.io.IOException ignoredToo) {
                // closing a refused socket
            }
        }
    }

    /** Logs the failure kind, never the exchange or a message that could quote the payload. */
    static final class PhiSafeExceptionHandler implements ExceptionHandler {
        @Override
        public void handleException(Throwable exception) {
            handleException(null, null, exception);
        }

        @Override
        public void handleException(String message, Throwable exception) {
            handleException(message, null, exception);
        }

        @Override
        public void handleException(String message, org.apache.camel.Exchange exchange, Throwable exception) {
            log.warn("MLLP: {} ({})", message == null ? "error" : message,
                    exception == null ? "" : exception.getClass().getSimpleName());
        }
    }
}
