package io.caravan.eventlog;

import io.caravan.contact.ContactStore.LoggedEvent;
import io.caravan.system.PhiSafeLogging;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Drives subscribers over the event log with their durable cursors (table {@code event_cursor}: one per subscriber and
 * log partition, as a Kafka consumer group commits one offset per topic partition). Each event is acted on in its own
 * transaction that also moves its partition's cursor from the position it was read at to the event's - a
 * compare-and-set, so a second poller (another node, an overlapping tick) rolls its effect back instead of acting
 * twice. An event whose effect fails is not retried in place, which would block every event behind it: the cursor
 * moves past it and the event goes to {@code event_retry}.
 *
 * <p>A failure parks the event's contact for this subscriber, not the partition: the contact's later events for it are
 * moved out of the way too (rows of {@code event_retry} with no attempt yet, "held"), so they wait behind the failed
 * one instead of overtaking it, while other contacts' events go on. Only the oldest row of a contact is tried, again
 * after an exponential backoff ({@code caravan.event-log.retry.*}: from one second, doubling, capped at five minutes),
 * so a short outage of what the effect needs does not use the attempts up. Once it succeeds the held ones follow, in
 * order, each in its own transaction. After {@code max-attempts} failures the contact stays parked (a PHI-free log
 * line with the event's id, and {@code caravan_event_log_parked_total}) until an operator retries or skips the event
 * ({@link ParkedContacts}).
 */
@Component
public class Subscriptions {

    private static final Logger log = LoggerFactory.getLogger(Subscriptions.class);
    static final int MAX_ATTEMPTS = 10;
    private static final int BATCH = 500;

    /** Another poller moved the cursor first: this one's effect is rolled back. */
    private static final class CursorMoved extends RuntimeException {
        CursorMoved() {
            super("cursor moved by another poller", null, false, false);
        }
    }

    private final EventLog eventLog;
    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;
    private final MeterRegistry meters;
    private final Clock clock;
    private final Duration firstBackoff;
    private final Duration maxBackoff;
    private final int maxAttempts;
    private final Map<String, ReentrantLock> locks = new ConcurrentHashMap<>();
    private final Map<String, Counter> parked = new ConcurrentHashMap<>();
    /** Where each subscriber's next poll starts reading, so a backlog in one partition cannot starve the others. */
    private final Map<String, Integer> nextStart = new ConcurrentHashMap<>();

    public Subscriptions(EventLog eventLog, JdbcTemplate jdbc, TransactionTemplate tx, MeterRegistry meters,
            Clock clock) {
        this(eventLog, jdbc, tx, meters, clock, Duration.ofSeconds(1), Duration.ofMinutes(5), MAX_ATTEMPTS);
    }

    @Autowired
    public Subscriptions(EventLog eventLog, JdbcTemplate jdbc, TransactionTemplate tx, MeterRegistry meters,
            Clock clock, @Value("${caravan.event-log.retry.first-backoff:1s}") Duration firstBackoff,
            @Value("${caravan.event-log.retry.max-backoff:5m}") Duration maxBackoff,
            @Value("${caravan.event-log.retry.max-attempts:" + MAX_ATTEMPTS + "}") int maxAttempts) {
        this.eventLog = eventLog;
        this.jdbc = jdbc;
        this.tx = tx;
        this.meters = meters;
        this.clock = clock;
        this.firstBackoff = firstBackoff;
        this.maxBackoff = maxBackoff;
        this.maxAttempts = Math.max(1, maxAttempts);
    }

    /** The wait before attempt {@code failed + 1}: the first backoff doubled per failure so far, capped. */
    Duration backoff(int failed) {
        Duration d = firstBackoff;
        for (int i = 1; i < failed && d.compareTo(maxBackoff) < 0; i++) {
            d = d.multipliedBy(2);
        }
        return d.compareTo(maxBackoff) > 0 ? maxBackoff : d;
    }

    /** How many logged events the subscriber has not read yet, over all partitions. */
    public long lag(String subscriber) {
        List<Long> cursors = cursor(subscriber);
        List<Long> heads = eventLog.heads();
        long lag = 0;
        for (int p = 0; p < Math.min(cursors.size(), heads.size()); p++) {
            lag += Math.max(0, heads.get(p) - cursors.get(p));
        }
        return lag;
    }

    /**
     * The subscriber's cursors by partition number, each created at its partition's head when it has none: a
     * subscriber added later starts from now, not from the beginning (a new webhook must not receive years of
     * history; a backfill is a deliberate replay).
     */
    public List<Long> cursor(String subscriber) {
        Long[] at = new Long[eventLog.partitions()];
        jdbc.query("SELECT log_partition, position FROM event_cursor WHERE subscriber = ?", rs -> {
            int p = rs.getInt(1);
            if (p < at.length) {
                at[p] = rs.getLong(2);
            }
        }, subscriber);
        List<Long> heads = null;
        for (int p = 0; p < at.length; p++) {
            if (at[p] != null) {
                continue;
            }
            heads = heads == null ? eventLog.heads() : heads;
            try {
                jdbc.update("INSERT INTO event_cursor (subscriber, log_partition, position, updated_at)"
                        + " VALUES (?, ?, ?, ?)", subscriber, p, heads.get(p), Timestamp.from(clock.instant()));
                at[p] = heads.get(p);
            } catch (DuplicateKeyException raced) {
                at[p] = jdbc.queryForObject("SELECT position FROM event_cursor WHERE subscriber = ?"
                        + " AND log_partition = ?", Long.class, subscriber, p);
            }
        }
        if (heads != null) {
            log.info("Event log subscriber {} registered at the head of the partitions it had no cursor in",
                    subscriber);
        }
        return List.of(at);
    }

    /**
     * Whether the subscriber still has events of this contact to handle: after its cursor in the contact's partition
     * ({@code partition}), or waiting in {@code event_retry}. For an effect that must not run ahead of its contact's
     * events when another node reads them (a journey step falling due while the workflow engine's consumer, wherever
     * it runs, has yet to read the cancellation that ends the journey).
     */
    public boolean behind(String subscriber, java.util.UUID contactId, int partition) {
        List<Long> at = jdbc.queryForList("SELECT position FROM event_cursor WHERE subscriber = ? AND log_partition = ?",
                Long.class, subscriber, partition);
        if (!at.isEmpty() && eventLog.hasEventOf(contactId, partition, at.get(0))) {
            return true;
        }
        return !jdbc.queryForList("SELECT 1 FROM event_retry WHERE subscriber = ? AND contact_id = ? LIMIT 1",
                Integer.class, subscriber, contactId).isEmpty();
    }

    /**
     * One poll: the subscriber's due retries, then batches of new events after its cursor in each partition that has
     * any (read {@value #BATCH} at a time, up to ten batches in all, starting one partition further on each poll).
     * Returns how many events were handled or failed. A poll already running for this subscriber in this process
     * makes this one return 0 at once.
     */
    public int poll(EventSubscriber s) {
        return poll(s, () -> !Thread.currentThread().isInterrupted());
    }

    /**
     * The same, ending early (after the event or run at hand, whose cursor has moved) once {@code going} turns false:
     * for a caller that stops its poller without interrupting it.
     */
    public int poll(EventSubscriber s, java.util.function.BooleanSupplier going) {
        return poll(s, going, p -> true);
    }

    /**
     * The same over the partitions {@code owned} accepts only: on a node of a cluster, those the subscriber's Kafka
     * consumer group assigned to it ({@link KafkaPartitions}). Another node polling the same partition during a
     * rebalance is harmless: the cursor's compare-and-set rolls back the later effect.
     */
    public int poll(EventSubscriber s, java.util.function.BooleanSupplier going, java.util.function.IntPredicate owned) {
        // a subscriber reads what its events say is stored: no wait for the journal's applier (ContactWriter.asStored)
        return io.caravan.contact.ContactWriter.asStored(() -> pollAsStored(s, going, owned));
    }

    private int pollAsStored(EventSubscriber s, java.util.function.BooleanSupplier going,
            java.util.function.IntPredicate owned) {
        String name = s.subscriberName();
        ReentrantLock lock = locks.computeIfAbsent(name, k -> new ReentrantLock());
        if (!lock.tryLock()) {
            return 0;
        }
        try {
            int n = retries(s, owned);
            // the contacts parked for this subscriber now; one whose event fails below joins them for the rest
            Set<UUID> held = heldContacts(name);
            List<Long> cursors = cursor(name);
            List<Long> heads = eventLog.heads();
            int count = cursors.size();
            int first = nextStart.merge(name, 1, (a, b) -> (a + b) % count);
            for (int i = 0; i < count && n < 10 * BATCH && going.getAsBoolean(); i++) {
                int p = (first + i) % count;
                long cursor = cursors.get(p);
                if (heads.get(p) <= cursor || !owned.test(p)) {
                    continue;
                }
                List<LoggedEvent> batch;
                do {
                    batch = eventLog.read(name, p, cursor, BATCH);
                    if (batch.isEmpty()) {
                        break;
                    }
                    long last = batch.get(batch.size() - 1).position();
                    // the events the subscriber takes; the cursor moves past the others with them, unopened
                    List<LoggedEvent> wanted = new java.util.ArrayList<>(batch.size());
                    for (LoggedEvent e : batch) {
                        if (s.wants(e.type())) {
                            wanted.add(e);
                        }
                    }
                    if (s.batches() && wanted.size() > 1
                            && wanted.stream().noneMatch(e -> held.contains(e.contactId()))) {
                        Run run = handleRun(s, wanted, cursor, last);
                        if (run == Run.MOVED) {
                            return n;
                        }
                        if (run == Run.DONE) {
                            cursor = last;
                            n += batch.size();
                            continue;
                        }
                        // FAILED: rolled back; each event again in its own transaction, so only a bad one fails
                    }
                    for (LoggedEvent e : wanted) {
                        if (!going.getAsBoolean() || !handle(s, e, cursor, held)) {
                            return n;
                        }
                        cursor = e.position();
                        n++;
                    }
                    if (cursor < last) {
                        // the batch ends with events the subscriber leaves: one move past them
                        if (!going.getAsBoolean() || !moveCursor(name, p, cursor, last)) {
                            return n;
                        }
                        cursor = last;
                    }
                    n += batch.size() - wanted.size();
                } while (batch.size() == BATCH && n < 10 * BATCH && going.getAsBoolean());
            }
            return n;
        } finally {
            lock.unlock();
        }
    }

    private enum Run { DONE, MOVED, FAILED }

    /**
     * A batching subscriber's run of events in one transaction with the cursor's move to {@code to} (the last of them,
     * or an event after them it leaves).
     */
    private Run handleRun(EventSubscriber s, List<LoggedEvent> run, long from, long to) {
        try {
            tx.executeWithoutResult(st -> {
                s.onEvents(run);
                advance(s.subscriberName(), run.get(0).partition(), from, to);
            });
            return Run.DONE;
        } catch (CursorMoved moved) {
            return Run.MOVED;
        } catch (RuntimeException ex) {
            log.warn("A run of {} events failed for {} ({}); handled one by one", run.size(), s.subscriberName(),
                    PhiSafeLogging.describe(ex));
            return Run.FAILED;
        }
    }

    /**
     * False when another poller has moved the cursor: this poll stops. An event of a parked contact is not acted on:
     * it is held behind the contact's failed one, in the transaction that moves the cursor past it.
     */
    private boolean handle(EventSubscriber s, LoggedEvent e, long from, Set<UUID> held) {
        String name = s.subscriberName();
        if (e.contactId() != null && held.contains(e.contactId())) {
            try {
                tx.executeWithoutResult(st -> {
                    advance(name, e.partition(), from, e.position());
                    insertRetry(name, e, 0, null, null);
                });
                return true;
            } catch (CursorMoved moved) {
                return false;
            }
        }
        try {
            tx.executeWithoutResult(st -> {
                s.onEvent(e);
                advance(name, e.partition(), from, e.position());
            });
            return true;
        } catch (CursorMoved moved) {
            return false;
        } catch (RuntimeException ex) {
            log.error("Event {} (partition {} position {}) not handled by {} ({}); its contact is parked for it and"
                    + " the event retried later", e.id(), e.partition(), e.position(), name,
                    PhiSafeLogging.describe(ex));
            try {
                tx.executeWithoutResult(st -> {
                    advance(name, e.partition(), from, e.position());
                    insertRetry(name, e, 1, errorName(ex), clock.instant().plus(backoff(1)));
                });
                if (e.contactId() != null) {
                    held.add(e.contactId());
                }
                return true;
            } catch (CursorMoved moved) {
                return false;
            }
        }
    }

    private void insertRetry(String name, LoggedEvent e, int attempts, String error, java.time.Instant next) {
        Timestamp now = Timestamp.from(clock.instant());
        jdbc.update("INSERT INTO event_retry (subscriber, log_partition, position, attempts, parked, error, updated_at,"
                + " contact_id, event_id, next_attempt_at, since) VALUES (?, ?, ?, ?, FALSE, ?, ?, ?, ?, ?, ?)", name,
                e.partition(), e.position(), attempts, error, now, e.contactId(), e.id(),
                next == null ? null : Timestamp.from(next), now);
    }

    /** The contacts with an event waiting in {@code event_retry} for the subscriber: their new events wait too. */
    private Set<UUID> heldContacts(String name) {
        Set<UUID> held = ConcurrentHashMap.newKeySet();
        held.addAll(jdbc.queryForList("SELECT DISTINCT contact_id FROM event_retry WHERE subscriber = ?"
                + " AND contact_id IS NOT NULL", UUID.class, name));
        return held;
    }

    /**
     * Moves a cursor from {@code from} to {@code to} outside any effect (the Kafka relay's, after the broker has the
     * records); false when another node moved it first.
     */
    public boolean moveCursor(String subscriber, int partition, long from, long to) {
        try {
            advance(subscriber, partition, from, to);
            return true;
        } catch (CursorMoved moved) {
            return false;
        }
    }

    private void advance(String subscriber, int partition, long from, long to) {
        if (jdbc.update("UPDATE event_cursor SET position = ?, updated_at = ? WHERE subscriber = ?"
                + " AND log_partition = ? AND position = ?", to, Timestamp.from(clock.instant()), subscriber, partition,
                from) != 1) {
            throw new CursorMoved();
        }
    }

    /**
     * The due retries: the oldest waiting event of each parked contact whose backoff is over (and the old rows that
     * name no contact). After a success the contact's next held event is due at once: passes repeat while they
     * succeed.
     */
    private int retries(EventSubscriber s, java.util.function.IntPredicate owned) {
        int n = 0;
        int[] succeeded = {1};
        while (succeeded[0] > 0 && n < 10 * BATCH && !Thread.currentThread().isInterrupted()) {
            succeeded[0] = 0;
            n += retryPass(s, owned, succeeded);
        }
        return n;
    }

    private int retryPass(EventSubscriber s, java.util.function.IntPredicate owned, int[] succeeded) {
        String name = s.subscriberName();
        Map<Integer, List<Long>> due = new java.util.TreeMap<>();
        jdbc.query("SELECT r.log_partition, r.position FROM event_retry r WHERE r.subscriber = ? AND r.parked = FALSE"
                + " AND (r.next_attempt_at IS NULL OR r.next_attempt_at <= ?) AND NOT EXISTS (SELECT 1 FROM"
                + " event_retry o WHERE o.subscriber = r.subscriber AND o.contact_id = r.contact_id"
                + " AND o.log_partition = r.log_partition AND o.position < r.position)"
                + " ORDER BY r.log_partition, r.position LIMIT " + BATCH, rs -> {
                    if (owned.test(rs.getInt(1))) {
                        due.computeIfAbsent(rs.getInt(1), k -> new java.util.ArrayList<>()).add(rs.getLong(2));
                    }
                }, name, Timestamp.from(clock.instant()));
        int n = 0;
        for (Map.Entry<Integer, List<Long>> d : due.entrySet()) {
            n += retries(s, d.getKey(), d.getValue(), succeeded);
        }
        return n;
    }

    private int retries(EventSubscriber s, int partition, List<Long> due, int[] succeeded) {
        String name = s.subscriberName();
        List<LoggedEvent> events = eventLog.readAt(name, partition, due);
        if (events.size() < due.size()) {
            // an event gone from the log (none is deleted today) has nothing left to act on
            List<Long> found = events.stream().map(LoggedEvent::position).toList();
            due.stream().filter(p -> !found.contains(p)).forEach(p -> jdbc.update(
                    "DELETE FROM event_retry WHERE subscriber = ? AND log_partition = ? AND position = ?", name,
                    partition, p));
        }
        for (LoggedEvent e : events) {
            try {
                tx.executeWithoutResult(st -> {
                    s.onEvent(e);
                    if (jdbc.update("DELETE FROM event_retry WHERE subscriber = ? AND log_partition = ?"
                            + " AND position = ? AND parked = FALSE", name, partition, e.position()) != 1) {
                        throw new CursorMoved();
                    }
                });
                succeeded[0]++;
            } catch (CursorMoved moved) {
                // another poller handled this retry
            } catch (RuntimeException ex) {
                List<Integer> tried = jdbc.queryForList("SELECT attempts FROM event_retry WHERE subscriber = ?"
                        + " AND log_partition = ? AND position = ?", Integer.class, name, partition, e.position());
                if (tried.isEmpty()) {
                    continue; // skipped by an operator meanwhile
                }
                int attempts = tried.get(0);
                boolean park = attempts + 1 >= maxAttempts;
                java.time.Instant now = clock.instant();
                jdbc.update("UPDATE event_retry SET attempts = attempts + 1, parked = ?, error = ?, updated_at = ?,"
                        + " next_attempt_at = ? WHERE subscriber = ? AND log_partition = ? AND position = ?", park,
                        errorName(ex), Timestamp.from(now), Timestamp.from(now.plus(backoff(attempts + 1))), name,
                        partition, e.position());
                if (park) {
                    log.error("Event {} (partition {} position {}) parked for {} after {} failed attempts ({}): its"
                            + " contact waits for an operator (GET /api/event-log/parked)", e.id(), partition,
                            e.position(), name, attempts + 1, PhiSafeLogging.describe(ex));
                    parked.computeIfAbsent(name, k -> Counter.builder("caravan_event_log_parked_total")
                            .description("Events a subscriber gave up on after its retries")
                            .tag("subscriber", k).register(meters)).increment();
                } else {
                    log.error("Event {} (partition {} position {}) not handled by {} again ({})", e.id(),
                            partition, e.position(), name, PhiSafeLogging.describe(ex));
                }
            }
        }
        return events.size();
    }

    /** {@link PhiSafeLogging#describe}: classes and where, never a message (it may carry data). */
    private static String errorName(RuntimeException ex) {
        String n = PhiSafeLogging.describe(ex);
        return n.length() > 200 ? n.substring(0, 200) : n;
    }
}
