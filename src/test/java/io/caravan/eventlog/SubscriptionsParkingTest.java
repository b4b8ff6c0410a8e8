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
import javax.sql.DataSource;
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

        /** An event as the store reads it: opened only when asked for, which {@code opened} records (its id). */
        UUID appendSealed(UUID contact, String type, Set<UUID> opened) {
            TriggerEvent t = new TriggerEvent(UUID.randomUUID(), type, OffsetDateTime.parse("2026-11-29T12:00:00Z"),
                    null, Map.of());
            events.add(new LoggedEvent(0, events.size() + 1, contact, t.id(), type, () -> {
                opened.add(t.id());
                return t;
            }));
            return t.id();
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
        volatile Predicate<String> types = t -> true;
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
            jdbc.update("INSERT INTO acted (subscriber, event_id) VALUES (?, ?)", subscriberName(), e.event().id());
            if (failing.test(e)) {
                attempts.add(clock.instant());
                throw new IllegalStateException("the audit trail is away");
            }
        }

        @Override
        public boolean batches() {
            return batches;
        }

        @Override
        public boolean wants(String type) {
            return types.test(type);
        }
    }

    JdbcTemplate jdbc;
    TransactionTemplate tx;
    MutableClock clock;
    ListLog log;

    /** A fresh, empty store: the embedded one here, PostgreSQL in {@link SubscriptionsParkingPostgresIT}. */
    DataSource dataSource() {
        JdbcDataSource ds = new JdbcDataSource();
        ds.setURL("jdbc:h2:mem:parking-" + UUID.randomUUID()
                + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DB_CLOSE_DELAY=-1");
        ds.setUser("sa");
        return ds;
    }

    @BeforeEach
    void schema() {
        DataSource ds = dataSource();
        Flyway.configure().dataSource(ds).locations("classpath:db/migration").load().migrate();
        jdbc = new JdbcTemplate(ds);
        jdbc.execute("CREATE TABLE acted (seq BIGINT GENERATED BY DEFAULT AS IDENTITY, subscriber VARCHAR(64),"
                + " event_id UUID)");
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

    /**
     * Most of the log is other readers' business (message statuses, contact changes): a subscriber never opens those
     * events (no decryption, no parse) and is never handed them, and its cursor still moves past them - trailing ones
     * and a batch of nothing else included.
     */
    @ParameterizedTest(name = "batching subscriber: {0}")
    @ValueSource(booleans = {false, true})
    void eventsOfTypesASubscriberLeavesAreNotOpenedAndItsCursorMovesPastThem(boolean batches) {
        Subscriptions subscriptions = subscriptions();
        Recorder s = new Recorder(batches);
        s.types = "patient.updated"::equals;
        subscriptions.cursor(s.subscriberName());
        UUID c = UUID.randomUUID();
        Set<UUID> opened = ConcurrentHashMap.newKeySet();
        log.appendSealed(c, "message.sent", opened);
        UUID b = log.appendSealed(c, "patient.updated", opened);
        UUID d = log.appendSealed(UUID.randomUUID(), "patient.updated", opened);
        log.appendSealed(c, "message.delivered", opened);
        UUID e = log.appendSealed(c, "patient.updated", opened);
        log.appendSealed(c, "message.opened", opened);

        subscriptions.poll(s);
        assertThat(acted(s)).containsExactly(b, d, e);
        assertThat(opened).as("only what it takes is opened").containsExactlyInAnyOrder(b, d, e);
        assertThat(subscriptions.cursor(s.subscriberName())).as("past the trailing one too").containsExactly(6L, 0L);

        log.appendSealed(c, "message.sent", opened);
        log.appendSealed(c, "contact.changed", opened);
        subscriptions.poll(s);
        assertThat(acted(s)).containsExactly(b, d, e);
        assertThat(opened).hasSize(3);
        assertThat(subscriptions.cursor(s.subscriberName())).as("a batch of nothing it takes").containsExactly(8L, 0L);
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

    /**
     * {@link Subscriptions#behind}: a contact's event past the subscriber's cursor, or waiting in event_retry, keeps an
     * effect that must follow its contact's events (a journey step due on the tick's node) waiting; another contact's
     * events do not.
     */
    @Test
    void aContactIsBehindWhileOneOfItsEventsIsUnreadOrWaitingForARetry() {
        Subscriptions subscriptions = subscriptions();
        Recorder s = new Recorder(false);
        subscriptions.cursor(s.subscriberName());
        UUID c = UUID.randomUUID();
        UUID d = UUID.randomUUID();
        log.append(c);
        assertThat(subscriptions.behind(s.subscriberName(), c, 0)).as("C's event not read yet").isTrue();
        assertThat(subscriptions.behind(s.subscriberName(), d, 0)).as("D has nothing waiting").isFalse();

        subscriptions.poll(s);
        assertThat(subscriptions.behind(s.subscriberName(), c, 0)).as("read and acted on").isFalse();

        LoggedEvent c2 = log.append(c);
        s.failing = e -> e.event().id().equals(c2.event().id());
        subscriptions.poll(s);
        assertThat(subscriptions.cursor(s.subscriberName())).as("the cursor moved past the failed event")
                .containsExactly(2L, 0L);
        assertThat(subscriptions.behind(s.subscriberName(), c, 0)).as("C's failed event waits for a retry").isTrue();
        assertThat(subscriptions.behind(s.subscriberName(), d, 0)).isFalse();
    }

    /**
     * A subscriber acts on events already in the log: its reads of the store do not wait for the journal's applier
     * (a heavy feed put the applier 10 s behind and failed the workflow's and the segment index's events).
     */
    @Test
    void aSubscriberReadsTheStoreAsItIsWithoutWaitingForTheJournal() {
        Subscriptions subscriptions = subscriptions();
        List<Boolean> asStored = new CopyOnWriteArrayList<>();
        EventSubscriber s = new EventSubscriber() {
            @Override
            public String subscriberName() {
                return "reader";
            }

            @Override
            public void onEvent(LoggedEvent e) {
                asStored.add(io.caravan.contact.ContactWriter.readsAsStored());
            }
        };
        subscriptions.cursor(s.subscriberName());
        log.append(UUID.randomUUID());
        log.append(UUID.randomUUID());
        subscriptions.poll(s);
        assertThat(asStored).containsExactly(true, true);
        assertThat(io.caravan.contact.ContactWriter.readsAsStored()).as("the poller's caller waits as before").isFalse();
    }
}
