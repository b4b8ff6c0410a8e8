package io.caravan.eventlog;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.contact.ContactStore.LoggedEvent;
import io.caravan.contact.TriggerEvent;
import io.caravan.support.MutableClock;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import org.flywaydb.core.Flyway;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * A subscriber that fails on one contact's event (issue 17): that contact is parked for it - its later events wait,
 * not acted on and not lost - while other contacts' events in the same partition go on; retries back off; once the
 * failed event succeeds the held ones follow in order, each acted on once. The cursors and retries live in a real
 * (in-memory H2) schema migrated by Flyway; the log is a list, as {@link EventLog} allows.
 */
class SubscriptionsParkingTest {

    static final Instant T0 = Instant.parse("2026-11-29T12:00:00Z");

    /** The log: partition 0 holds every event (the contacts share a partition, as hashed contacts do). */
    static final class ListLog implements EventLog {
        final List<LoggedEvent> events = new CopyOnWriteArrayList<>();

        LoggedEvent append(UUID contact) {
            LoggedEvent e = new LoggedEvent(0, events.size() + 1, contact, new TriggerEvent(UUID.randomUUID(),
                    "patient.updated", OffsetDateTime.parse("2026-11-29T12:00:00Z"), null, Map.of()));
            events.add(e);
            return e;
        }

        @Override
        public int partitions() {
            return 2;
        }

        @Override
        public List<LoggedEvent> read(String subscriber, int partition, long after, int max) {
            return events.stream().filter(e -> e.partition() == partition && e.position() > after).limit(max)
                    .toList();
        }

        @Override
        public List<LoggedEvent> readAt(String subscriber, int partition, Collection<Long> positions) {
            return events.stream().filter(e -> e.partition() == partition && positions.contains(e.position()))
                    .toList();
        }

        @Override
        public List<Long> heads() {
            return List.of((long) events.size(), 0L);
        }
    }

    /** Acts by inserting a row in the effect's transaction (rolled back when it throws); counts every attempt. */
    final class Recorder implements EventSubscriber {
        final boolean batches;
        volatile Predicate<LoggedEvent> failing = e -> false;
        final List<Instant> attempts = new CopyOnWriteArrayList<>();

        Recorder(boolean batches) {
            this.batches = batches;
        }

        @Override
        public String subscriberName() {
            return batches ? "batching" : "single";
        }

        @Override
        public void onEvent(LoggedEvent e) {
            jdbc.update("INSERT INTO acted (subscriber, event_id, seq) VALUES (?, ?, NEXT VALUE FOR acted_seq)",
                    subscriberName(), e.event().id());
            if (failing.test(e)) {
                attempts.add(clock.instant());
                throw new IllegalStateException("the audit trail is away");
            }
        }

        @Override
        public boolean batches() {
            return batches;
        }
    }

    JdbcTemplate jdbc;
    TransactionTemplate tx;
    MutableClock clock;
    ListLog log;

