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
 * Drives subscribers over the event log with their durable cursors (table {@code event_cursor}: one per subscriber and
 * log partition, as a Kafka consumer group commits one offset per topic partition). Each event is acted on in its own
 * transaction that also moves its partition's cursor from the position it was read at to the event's - a
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
    /** Where each subscriber's next poll starts reading, so a backlog in one partition cannot starve the others. */
    private final Map<String, Integer> nextStart = new ConcurrentHashMap<>();

    public Subscriptions(EventLog eventLog, JdbcTemplate jdbc, TransactionTemplate tx, MeterRegistry meters,
            Clock clock) {
        this.eventLog = eventLog;
        this.jdbc = jdbc;
        this.tx = tx;
        this.meters = meters;
        this.clock = clock;
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
        String name = s.subscriberName();
        ReentrantLock lock = locks.computeIfAbsent(name, k -> new ReentrantLock());
        if (!lock.tryLock()) {
            return 0;
        }
        try {
            int n = retries(s, owned);
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
                    if (s.batches() && batch.size() > 1) {
                        Run run = handleRun(s, batch, cursor);
                        if (run == Run.MOVED) {
                            return n;
                        }
                        if (run == Run.DONE) {
                            cursor = batch.get(batch.size() - 1).position();
                            n += batch.size();
                            continue;
                        }
                        // FAILED: rolled back; each event again in its own transaction, so only a bad one fails
                    }
                    for (LoggedEvent e : batch) {
                        if (!going.getAsBoolean() || !handle(s, e, cursor)) {
                            return n;
                        }
                        cursor = e.position();
                        n++;
                    }
                } while (batch.size() == BATCH && n < 10 * BATCH && going.getAsBoolean());
            }
            return n;
        } finally {
            lock.unlock();
        }
    }

    private enum Run { DONE, MOVED, FAILED }

    /** A batching subscriber's run of events in one transaction with the cursor's move past the last of them. */
    private Run handleRun(EventSubscriber s, List<LoggedEvent> run, long from) {
        try {
            tx.executeWithoutResult(st -> {
                s.onEvents(run);
                advance(s.subscriberName(), run.get(0).partition(), from, run.get(run.size() - 1).position());
            });
            return Run.DONE;
        } catch (CursorMoved moved) {
            return Run.MOVED;
        } catch (RuntimeException ex) {
            log.warn("A run of {} events failed for {} ({}); handled one by one", run.size(), s.subscriberName(),
                    ex.getClass().getSimpleName());
            return Run.FAILED;
        }
    }

    /** False when another poller has moved the cursor: this poll stops. */
    private boolean handle(EventSubscriber s, LoggedEvent e, long from) {
        String name = s.subscriberName();
        try {
            tx.executeWithoutResult(st -> {
                s.onEvent(e);
                advance(name, e.partition(), from, e.position());
            });
            return true;
        } catch (CursorMoved moved) {
            return false;
        } catch (RuntimeException ex) {
            log.error("Event {} (partition {} position {}) not handled by {} ({}); retried later", e.event().id(),
                    e.partition(), e.position(), name, ex.getClass().getSimpleName());
            try {
                tx.executeWithoutResult(st -> {
                    advance(name, e.partition(), from, e.position());
                    jdbc.update("INSERT INTO event_retry (subscriber, log_partition, position, attempts, parked, error,"
                            + " updated_at) VALUES (?, ?, ?, 1, FALSE, ?, ?)", name, e.partition(), e.position(),
                            errorName(ex), Timestamp.from(clock.instant()));
                });
                return true;
            } catch (CursorMoved moved) {
                return false;
            }
        }
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

    private int retries(EventSubscriber s, java.util.function.IntPredicate owned) {
        String name = s.subscriberName();
        Map<Integer, List<Long>> due = new java.util.TreeMap<>();
        jdbc.query("SELECT log_partition, position FROM event_retry WHERE subscriber = ? AND parked = FALSE"
                + " ORDER BY log_partition, position LIMIT " + BATCH, rs -> {
                    if (owned.test(rs.getInt(1))) {
                        due.computeIfAbsent(rs.getInt(1), k -> new java.util.ArrayList<>()).add(rs.getLong(2));
                    }
                }, name);
        int n = 0;
        for (Map.Entry<Integer, List<Long>> d : due.entrySet()) {
            n += retries(s, d.getKey(), d.getValue());
        }
        return n;
    }

    private int retries(EventSubscriber s, int partition, List<Long> due) {
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
            } catch (CursorMoved moved) {
                // another poller handled this retry
            } catch (RuntimeException ex) {
                Integer attempts = jdbc.queryForObject("SELECT attempts FROM event_retry WHERE subscriber = ?"
                        + " AND log_partition = ? AND position = ?", Integer.class, name, partition, e.position());
                boolean park = attempts != null && attempts + 1 >= MAX_ATTEMPTS;
                jdbc.update("UPDATE event_retry SET attempts = attempts + 1, parked = ?, error = ?, updated_at = ?"
                        + " WHERE subscriber = ? AND log_partition = ? AND position = ?", park, errorName(ex),
                        Timestamp.from(clock.instant()), name, partition, e.position());
                if (park) {
                    log.error("Event {} (partition {} position {}) parked for {} after {} failed attempts ({});"
                            + " see event_retry", e.event().id(), partition, e.position(), name, MAX_ATTEMPTS,
                            ex.getClass().getSimpleName());
                    parked.computeIfAbsent(name, k -> Counter.builder("caravan_event_log_parked_total")
                            .description("Events a subscriber gave up on after its retries")
                            .tag("subscriber", k).register(meters)).increment();
                } else {
                    log.error("Event {} (partition {} position {}) not handled by {} again ({})", e.event().id(),
                            partition, e.position(), name, ex.getClass().getSimpleName());
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
