package io.caravan.eventlog;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Timestamp;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import org.flywaydb.core.Flyway;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Upgrading a hub whose workflow inbox still holds events (V20_1): the waiting events become the engine's next ones in
 * the log, in the order the inbox gave them; those the engine had given up on are parked, not acted on again; events
 * it had already handled stay out of the log.
 */
class EventLogMigrationTest {

    @Test
    void theWorkflowInboxBecomesTheEnginesCursor() {
        JdbcDataSource ds = new JdbcDataSource();
        ds.setURL("jdbc:h2:mem:migration-" + UUID.randomUUID()
                + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DB_CLOSE_DELAY=-1");
        ds.setUser("sa");
        upgradeWithAFullInbox(ds);
    }

    /** On any store: the schema as of V15_3 with events in the inbox, then the migrations after it. */
    static void upgradeWithAFullInbox(javax.sql.DataSource ds) {
        Flyway.configure().dataSource(ds).locations("classpath:db/migration").target("15.3").load().migrate();
        JdbcTemplate jdbc = new JdbcTemplate(ds);
        Instant t = Instant.parse("2026-01-01T00:00:00Z");
        UUID contact = UUID.randomUUID();
        UUID handled = event(jdbc, contact, t);
        UUID second = event(jdbc, contact, t.plusSeconds(2));
        UUID first = event(jdbc, contact, t.plusSeconds(1));
        UUID gaveUp = event(jdbc, contact, t.plusSeconds(3));
        inbox(jdbc, second, contact, t.plusSeconds(2), 1);
        inbox(jdbc, first, contact, t.plusSeconds(1), 0);
        inbox(jdbc, gaveUp, contact, t.plusSeconds(3), 5);

        Flyway.configure().dataSource(ds).locations("classpath:db/migration").load().migrate();

        assertThat(position(jdbc, handled)).isNull();
        assertThat(position(jdbc, gaveUp)).isEqualTo(1L);
        assertThat(position(jdbc, first)).isEqualTo(2L);
        assertThat(position(jdbc, second)).isEqualTo(3L);
        assertThat(jdbc.queryForObject("SELECT position FROM event_cursor WHERE subscriber = 'workflow'", Long.class))
                .isEqualTo(1L);
        assertThat(jdbc.queryForObject("SELECT last_position FROM event_log_head", Long.class)).isEqualTo(3L);
        Map<String, Object> parked = jdbc.queryForMap("SELECT position, attempts, parked FROM event_retry"
                + " WHERE subscriber = 'workflow'");
        assertThat(parked).containsEntry("position", 1L).containsEntry("attempts", 5).containsEntry("parked", true);
        assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM information_schema.tables"
                + " WHERE table_name = 'workflow_inbox'", Long.class)).isZero();
    }

    private static UUID event(JdbcTemplate jdbc, UUID contact, Instant at) {
        UUID id = UUID.randomUUID();
        jdbc.update("INSERT INTO trigger_event (contact_id, id, type, key_id, payload, recorded_at)"
                + " VALUES (?, ?, 'patient.registered', 'k1', ?, ?)", contact, id, new byte[] {0}, Timestamp.from(at));
        return id;
    }

    private static void inbox(JdbcTemplate jdbc, UUID event, UUID contact, Instant at, int attempts) {
        jdbc.update("INSERT INTO workflow_inbox (event_id, contact_id, type, recorded_at, attempts)"
                + " VALUES (?, ?, 'patient.registered', ?, ?)", event, contact, Timestamp.from(at), attempts);
    }

    private static Long position(JdbcTemplate jdbc, UUID event) {
        return jdbc.queryForObject("SELECT position FROM trigger_event WHERE id = ?", Long.class, event);
    }
}
