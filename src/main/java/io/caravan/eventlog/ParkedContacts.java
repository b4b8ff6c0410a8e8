package io.caravan.eventlog;

import io.caravan.audit.Actions;
import io.caravan.audit.AuditDraft;
import io.caravan.audit.AuditLog;
import java.sql.Timestamp;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * The contacts parked for a subscriber ({@link Subscriptions}): what an operator sees of them and the two things they
 * can do - try the failed event now, or give it up so the contact's held events go on. Ids, positions, counts, times
 * and where a failure arose (exception classes, hub frame, SQL state): {@code event_retry} keeps no event content and
 * no error message.
 */
@Component
public class ParkedContacts {

    /** One parked contact of one subscriber: the failed event first, then those held behind it, in log order. */
    public record Parked(String subscriber, UUID contactId, List<Held> events, int attempts, boolean exhausted,
            String error, java.time.Instant since, java.time.Instant nextAttempt) {
    }

    /** An event waiting for a subscriber: its id and where it is in the log. */
    public record Held(UUID eventId, int partition, long position) {
    }

    /** What a skip gave up. */
    public record Skipped(String subscriber, UUID contactId, Held event, int released) {
    }

    private static final int MAX_ROWS = 10_000;

    private final JdbcTemplate jdbc;
    private final AuditLog audit;
    private final Clock clock;

    public ParkedContacts(JdbcTemplate jdbc, AuditLog audit, Clock clock) {
        this.jdbc = jdbc;
        this.audit = audit;
        this.clock = clock;
    }

    /** Every parked contact (of one subscriber, when named), oldest first within each. */
    public List<Parked> list(String subscriber) {
        Map<String, List<Map<String, Object>>> byContact = new LinkedHashMap<>();
        String where = subscriber == null ? "" : " AND subscriber = ?";
        Object[] args = subscriber == null ? new Object[0] : new Object[] {subscriber};
        jdbc.query("SELECT subscriber, contact_id, event_id, log_partition, position, attempts, parked, error, since,"
                + " next_attempt_at FROM event_retry WHERE contact_id IS NOT NULL" + where
                + " ORDER BY subscriber, contact_id, log_partition, position LIMIT " + MAX_ROWS, rs -> {
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("subscriber", rs.getString(1));
                    row.put("contact", rs.getObject(2, UUID.class));
                    row.put("event", rs.getObject(3, UUID.class));
                    row.put("partition", rs.getInt(4));
                    row.put("position", rs.getLong(5));
                    row.put("attempts", rs.getInt(6));
                    row.put("parked", rs.getBoolean(7));
                    row.put("error", rs.getString(8));
                    row.put("since", rs.getTimestamp(9));
                    row.put("next", rs.getTimestamp(10));
                    byContact.computeIfAbsent(row.get("subscriber") + "/" + row.get("contact"), k -> new ArrayList<>())
                            .add(row);
                }, args);
        List<Parked> out = new ArrayList<>();
        for (List<Map<String, Object>> rows : byContact.values()) {
            Map<String, Object> head = rows.get(0);
            List<Held> events = rows.stream().map(r -> new Held((UUID) r.get("event"), (Integer) r.get("partition"),
                    (Long) r.get("position"))).toList();
            java.time.Instant since = rows.stream().map(r -> (Timestamp) r.get("since")).filter(t -> t != null)
                    .map(Timestamp::toInstant).min(java.util.Comparator.naturalOrder()).orElse(null);
            boolean exhausted = (Boolean) head.get("parked");
            Timestamp next = (Timestamp) head.get("next");
            out.add(new Parked((String) head.get("subscriber"), (UUID) head.get("contact"), events,
                    (Integer) head.get("attempts"), exhausted, (String) head.get("error"), since,
                    exhausted ? null : next == null ? clock.instant() : next.toInstant()));
        }
        return out;
    }

    /** How many contacts are parked for the subscriber: the gauge's value. */
    public long count(String subscriber) {
        Long n = jdbc.queryForObject("SELECT COUNT(DISTINCT contact_id) FROM event_retry WHERE subscriber = ?"
                + " AND contact_id IS NOT NULL", Long.class, subscriber);
        return n == null ? 0 : n;
    }

    /**
     * Makes the contact's failed event due now, its attempts used up or not (the subscriber's next poll tries it;
     * a failure then parks it again at once when they are). Audited. Empty when the contact is not parked.
     */
    public Optional<Held> retry(String subscriber, UUID contact, String operator) {
        Optional<Held> head = head(subscriber, contact);
        if (head.isEmpty()) {
            return head;
        }
        audit.appendAndWait(AuditDraft.of(operator, Actions.EVENT_RETRIED).contact(contact).outcome("retry")
                .detail("subscriber", subscriber).detail("event", head.get().eventId().toString()),
                c -> {
                    try (var st = c.prepareStatement("UPDATE event_retry SET parked = FALSE, next_attempt_at = NULL"
                            + " WHERE subscriber = ? AND contact_id = ?")) {
                        st.setString(1, subscriber);
                        st.setObject(2, contact);
                        st.executeUpdate();
                    }
                });
        return head;
    }

    /**
     * Gives up the contact's failed event for the subscriber (it is never acted on by it) and releases the events held
     * behind it, which the next poll acts on in order. The audit entry and the removal commit together.
     */
    public Optional<Skipped> skip(String subscriber, UUID contact, String operator) {
        Optional<Held> head = head(subscriber, contact);
        if (head.isEmpty()) {
            return Optional.empty();
        }
        Held h = head.get();
        Integer rows = jdbc.queryForObject("SELECT COUNT(*) FROM event_retry WHERE subscriber = ? AND contact_id = ?",
                Integer.class, subscriber, contact);
        audit.appendAndWait(AuditDraft.of(operator, Actions.EVENT_SKIPPED).contact(contact).outcome("skipped")
                .detail("subscriber", subscriber).detail("event", h.eventId() == null ? null : h.eventId().toString())
                .detail("partition", h.partition()).detail("position", h.position()),
                c -> {
                    try (var st = c.prepareStatement("DELETE FROM event_retry WHERE subscriber = ?"
                            + " AND log_partition = ? AND position = ?")) {
                        st.setString(1, subscriber);
                        st.setInt(2, h.partition());
                        st.setLong(3, h.position());
                        st.executeUpdate();
                    }
                    // the held ones become due at once, the next in line first
                    try (var st = c.prepareStatement("UPDATE event_retry SET next_attempt_at = NULL"
                            + " WHERE subscriber = ? AND contact_id = ?")) {
                        st.setString(1, subscriber);
                        st.setObject(2, contact);
                        st.executeUpdate();
                    }
                });
        return Optional.of(new Skipped(subscriber, contact, h, rows == null ? 0 : Math.max(0, rows - 1)));
    }

    private Optional<Held> head(String subscriber, UUID contact) {
        return jdbc.query("SELECT event_id, log_partition, position FROM event_retry WHERE subscriber = ?"
                + " AND contact_id = ? ORDER BY log_partition, position LIMIT 1",
                (rs, i) -> new Held(rs.getObject(1, UUID.class), rs.getInt(2), rs.getLong(3)), subscriber, contact)
                .stream().findFirst();
    }
}
