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
            byte[] body, int attempts, Instant createdAt) {
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
        byte[] body;
        try {
            body = JSON.writeValueAsBytes(payload);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("payload not serialisable", null);
        }
        Timestamp now = Timestamp.from(clock.instant());
        jdbc.update("INSERT INTO stream_outbox (destination, event_id, log_position, event_type, form, surrogate,"
                + " key_id, payload, created_at, attempts, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
                destination, eventId, position, type, form, surrogate, cipher.activeKeyId(),
                cipher.seal(body, eventId.toString()), now, now);
    }

    /** The destination's undelivered entries from the oldest, at most {@code max}. */
    public List<Entry> pending(String destination, int max) {
        return jdbc.query("SELECT seq, event_id, event_type, form, surrogate, key_id, payload, attempts, created_at"
                + " FROM stream_outbox WHERE destination = ? AND delivered_at IS NULL ORDER BY seq LIMIT " + max,
                (rs, n) -> {
                    UUID id = rs.getObject(2, UUID.class);
                    return new Entry(rs.getLong(1), destination, id, rs.getString(3), rs.getString(4),
                            rs.getObject(5, UUID.class), cipher.open(rs.getString(6), rs.getBytes(7), id.toString()),
                            rs.getInt(8), rs.getTimestamp(9).toInstant());
                }, destination);
    }
}