    @BeforeEach
    void schema() {
        JdbcDataSource ds = new JdbcDataSource();
        ds.setURL("jdbc:h2:mem:parking-" + UUID.randomUUID()
                + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DB_CLOSE_DELAY=-1");
        ds.setUser("sa");
        Flyway.configure().dataSource(ds).locations("classpath:db/migration").load().migrate();
        jdbc = new JdbcTemplate(ds);
        jdbc.execute("CREATE TABLE acted (subscriber VARCHAR(64), event_id UUID, seq BIGINT)");
        jdbc.execute("CREATE SEQUENCE acted_seq");
        tx = new TransactionTemplate(new DataSourceTransactionManager(ds));
        clock = new MutableClock(T0);
        log = new ListLog();
    }

    Subscriptions subscriptions() {
        return new Subscriptions(log, jdbc, tx, new SimpleMeterRegistry(), clock);
    }

    /** The events the subscriber acted on (committed), in the order it acted. */
    List<UUID> acted(EventSubscriber s) {
        return jdbc.queryForList("SELECT event_id FROM acted WHERE subscriber = ? ORDER BY seq", UUID.class,
                s.subscriberName());
    }

    static List<UUID> ids(LoggedEvent... events) {
        return java.util.Arrays.stream(events).map(e -> e.event().id()).toList();
    }

    @ParameterizedTest(name = "batching subscriber: {0}")
    @ValueSource(booleans = {false, true})
    void aFailedEventHoldsItsContactsLaterEventsWhileOtherContactsGoOnAndThenTheyFollowInOrderOnce(boolean batches) {
        Subscriptions subscriptions = subscriptions();
        Recorder s = new Recorder(batches);
        subscriptions.cursor(s.subscriberName());
        UUID c = UUID.randomUUID();
        UUID d = UUID.randomUUID();
        LoggedEvent c1 = log.append(c);
        LoggedEvent d1 = log.append(d);
        LoggedEvent c2 = log.append(c);
        LoggedEvent d2 = log.append(d);
        LoggedEvent c3 = log.append(c);
        Set<UUID> outage = ConcurrentHashMap.newKeySet();
        outage.add(c1.event().id());
        s.failing = e -> outage.contains(e.event().id());

        subscriptions.poll(s);
        assertThat(acted(s)).as("D's events go on; C's later ones wait behind its failed one")
                .containsExactlyElementsOf(ids(d1, d2));
        assertThat(subscriptions.cursor(s.subscriberName())).as("the partition is not blocked")
                .containsExactly(5L, 0L);

        LoggedEvent d3 = log.append(d);
        LoggedEvent c4 = log.append(c);
        clock.now = T0.plusMillis(500);
        subscriptions.poll(s);
        assertThat(acted(s)).as("still held: a new event of C waits too").containsExactlyElementsOf(ids(d1, d2, d3));

        outage.clear();
        clock.now = T0.plusSeconds(2);
        subscriptions.poll(s);
        subscriptions.poll(s);
        assertThat(acted(s)).as("C's events after its failed one succeeds: in their order, each once")
                .containsExactlyElementsOf(ids(d1, d2, d3, c1, c2, c3, c4));
        assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM event_retry", Integer.class)).isZero();

        LoggedEvent c5 = log.append(c);
        subscriptions.poll(s);
        assertThat(acted(s)).as("C is no longer parked").endsWith(c5.event().id());
    }

    @Test
    void retriesBackOffSoAShortOutageDoesNotUseThemUp() {
        Subscriptions subscriptions = subscriptions();
        Recorder s = new Recorder(false);
        subscriptions.cursor(s.subscriberName());
        LoggedEvent c1 = log.append(UUID.randomUUID());
        Instant back = T0.plusSeconds(20);
        s.failing = e -> clock.instant().isBefore(back);
        // the pump polls every 250 ms while the outage lasts, and a little after
        for (Instant t = T0; t.isBefore(back.plusSeconds(20)); t = t.plusMillis(250)) {
            clock.now = t;
            subscriptions.poll(s);
        }
        List<Duration> gaps = new ArrayList<>();
        for (int i = 1; i < s.attempts.size(); i++) {
            gaps.add(Duration.between(s.attempts.get(i - 1), s.attempts.get(i)));
        }
        assertThat(gaps).as("each wait twice the one before, from one second")
                .containsExactly(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(4),
                        Duration.ofSeconds(8));
        assertThat(acted(s)).as("acted on once the outage was over").containsExactly(c1.event().id());
        assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM event_retry", Integer.class)).isZero();
    }

    @Test
    void afterTheAttemptsRunOutTheContactStaysParkedAndItsEventsKeepWaiting() {
        Subscriptions subscriptions = new Subscriptions(log, jdbc, tx, new SimpleMeterRegistry(), clock,
                Duration.ofSeconds(1), Duration.ofSeconds(4), 4);
        Recorder s = new Recorder(false);
        subscriptions.cursor(s.subscriberName());
        UUID c = UUID.randomUUID();
        LoggedEvent c1 = log.append(c);
        s.failing = e -> e == c1;
        for (Instant t = T0; t.isBefore(T0.plusSeconds(60)); t = t.plusSeconds(1)) {
            clock.now = t;
            subscriptions.poll(s);
            if (t.equals(T0.plusSeconds(30))) {
                log.append(c);
            }
        }
        clock.now = T0.plus(Duration.ofHours(1));
        subscriptions.poll(s);
        assertThat(s.attempts).as("four attempts, then no more until an operator acts").hasSize(4);
        assertThat(jdbc.queryForList("SELECT attempts, parked FROM event_retry ORDER BY position"))
                .as("the failed event, exhausted, and the one held behind it")
                .containsExactly(Map.of("attempts", 4, "parked", true), Map.of("attempts", 0, "parked", false));
        assertThat(acted(s)).isEmpty();
    }

    @Test
    void theBackoffDoublesUpToItsCap() {
        Subscriptions subscriptions = subscriptions();
        assertThat(List.of(1, 2, 3, 9, 10, 40).stream().map(subscriptions::backoff).toList()).containsExactly(
                Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(4), Duration.ofSeconds(256),
                Duration.ofMinutes(5), Duration.ofMinutes(5));
    }
}
