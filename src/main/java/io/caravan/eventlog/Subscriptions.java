package io.caravan.eventlog;

import io.caravan.contact.ContactStore.LoggedEvent;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.sql.Timestamp;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Drives subscribers over the event log with their durable cursors (table {@code event_cursor}). Each event is acted
 * on in its own transaction that also moves the cursor from the position it was read at to the event's - a
 * compare-and-set, so a second poller (another node, an overlapping tick) rolls its effect back instead of acting
 * twice. An event whose effect fails is not retried in place, which would block every event behind it: the cursor
 * moves past it and the event goes to {@code event_retry}, tried again on each later poll, and after {@value
 * #MAX_ATTEMPTS} failures parked (a PHI-free log line with the event's id, and {@code caravan_event_log_parked_total}).
 */
@Component
public class Subscriptions {

    private static final Logger log = LoggerFactory.getLogger(Subscriptions.class);
    static final int MAX_ATTEMPTS = 5;
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
    private final Map<String, ReentrantLock> locks = new ConcurrentHashMap<>();
    private final Map<String, Counter> parked = new ConcurrentHashMap<>();

    public Subscriptions(EventLog eventLog, JdbcTemplate jdbc, TransactionTemplate tx, MeterRegistry meters,
            Clock clock) {
        this.eventLog = eventLog;
        this.jdbc = jdbc;
        this.tx = tx;
        this.meters = meters;
        this.clock = clock;
    }

    /**
     * The subscriber's cursor, created at the log's head when it has none: a subscriber added later starts from now,
     * not from the beginning (a new webhook must not receive years of history; a backfill is a deliberate replay).
     */
    public long cursor(String subscriber) {
        List<Long> at = jdbc.queryForList("SELECT position FROM event_cursor WHERE subscriber = ?", Long.class,
                subscriber);
        if (!at.isEmpty()) {
            return at.get(0);
        }
        long head = eventLog.head();
        try {
            jdbc.update("INSERT INTO event_cursor (subscriber, position, updated_at) VALUES (?, ?, ?)", subscriber,
                    head, Timestamp.from(clock.instant()));
            log.info("Event log subscriber {} registered at position {}", subscriber, head);
            return head;
        } catch (DuplicateKeyException raced) {
            return jdbc.queryForObject("SELECT position FROM event_cursor WHERE subscriber = ?", Long.class,
                    subscriber);
        }
    }

    /**
     * One poll: the subscriber's due retries, then batches of new events after its cursor (read {@value #BATCH} at a
     * time, up to ten batches). Returns how many events were handled or failed. A poll already running for this
     * subscriber in this process makes this one return 0 at once.
     */
    public int poll(EventSubscriber s) {
        String name = s.subscriberName();
        ReentrantLock lock = locks.computeIfAbsent(name, k -> new ReentrantLock());
        if (!lock.tryLock()) {
            return 0;
        }
        try {
            int n = retries(s);
            long cursor = cursor(name);
            List<LoggedEvent> batch;
            do {
                batch = eventLog.read(name, cursor, BATCH);
                for (LoggedEvent e : batch) {
                    if (!handle(s, e, cursor)) {
                        return n;
                    }
                    cursor = e.position();
                    n++;
                }
            } while (batch.size() == BATCH && n < 10 * BATCH && !Thread.currentThread().isInterrupted());
            return n;
        } finally {
            lock.unlock();
        }
    }

    /** False when another poller has moved the cursor: this poll stops. */
    private boolean handle(EventSubscriber s, LoggedEvent e, long from) {
        String name = s.subscriberName();
        try {
            tx.executeWithoutResult(st -> {
                s.onEvent(e);
                advance(name, from, e.position());
            });
            return true;
        } catch (CursorMoved moved) {
            return false;
        } catch (RuntimeException ex) {
            log.error("Event {} (position {}) not handled by {} ({}); retried later", e.event().id(), e.position(),
                    name, ex.getClass().getSimpleName());
            try {
                tx.executeWithoutResult(st -> {
                    advance(name, from, e.position());
                    jdbc.update("INSERT INTO event_retry (subscriber, position, attempts, parked, error, updated_at)"
                            + " VALUES (?, ?, 1, FALSE, ?, ?)", name, e.position(), errorName(ex),
                            Timestamp.from(clock.instant()));
                });
                return true;
            } catch (CursorMoved moved) {
                return false;
            }
        }
    }

    private void advance(String subscriber, long from, long to) {
        if (jdbc.update("UPDATE event_cursor SET position = ?, updated_at = ? WHERE subscriber = ? AND position = ?",
                to, Timestamp.from(clock.instant()), subscriber, from) != 1) {
            throw new CursorMoved();
        }
    }

    private int retries(EventSubscriber s) {
        String name = s.subscriberName();
        List<Long> due = jdbc.queryForList("SELECT position FROM event_retry WHERE subscriber = ? AND parked = FALSE"
                + " ORDER BY position LIMIT " + BATCH, Long.class, name);
        if (due.isEmpty()) {
            return 0;
        }
        List<LoggedEvent> events = eventLog.readAt(name, due);
        if (events.size() < due.size()) {
            // an event gone from the log (none is deleted today) has nothing left to act on
            List<Long> found = events.stream().map(LoggedEvent::position).toList();
            due.stream().filter(p -> !found.contains(p)).forEach(p -> jdbc.update(
                    "DELETE FROM event_retry WHERE subscriber = ? AND position = ?", name, p));
        }
        for (LoggedEvent e : events) {
            try {
                tx.executeWithoutResult(st -> {
                    s.onEvent(e);
                    if (jdbc.update("DELETE FROM event_retry WHERE subscriber = ? AND position = ? AND parked = FALSE",
                            name, e.position()) != 1) {
                        throw new CursorMoved();
                    }
                });
            } catch (CursorMoved moved) {
                // another poller handled this retry
            } catch (RuntimeException ex) {
                Integer attempts = jdbc.queryForObject("SELECT attempts FROM event_retry WHERE subscriber = ?"
                        + " AND position = ?", Integer.class, name, e.position());
                boolean park = attempts != null && attempts + 1 >= MAX_ATTEMPTS;
                jdbc.update("UPDATE event_retry SET attempts = attempts + 1, parked = ?, error = ?, updated_at = ?"
                        + " WHERE subscriber = ? AND position = ?", park, errorName(ex),
                        Timestamp.from(clock.instant()), name, e.position());
                if (park) {
                    log.error("Event {} (position {}) parked for {} after {} failed attempts ({}); see event_retry",
                            e.event().id(), e.position(), name, MAX_ATTEMPTS, ex.getClass().getSimpleName());
                    parked.computeIfAbsent(name, k -> Counter.builder("caravan_event_log_parked_total")
                            .description("Events a subscriber gave up on after its retries")
                            .tag("subscriber", k).register(meters)).increment();
                } else {
                    log.error("Event {} (position {}) not handled by {} again ({})", e.event().id(), e.position(),
                            name, ex.getClass().getSimpleName());
                }
            }
        }
        return events.size();
    }

    /** The exception's class name only: messages may carry values. */
    private static String errorName(RuntimeException ex) {
        String n = ex.getClass().getSimpleName();
        return n.length() > 200 ? n.substring(0, 200) : n;
    }
}
