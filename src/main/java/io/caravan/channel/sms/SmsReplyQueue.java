package io.caravan.channel.sms;

import io.caravan.crypto.FieldCipher;
import io.caravan.system.Ids;
import io.caravan.system.JsonMaps;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Repository;

/** Keyword answers waiting to go ({@code sms_reply}): number and text sealed, taken by one sender at a time. */
@Repository
class SmsReplyQueue {

    record Reply(UUID id, String numberMac, String number, String text, int attempts, Instant due, Instant deadline) {
    }

    private final JdbcTemplate jdbc;
    private final FieldCipher cipher;
    private volatile Boolean h2;

    SmsReplyQueue(JdbcTemplate jdbc, FieldCipher cipher) {
        this.jdbc = jdbc;
        this.cipher = cipher;
    }

    void add(String number, String numberMac, String text, Instant now, Instant deadline) {
        UUID id = Ids.next();
        byte[] sealed = cipher.seal(JsonMaps.write(Map.of("number", number, "text", text)), aad(id));
        jdbc.update("INSERT INTO sms_reply (id, number_mac, key_id, payload, attempts, created_at, due_at, deadline)"
                + " VALUES (?, ?, ?, ?, 0, ?, ?, ?)", id, numberMac, cipher.activeKeyId(), sealed, Timestamp.from(now),
                Timestamp.from(now), Timestamp.from(deadline));
    }

    /** Called once what {@link #add} wrote has committed, before the SMSC is told the text arrived. */
    void flush() {
        // the SMSC is told the text arrived once this returns, and will not send it again: on the embedded store the
        // answer must be on the disk by then (H2's write delay would lose it to a kill -9; keyword texts are rare,
        // so one flush each costs nothing). PostgreSQL's commit is durable already.
        if (h2()) {
            jdbc.execute("CHECKPOINT SYNC");
        }
    }

    private boolean h2() {
        Boolean b = h2;
        if (b == null) {
            b = jdbc.execute((java.sql.Connection c) -> "H2".equalsIgnoreCase(c.getMetaData().getDatabaseProductName()));
            h2 = b;
        }
        return b;
    }

    /** The oldest waiting answers, due or not, oldest first. */
    List<Reply> waiting(int max) {
        return jdbc.query("SELECT id, number_mac, key_id, payload, attempts, due_at, deadline FROM sms_reply"
                + " ORDER BY created_at, id LIMIT " + max, (rs, i) -> {
                    UUID id = rs.getObject(1, UUID.class);
                    Map<String, Object> m = JsonMaps.read(cipher.open(rs.getString(3), rs.getBytes(4), aad(id)));
                    return new Reply(id, rs.getString(2), (String) m.get("number"), (String) m.get("text"),
                            rs.getInt(5), rs.getTimestamp(6).toInstant(), rs.getTimestamp(7).toInstant());
                });
    }

    /** Takes a due answer until {@code until}; false when another sender took it first. */
    boolean take(Reply r, Instant until) {
        return jdbc.update("UPDATE sms_reply SET due_at = ? WHERE id = ? AND due_at = ?", Timestamp.from(until), r.id(),
                Timestamp.from(r.due())) == 1;
    }

    void done(UUID id) {
        jdbc.update("DELETE FROM sms_reply WHERE id = ?", id);
    }

    void later(UUID id, int attempts, Instant due) {
        jdbc.update("UPDATE sms_reply SET attempts = ?, due_at = ? WHERE id = ?", attempts, Timestamp.from(due), id);
    }

    private static String aad(UUID id) {
        return "sms-reply:" + id;
    }
}
