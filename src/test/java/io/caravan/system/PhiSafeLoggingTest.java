package io.caravan.system;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class PhiSafeLoggingTest {

    final ListAppender<ILoggingEvent> lines = new ListAppender<>();
    final Logger routes = (Logger) LoggerFactory.getLogger("io.caravan.routes");

    @BeforeEach
    void capture() {
        lines.start();
        routes.addAppender(lines);
    }

    @AfterEach
    void release() {
        routes.detachAppender(lines);
    }

    /** A context whose status the test sets: a running one, or one in the middle of stopping. */
    static final class Stoppable extends DefaultCamelContext {
        volatile boolean stopping;

        @Override
        public boolean isStopping() {
            return stopping;
        }
    }

    @Test
    void aFailedExchangeIsAnErrorNamingTheExceptionClassesButNotTheirMessages() throws Exception {
        Stoppable ctx = new Stoppable();
        new PhiSafeLogging().routeFailureLog().process(failed(ctx));
        assertThat(lines.list).singleElement().satisfies(e -> {
            assertThat(e.getLevel()).isEqualTo(Level.ERROR);
            assertThat(e.getFormattedMessage()).contains("java.lang.IllegalStateException")
                    .doesNotContain("DOE^JANE");
        });
    }

    @Test
    void anExchangeCutShortByTheHubStoppingIsAWarningWithoutAnException() throws Exception {
        Stoppable ctx = new Stoppable();
        ctx.stopping = true;
        new PhiSafeLogging().routeFailureLog().process(failed(ctx));
        assertThat(lines.list).filteredOn(e -> e.getLevel().isGreaterOrEqual(Level.INFO)).singleElement()
                .satisfies(e -> {
                    assertThat(e.getLevel()).isEqualTo(Level.WARN);
                    assertThat(e.getFormattedMessage()).contains("nothing was acknowledged")
                            .doesNotContain("Exception").doesNotContain("DOE^JANE");
                });
    }

    private static Exchange failed(CamelContext ctx) {
        Exchange ex = new DefaultExchange(ctx);
        ex.setException(new IllegalStateException("PID|1||123^^^MERCY^MR||DOE^JANE"));
        return ex;
    }

    static void failWith(String data) throws java.sql.SQLException {
        throw new java.sql.SQLException("duplicate key: " + data, "23505");
    }

    @Test
    void aFailureIsDescribedByItsClassesWhereItAroseAndItsSqlStateNeverItsMessage() {
        IllegalStateException e;
        try {
            failWith("Parkinson, MRN 0042");
            throw new AssertionError();
        } catch (java.sql.SQLException sql) {
            e = new IllegalStateException("could not store Parkinson", sql);
        }
        String d = PhiSafeLogging.describe(e);
        assertThat(d).startsWith("IllegalStateException at PhiSafeLoggingTest.aFailureIsDescribedByItsClasses")
                .endsWith(" <- SQLException (SQL state 23505)").doesNotContain("Parkinson", "0042", "duplicate");
        assertThat(PhiSafeLogging.describe(null)).isEqualTo("unknown");
    }
}
