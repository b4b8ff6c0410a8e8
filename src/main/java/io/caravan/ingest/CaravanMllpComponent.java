package io.caravan.ingest;

import java.net.Socket;
import java.util.Map;
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
 * camel-mllp 4.17.0 with three fixes, registered as the {@code mllp} component so route URIs stay standard:
 * pipelined frames are all processed ({@link FramingConsumerRunnable}); connections are served by one bounded pool
 * (the stock consumer validates each new connection on an unbounded pool and logs what it reads); and errors are
 * logged without payloads. Tied to 4.17.0 internals: drop it when 4.18.5+ can be used.
 */
public class CaravanMllpComponent extends MllpComponent {

    private static final Logger log = LoggerFactory.getLogger(CaravanMllpComponent.class);

    private final MllpProperties props;
    private final IngestMetrics metrics;
    private final SSLContextParameters tls;

    public CaravanMllpComponent(MllpProperties props, IngestMetrics metrics, SSLContextParameters tls) {
        this.props = props;
        this.metrics = metrics;
        this.tls = tls;
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
        private final ThreadPoolExecutor connections = new ThreadPoolExecutor(0, props.maxConnections(), 30,
                TimeUnit.SECONDS, new SynchronousQueue<>(), r -> {
                    Thread t = new Thread(r, "mllp-connection");
                    t.setDaemon(true);
                    return t;
                });

        FramingConsumer(MllpEndpoint endpoint, Processor processor) {
            super(endpoint, processor);
            setExceptionHandler(new PhiSafeExceptionHandler());
        }

        @Override
        public void validateConsumer(Socket socket) {
            startConsumer(socket, null);
        }

        @Override
        public void startConsumer(Socket socket, MllpSocketBuffer ignored) {
            FramingConsumerRunnable r;
            try {
                r = new FramingConsumerRunnable(this, socket, props, metrics);
            } catch (RuntimeException e) {
                closeQuietly(socket);
                return;
            }
            getConsumerRunnables().put(r, System.currentTimeMillis());
            try {
                connections.execute(r);
                metrics.connectionOpened();
            } catch (RejectedExecutionException full) {
                getConsumerRunnables().remove(r);
                metrics.connectionDropped("max-connections");
                log.warn("Refused an MLLP connection: {} connections already open", props.maxConnections());
                closeQuietly(socket);
            }
        }

        @Override
        protected void doShutdown() throws Exception {
            super.doShutdown();
            connections.shutdownNow();
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
