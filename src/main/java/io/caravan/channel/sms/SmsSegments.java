package io.caravan.channel.sms;

import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Repository;

/**
 * The segments each text went out as, by the id the SMSC gave each one, so a delivery receipt (which names only that
 * id) finds its message; and the outcome each receipt reported, so a message gets its one final status when the last
 * of its segments is reported.
 */
@Repository
public class SmsSegments {

    private final JdbcTemplate jdbc;

    public SmsSegments(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    /** @param numberMac the MAC of the number the text went to ({@link SmsNumberBook}), or null */
    public void submitted(String adapter, UUID messageId, String numberMac, List<String> smscIds, Instant at) {
        for (int i = 0; i < smscIds.size(); i++) {
            jdbc.update("INSERT INTO sms_segment (adapter, smsc_id, message_id, seq, total, at, number_mac)"
                    + " VALUES (?, ?, ?, ?, ?, ?, ?)", adapter, smscIds.get(i), messageId, i + 1, smscIds.size(),
                    Timestamp.from(at), numberMac);
        }
    }

    /** The message a segment belongs to, if the hub sent it. */
    public Optional<UUID> messageOf(String adapter, String smscId) {
        return jdbc.queryForList("SELECT message_id FROM sms_segment WHERE adapter = ? AND smsc_id = ?", UUID.class,
                adapter, smscId).stream().findFirst();
    }

    /**
     * The status of the message each of these segments belongs to, by segment id, in one query (a run of receipts);
     * ids the hub did not send, or has not recorded yet, are absent.
     */
    public Map<String, Sent> statusOf(String adapter, java.util.Collection<String> smscIds) {
        Map<String, Sent> out = new java.util.HashMap<>();
        if (smscIds.isEmpty()) {
            return out;
        }
        // one statement, a key look-up per id: H2 scans the whole table for an IN list on the key's second column
        jdbc.execute((java.sql.Connection c) -> {
            try (java.sql.PreparedStatement ps = c.prepareStatement("SELECT s.message_id, s.total, m.status FROM"
                    + " sms_segment s JOIN outbound_message m ON m.id = s.message_id WHERE s.adapter = ?"
                    + " AND s.smsc_id = ?")) {
                ps.setString(1, adapter);
                for (String id : smscIds) {
                    ps.setString(2, id);
                    try (java.sql.ResultSet rs = ps.executeQuery()) {
                        if (rs.next()) {
                            out.put(id, new Sent(rs.getObject(1, UUID.class), rs.getInt(2), rs.getString(3)));
                        }
                    }
                }
            }
            return null;
        });
        return out;
    }

    /** A segment's message, how many segments it went as, and the message's status. */
    public record Sent(UUID messageId, int total, String status) {
    }

    /**
     * {@link #receipt} for a text of one segment, whose message the caller has read already: the first receipt sets
     * the outcome, which is then the message's only one; empty for a repeated receipt.
     */
    public Optional<Reported> receiptAlone(String adapter, String smscId, UUID messageId, String outcome) {
        int changed = jdbc.update("UPDATE sms_segment SET outcome = ? WHERE adapter = ? AND smsc_id = ?"
                + " AND outcome IS NULL", outcome, adapter, smscId);
        return changed == 0 ? Optional.empty() : Optional.of(new Reported(messageId, List.of(outcome)));
    }

    /** A receipt that came before its text was recorded as sent: kept for {@link #early}. */
    public void keepEarly(String adapter, String smscId, String state, String error, Instant at) {
        jdbc.update("INSERT INTO sms_receipt_early (adapter, smsc_id, state, error, at) SELECT ?, ?, ?, ?, ? WHERE NOT"
                + " EXISTS (SELECT 1 FROM sms_receipt_early WHERE adapter = ? AND smsc_id = ?)", adapter, smscId,
                state, error, Timestamp.from(at), adapter, smscId);
    }

    public record Early(String smscId, String state, String error, Instant at) {
    }

    /** Early receipts kept before {@code before} (younger ones are still being tried by the receipt applier). */
    public List<Early> early(String adapter, Instant before) {
        return jdbc.query("SELECT smsc_id, state, error, at FROM sms_receipt_early WHERE adapter = ? AND at < ?"
                + " ORDER BY at FETCH FIRST 1000 ROWS ONLY", (rs, n) -> new Early(rs.getString(1), rs.getString(2),
                rs.getString(3), rs.getTimestamp(4).toInstant()), adapter, Timestamp.from(before));
    }

    /** True for the one caller that removed it (the retry and the sweep may race for it). */
    public boolean dropEarly(String adapter, String smscId) {
        return jdbc.update("DELETE FROM sms_receipt_early WHERE adapter = ? AND smsc_id = ?", adapter, smscId) == 1;
    }

    /** What a message's segments reported, once every one has: outcome per segment; empty while some are pending. */
    public record Reported(UUID messageId, List<String> outcomes) {
    }

    /**
     * Records a receipt's outcome on its segment (the first receipt per segment counts; SMSCs repeat them) and
     * returns the message's outcomes once all of its segments are reported. Empty when the id is unknown (another
     * system's message) or segments are still pending.
     */
    public Optional<Reported> receipt(String adapter, String smscId, String outcome) {
        List<Map<String, Object>> seg = jdbc.queryForList("SELECT message_id, total FROM sms_segment WHERE adapter = ?"
                + " AND smsc_id = ?", adapter, smscId);
        if (seg.isEmpty()) {
            return Optional.empty();
        }
        UUID id = (UUID) seg.get(0).get("message_id");
        if (((Number) seg.get(0).get("total")).intValue() > 1) {
            // in the caller's transaction, receipts for two segments of one text would each miss the other's
            // uncommitted outcome and neither would report the message: one at a time per message
            jdbc.queryForList("SELECT seq FROM sms_segment WHERE message_id = ? ORDER BY seq FOR UPDATE", id);
        }
        int changed = jdbc.update("UPDATE sms_segment SET outcome = ? WHERE adapter = ? AND smsc_id = ?"
                + " AND outcome IS NULL", outcome, adapter, smscId);
        if (changed == 0) {
            return Optional.empty(); // a repeated receipt: the first one already counted
        }
        List<Map<String, Object>> rows = jdbc.queryForList("SELECT outcome FROM sms_segment WHERE message_id = ?", id);
        if (rows.stream().anyMatch(r -> r.get("outcome") == null)) {
            return Optional.empty();
        }
        return Optional.of(new Reported(id, rows.stream().map(r -> (String) r.get("outcome")).toList()));
    }
}
