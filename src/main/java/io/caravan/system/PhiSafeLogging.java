package io.caravan.system;

import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.camel.spi.ExchangeFormatter;
import org.apache.camel.support.processor.DefaultExchangeFormatter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * What Camel may write about an exchange: its ids, route and body type, never the body, headers, properties,
 * variables or an exception's message (camel-mllp's and Jakarta Mail's messages quote the payload or addresses).
 * routes/error-handling.yaml points every route's error handler here; the log component finds the formatter by type.
 */
@Configuration(proxyBeanMethods = false)
public class PhiSafeLogging {

    private static final Logger log = LoggerFactory.getLogger("io.caravan.routes");

    @Bean("phiSafeExchangeFormatter")
    public ExchangeFormatter phiSafeExchangeFormatter() {
        DefaultExchangeFormatter f = new DefaultExchangeFormatter();
        f.setShowExchangeId(true);
        f.setShowRouteId(true);
        f.setShowExchangePattern(true);
        f.setShowBodyType(true);
        f.setShowBody(false);
        f.setShowHeaders(false);
        f.setShowProperties(false);
        f.setShowAllProperties(false);
        f.setShowVariables(false);
        f.setShowException(false);
        f.setShowCaughtException(false);
        f.setShowStackTrace(false);
        f.setShowCachedStreams(false);
        f.setShowStreams(false);
        f.setShowFiles(false);
        f.setShowFuture(false);
        f.setMaxChars(-1);
        return f;
    }

    /**
     * The error handler's one log line for a failed exchange (its own logging is off): route, exchange and the
     * exception's class chain - never a message, which can quote data.
     */
    @Bean("routeFailureLog")
    public Processor routeFailureLog() {
        return exchange -> {
            Throwable e = exchange.getException() != null ? exchange.getException()
                    : exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
            if (exchange.getContext().isStopping()) {
                // SIGTERM: camel-mllp's connection threads can still hand over a message read as its route's
                // processors stop (the send to the next route is then "not started"). Nothing was acknowledged for
                // it, so its sender sends it again; an operator stopping the hub has nothing to act on
                log.warn("Route {} stopped before it finished exchange {}; nothing was acknowledged for it",
                        exchange.getFromRouteId(), exchange.getExchangeId());
                log.debug("Route {} exchange {} ended with {}", exchange.getFromRouteId(), exchange.getExchangeId(),
                        classes(e));
                return;
            }
            log.error("Route {} failed (exchange {}): {}", exchange.getFromRouteId(), exchange.getExchangeId(),
                    classes(e));
        };
    }

    /**
     * A failure as the hub logs it: the class of each exception in its chain, where in the hub's code the outer one
     * arose (class, method, line) and a SQL state if there is one - never a message, which can quote data. E.g.
     * {@code IllegalStateException at Journeys.start:412 <- SQLException (SQL state 23505)}.
     */
    public static String describe(Throwable e) {
        if (e == null) {
            return "unknown";
        }
        StringBuilder b = new StringBuilder();
        int depth = 0;
        for (Throwable c = e; c != null && depth < 9; c = c.getCause() == c ? null : c.getCause(), depth++) {
            b.append(depth == 0 ? "" : " <- ").append(c.getClass().getSimpleName());
            if (depth == 0) {
                hubFrame(c, b);
            }
            if (c instanceof java.sql.SQLException sql && sql.getSQLState() != null) {
                b.append(" (SQL state ").append(sql.getSQLState()).append(')');
            }
        }
        return b.toString();
    }

    /** The first frame of the hub's own code: where the failure arose, or the hub's call into a library. */
    private static void hubFrame(Throwable e, StringBuilder b) {
        for (StackTraceElement f : e.getStackTrace()) {
            if (f.getClassName().startsWith("io.caravan.")) {
                String cls = f.getClassName();
                b.append(" at ").append(cls.substring(cls.lastIndexOf('.') + 1)).append('.').append(f.getMethodName())
                        .append(':').append(f.getLineNumber());
                return;
            }
        }
    }

    static String classes(Throwable e) {
        StringBuilder b = new StringBuilder();
        for (Throwable c = e; c != null && b.length() < 400; c = c.getCause() == c ? null : c.getCause()) {
            b.append(b.length() == 0 ? "" : " <- ").append(c.getClass().getName());
        }
        return b.length() == 0 ? "unknown" : b.toString();
    }
}
