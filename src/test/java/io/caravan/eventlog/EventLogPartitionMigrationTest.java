package io.caravan.eventlog;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.contact.ContactStore;
import io.caravan.contact.ContactStore.LoggedEvent;
import io.caravan.contact.LogPartitions;
import io.caravan.contact.TriggerEvent;
import io.caravan.crypto.FieldCipher;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import javax.crypto.KeyGenerator;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Upgrading a hub whose event log holds events into the partitioned log (V22_3): the events stay in partition 0 with
 * their positions and order, a subscriber's cursor and parked retries stay where they were, and a subscriber that had
 * not caught up acts on the rest exactly once; the first start adds the other partitions' heads.
 */
class EventLogPartitionMigrationTest {

    @Test
    void eventsFromBeforeThePartitionsStayInPartitionZeroAndASubscriberCarriesOn() throws Exception {
        JdbcDataSource ds = new JdbcDataSource();
        ds.setURL("jdbc:h2:mem:partition-migration-" + UUID.randomUUID()
                + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DB_CLOSE_DELAY=-1");
        ds.setUser("sa");
        upgradeWithEventsInTheLog(ds);
    }

    /** On any store: the schema as of V21_1 with four events in the log, then the migrations after it. */
    static void upgradeWithEventsInTheLog(DataSource ds) throws Exception {
        Flyway.configure().dataSource(ds).locations("classpath:db/migration").target("21.1").load().migrate();
        JdbcTemplate jdbc = new JdbcTemplate(ds);
        KeyGenerator aes = KeyGenerator.getInstance("AES");
        aes.init(256);
        FieldCipher cipher = new FieldCipher(Map.of("dek-1", aes.generateKey()), "dek-1",
                KeyGenerator.getInstance("HmacSHA256").generateKey());
        UUID alice = UUID.randomUUID();
        UUID bob = UUID.randomUUID();
        Instant t = Instant.parse("2026-01-01T00:00:00Z");
        List<UUID> events = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            TriggerEvent e = new TriggerEvent(UUID.randomUUID(), "patient.registered",
                    OffsetDateTime.ofInstant(t.plusSeconds(i), ZoneOffset.UTC), null, Map.of());
            jdbc.update("INSERT INTO trigger_event (contact_id, id, type, key_id, payload, recorded_at, position)"
                    + " VALUES (?, ?, ?, 'dek-1', ?, ?, ?)", i % 2 == 0 ? alice : bob, e.id(), e.type(),
                    ContactStore.sealEvent(cipher, e), Timestamp.from(t.plusSeconds(i)), i + 1);
            events.add(e.id());
        }
        jdbc.update("UPDATE event_log_head SET last_position = 4 WHERE id = 1");
        jdbc.update("INSERT INTO event_cursor (subscriber, position, updated_at) VALUES ('behind', 2, ?)",
                Timestamp.from(t));
        jdbc.update("INSERT INTO event_retry (subscriber, position, attempts, parked, error, updated_at)"
                + " VALUES ('behind', 1, 5, TRUE, 'IllegalStateException', ?)", Timestamp.from(t));

        Flyway.configure().dataSource(ds).locations("classpath:db/migration").load().migrate();
        LogPartitions partitions = new LogPartitions(jdbc, 4);

        assertThat(jdbc.queryForList("SELECT id FROM trigger_event WHERE log_partition = 0 ORDER BY position",
                UUID.class)).as("in partition 0, in their order").containsExactlyElementsOf(events);
        assertThat(jdbc.queryForList("SELECT position FROM trigger_event ORDER BY position", Long.class))
                .containsExactly(1L, 2L, 3L, 4L);
        assertThat(jdbc.queryForList("SELECT last_position FROM event_log_head ORDER BY log_partition", Long.class))
                .containsExactly(4L, 0L, 0L, 0L);
        assertThat(jdbc.queryForMap("SELECT log_partition, position, attempts, parked FROM event_retry"
                + " WHERE subscriber = 'behind'")).containsEntry("log_partition", 0).containsEntry("position", 1L)
                .containsEntry("attempts", 5).containsEntry("parked", true);

        DatabaseEventLog log = new DatabaseEventLog(new ContactStore(jdbc, cipher, null, partitions));
        Subscriptions subscriptions = new Subscriptions(log, jdbc,
                new TransactionTemplate(new DataSourceTransactionManager(ds)), new SimpleMeterRegistry(),
                Clock.systemUTC());
        assertThat(subscriptions.cursor("behind")).containsExactly(2L, 0L, 0L, 0L);
        List<UUID> acted = new ArrayList<>();
        EventSubscriber behind = new EventSubscriber() {
            @Override
            public String subscriberName() {
                return "behind";
            }

            @Override
            public void onEvent(LoggedEvent event) {
                acted.add(event.event().id());
            }
        };
        assertThat(subscriptions.poll(behind)).isEqualTo(2);
        assertThat(subscriptions.poll(behind)).isZero();
        assertThat(acted).as("the two it had not reached, once, in order").containsExactly(events.get(2),
                events.get(3));
        assertThat(subscriptions.cursor("behind")).containsExactly(4L, 0L, 0L, 0L);
        assertThat(subscriptions.cursor("new")).as("a new subscriber starts at the heads")
                .containsExactly(4L, 0L, 0L, 0L);
    }
}
