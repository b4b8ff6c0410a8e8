package io.caravan.stream;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.crypto.FieldCipher;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * The stream outbox (table {@code stream_outbox}, owned here): what each destination is to receive, in order, written
 * in the transaction of the event-log subscriber's cursor and drained by the destination's publisher.
 */
@Component
public class StreamOutbox {

    /** One entry as the publisher reads it. {@code body} is the exact JSON sent (the webhook signature covers it). */
    public record Entry(long seq, String destination, UUID eventId, String eventType, String form, UUID surrogate,
            byte[] body, int attempts, Instant createdAt, Instant nextAttemptAt) {
    }

    /** A destination's outbox in numbers (no PHI): what waits, since when, what was given up, the head's error. */
    public record Backlog(long pending, Instant oldestPending, long givenUp, String headError,
            Instant lastDelivered) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final JdbcTemplate jdbc;
    private final FieldCipher cipher;
    private final Clock clock;

    public StreamOutbox(JdbcTemplate jdbc, FieldCipher cipher, Clock clock) {
        this.jdbc = jdbc;
        this.cipher = cipher;
        this.clock = clock;
    }

    /** Adds one event for a destination (inside the caller's transaction). */
    public void add(String destination, UUID eventId, long position, String type, String form, UUID surrogate,
            Map<String, Object> payload) {
        addAll(List.of(new Added(destination, eventId, position, type, form, surrogate, payload)));
    }

    /** One event to add. */
    public record Added(String destination, UUID eventId, long position, String type, String form, UUID surrogate,
            Map<String, Object> payload) {
    }

    /** Adds events in order, in one batch of inserts (inside the caller's transaction). */
    public void addAll(List<Added> all) {
        if (all.isEmpty()) {
            return;
        }
        Timestamp now = Timestamp.from(clock.instant());
        List<Object[]> rows = new java.util.ArrayList<>(all.size());
        for (Added a : all) {
            byte[] body;
            try {
                body = JSON.writeValueAsBytes(a.payload());
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("payload not serialisable", null);
            }
            rows.add(new Object[] {a.destination(), a.eventId(), a.position(), a.type(), a.form(), a.surrogate(),
                    cipher.activeKeyId(), cipher.seal(body, a.eventId().toString()), now, now});
        }
        jdbc.batchUpdate("INSERT INTO stream_outbox (destination, event_id, log_position, event_type, form, surrogate,"
                + " key_id, payload, created_at, attempts, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
                rows);
    }

    /** The destination's undelivered entries (not given up) from the oldest, at most {@code max}. */
    public List<Entry> pending(String destination, int max) {
        return jdbc.query("SELECT seq, event_id, event_type, form, surrogate, key_id, payload, attempts, created_at,"
                + " next_attempt_at FROM stream_outbox WHERE destination = ? AND delivered_at IS NULL"
                + " AND given_up_at IS NULL ORDER BY seq LIMIT " + max,
                (rs, n) -> {
                    UUID id = rs.getObject(2, UUID.class);
                    return new Entry(rs.getLong(1), destination, id, rs.getString(3), rs.getString(4),
                            rs.getObject(5, UUID.class), cipher.open(rs.getString(6), rs.getBytes(7), id.toString()),
                            rs.getInt(8), rs.getTimestamp(9).toInstant(), rs.getTimestamp(10).toInstant());
                }, destination);
    }

    public void delivered(long seq) {
        jdbc.update("UPDATE stream_outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL"
                + " WHERE seq = ?", Timestamp.from(clock.instant()), seq);
    }

    /** Entries the destination took together (one Kafka batch): one statement per few hundred. */
    public void delivered(List<Long> seqs) {
        Timestamp now = Timestamp.from(clock.instant());
        for (int from = 0; from < seqs.size(); from += 500) {
            List<Long> chunk = seqs.subList(from, Math.min(seqs.size(), from + 500));
            List<Object> args = new java.util.ArrayList<>();
            args.add(now);
            args.addAll(chunk);
            jdbc.update("UPDATE stream_outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL"
                    + " WHERE seq IN (" + "?,".repeat(chunk.size() - 1) + "?)", args.toArray());
        }
    }

    /**
     * A run the destination took together (one Kafka batch): the destination's pending entries from {@code first} to
     * {@code last} in seq order that were due at {@code dueAt}, marked in one statement of a fixed text (an id list
     * is a new statement to parse for every batch size). Entries in that range already delivered or given up are left
     * as they are; so is one a replay reset after the batch was read (its next attempt is later than
     * {@code dueAt}): it goes again. Returns how many were marked.
     */
    public int deliveredRun(String destination, long first, long last, Instant dueAt) {
        return jdbc.update("UPDATE stream_outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL"
                + " WHERE destination = ? AND seq >= ? AND seq <= ? AND delivered_at IS NULL AND given_up_at IS NULL"
                + " AND next_attempt_at <= ?", Timestamp.from(clock.instant()), destination, first, last,
                Timestamp.from(dueAt));
    }

    /** A failed attempt: tried again at {@code next}. {@code error} names a status or an exception class, no PHI. */
    public void failed(long seq, Instant next, String error) {
        jdbc.update("UPDATE stream_outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?"
                + " WHERE seq = ?", Timestamp.from(next), cut(error), seq);
    }

    /** Its retry window is over: the entries behind it may go; a replay can send it again. */
    public void giveUp(long seq, String error) {
        jdbc.update("UPDATE stream_outbox SET attempts = attempts + 1, given_up_at = ?, last_error = ?"
                + " WHERE seq = ?", Timestamp.from(clock.instant()), cut(error), seq);
    }

    /** Every entry of the destination written at or after {@code from} is sent again, in order, with its own id. */
    public int replay(String destination, Instant from) {
        return jdbc.update("UPDATE stream_outbox SET delivered_at = NULL, given_up_at = NULL, attempts = 0,"
                + " next_attempt_at = ?, last_error = NULL WHERE destination = ? AND created_at >= ?",
                Timestamp.from(clock.instant()), destination, Timestamp.from(from));
    }

    public Backlog backlog(String destination) {
        Map<String, Object> p = jdbc.queryForMap("SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM stream_outbox"
                + " WHERE destination = ? AND delivered_at IS NULL AND given_up_at IS NULL", destination);
        Long givenUp = jdbc.queryForObject("SELECT COUNT(*) FROM stream_outbox WHERE destination = ?"
                + " AND given_up_at IS NOT NULL AND delivered_at IS NULL", Long.class, destination);
        List<String> head = jdbc.queryForList("SELECT last_error FROM stream_outbox WHERE destination = ?"
                + " AND delivered_at IS NULL AND given_up_at IS NULL ORDER BY seq LIMIT 1", String.class,
                destination);
        Timestamp last = jdbc.queryForObject("SELECT MAX(delivered_at) FROM stream_outbox WHERE destination = ?",
                Timestamp.class, destination);
        return new Backlog(((Number) p.get("n")).longValue(), instant(p.get("oldest")), givenUp == null ? 0 : givenUp,
                head.isEmpty() ? null : head.get(0), last == null ? null : last.toInstant());
    }

    private static Instant instant(Object o) {
        if (o instanceof Timestamp t) {
            return t.toInstant();
        }
        if (o instanceof java.time.OffsetDateTime t) {
            return t.toInstant();
        }
        return null;
    }

    private static String cut(String s) {
        return s == null || s.length() <= 200 ? s : s.substring(0, 200);
    }
}
