package io.caravan.channel;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.audit.AuditLog;
import java.lang.reflect.Constructor;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.postgresql.util.PSQLException;
import org.postgresql.util.PSQLState;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.jdbc.CannotGetJdbcConnectionException;
import org.springframework.jdbc.UncategorizedSQLException;

/**
 * What a PostgreSQL restart throws at the send path (as ClusterFailoverIT met it) is the store out of reach, and the
 * message is deferred; what a bad message throws is not, and the message fails as before.
 */
class StoreUnavailableTest {

    @Test
    void aDatabaseRestartOrAnAuditTrailOutOfReachIsTheStoreUnavailable() throws Exception {
        // Hikari with the server gone
        assertThat(Deliveries.storeUnavailable(new CannotGetJdbcConnectionException("no connection",
                new java.sql.SQLTransientConnectionException("HikariPool-1 - Connection is not available")))).isTrue();
        // the server shutting down under an open connection (pg_ctl restart -m fast): SQL state 57P01
        assertThat(Deliveries.storeUnavailable(new UncategorizedSQLException("update", "UPDATE x",
                new java.sql.SQLException("terminating connection due to administrator command", "57P01")))).isTrue();
        // the connection broken mid-statement: class 08
        assertThat(Deliveries.storeUnavailable(new UncategorizedSQLException("select", "SELECT 1",
                new PSQLException("An I/O error occurred while sending to the backend.",
                        PSQLState.CONNECTION_FAILURE)))).isTrue();
        // the audit trail could not record in time: nothing went out
        Constructor<AuditLog.AuditUnavailable> c = AuditLog.AuditUnavailable.class
                .getDeclaredConstructor(String.class, Throwable.class);
        c.setAccessible(true);
        assertThat(Deliveries.storeUnavailable(c.newInstance("the audit trail could not record the action",
                new TimeoutException()))).isTrue();
    }

    @Test
    void aBadMessageIsNotTheStoreUnavailable() {
        assertThat(Deliveries.storeUnavailable(new IllegalStateException("template gone"))).isFalse();
        assertThat(Deliveries.storeUnavailable(new DataIntegrityViolationException("duplicate key",
                new PSQLException("duplicate key", PSQLState.UNIQUE_VIOLATION)))).isFalse();
        assertThat(Deliveries.storeUnavailable(new IllegalArgumentException())).isFalse();
    }
}
