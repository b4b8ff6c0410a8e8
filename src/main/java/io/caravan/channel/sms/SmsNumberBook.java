package io.caravan.channel.sms;

import io.caravan.channel.MessageStatus;
import io.caravan.crypto.FieldCipher;
import io.caravan.system.Ids;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Repository;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Numbers as the SMS channel knows them, by MAC only: which contacts were texted at a number (an MO text names only
 * the number), which numbers texted STOP and which text each STOP is counted against, and the other MO texts, sealed.
 */
@Repository
public class SmsNumberBook {

    /** How many (number, contact) pairs {@link #known} remembers before it starts over. */
    private static final int KNOWN_MAX = 200_000;

    private final JdbcTemplate jdbc;
    private final FieldCipher cipher;
    /**
     * Pairs already in {@code sms_number} (rows are never deleted): a text to a number the hub texted before costs no
     * write for it. Only what committed goes in.
     */
    private final java.util.Set<String> known = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** The pair's own commit: the number follower and the send path record the same pair at the same moment. */
    private final TransactionTemplate own;

    public SmsNumberBook(JdbcTemplate jdbc, FieldCipher cipher, TransactionTemplate tx) {
        this.jdbc = jdbc;
        this.cipher = cipher;
        this.own = new TransactionTemplate(tx.getTransactionManager());
        this.own.setPropagationBehavior(org.springframework.transaction.TransactionDefinition.PROPAGATION_REQUIRES_NEW);
    }

    public void texted(String e164, UUID contactId) {
        beforeSubmit(e164, contactId, null, null, null);
    }

    /**
     * What must hold before a text is submitted: the contact is known at the number (so a STOP that comes back before
     * the submit's response finds them) and, when {@code purpose} is given, the text's slot under the per-number caps
     * is reserved (replacing an earlier attempt's).
     */
    public void beforeSubmit(String e164, UUID contactId, UUID messageId, String purpose, Instant at) {
        String key = mac(e164);
        String pair = key + contactId;
        boolean newPair = !known.contains(pair);
        if (!newPair && purpose == null) {
            return;
        }
        if (newPair) {
            pair(key, contactId);
            remember(pair);
        }
        if (purpose != null) {
            try {
                own.executeWithoutResult(s -> jdbc.update("INSERT INTO sms_sent (message_id, number_mac, purpose, at)"
                        + " VALUES (?, ?, ?, ?)", messageId, key, purpose, Timestamp.from(at)));
            } catch (org.springframework.dao.DuplicateKeyException earlier) {
                // an earlier attempt's slot, left by a stop between it and the submit's outcome: it moves to now
                jdbc.update("UPDATE sms_sent SET number_mac = ?, purpose = ?, at = ? WHERE message_id = ?", key,
                        purpose, Timestamp.from(at), messageId);
            }
        }
    }

    /** The pair, committed on its own: a writer that recorded it at the same moment is no failure. */
    private void pair(String key, UUID contactId) {
        try {
            own.executeWithoutResult(s -> jdbc.update("INSERT INTO sms_number (number_mac, contact_id) SELECT ?, ?"
                    + " WHERE NOT EXISTS (SELECT 1 FROM sms_number WHERE number_mac = ? AND contact_id = ?)", key,
                    contactId, key, contactId));
        } catch (org.springframework.dao.DuplicateKeyException raced) {
            // the other writer's row is the same fact
        }
    }

    /**
     * The contact's number as its record has it now (from the event log, {@link SmsNumberFollower}): an MO text from
     * it finds the contact even before the hub has texted it. Committed on its own (recording it twice is harmless).
     */
    public void recordedAt(String e164, UUID contactId) {
        String key = mac(e164);
        if (!known.contains(key + contactId)) {
            pair(key, contactId);
            remember(key + contactId);
        }
    }

    private void remember(String pair) {
        if (known.size() > KNOWN_MAX) {
            known.clear();
        }
        known.add(pair);
    }

    public List<UUID> contacts(String e164) {
        return jdbc.queryForList("SELECT contact_id FROM sms_number WHERE number_mac = ?", UUID.class, mac(e164));
    }

    /** True when the number was not opted out already. */
    public boolean optOut(String e164, Instant at) {
        String key = mac(e164);
        return jdbc.update("INSERT INTO sms_number_opt_out (number_mac, at) SELECT ?, ? WHERE NOT EXISTS (SELECT 1"
                + " FROM sms_number_opt_out WHERE number_mac = ?)", key, Timestamp.from(at), key) == 1;
    }

    /** True when the number had opted out by text. */
    public boolean optIn(String e164) {
        return jdbc.update("DELETE FROM sms_number_opt_out WHERE number_mac = ?", mac(e164)) == 1;
    }

    public boolean optedOut(String e164) {
        return !jdbc.queryForList("SELECT 1 FROM sms_number_opt_out WHERE number_mac = ?", Integer.class, mac(e164))
                .isEmpty();
    }

    public UUID inbound(String e164, UUID contactId, String text, Instant at) {
        UUID id = Ids.next();
        jdbc.update(INSERT_INBOUND, id, mac(e164), contactId, cipher.activeKeyId(),
                cipher.seal(text.getBytes(StandardCharsets.UTF_8), "sms-inbound:" + id), Timestamp.from(at));
        return id;
    }

    /** The same, inside the caller's transaction (the text and the event that points at it commit together). */
    public void inbound(Connection c, UUID id, String e164, UUID contactId, String text, Instant at)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(INSERT_INBOUND)) {
            ps.setObject(1, id);
            ps.setString(2, mac(e164));
            ps.setObject(3, contactId);
            ps.setString(4, cipher.activeKeyId());
            ps.setBytes(5, cipher.seal(text.getBytes(StandardCharsets.UTF_8), "sms-inbound:" + id));
            ps.setTimestamp(6, Timestamp.from(at));
            ps.executeUpdate();
        }
    }

    private static final String INSERT_INBOUND = "INSERT INTO sms_inbound (id, number_mac, contact_id, key_id, text,"
            + " at) VALUES (?, ?, ?, ?, ?, ?)";

    public int inboundCount(UUID contactId) {
        Integer n = jdbc.queryForObject("SELECT COUNT(*) FROM sms_inbound WHERE contact_id = ?", Integer.class,
                contactId);
        return n == null ? 0 : n;
    }

    /** Reserves a slot for a text about to go; the times of the earlier ones of that purpose since {@code since}. */
    public List<Instant> sentSince(String e164, String purpose, Instant since) {
        return jdbc.queryForList("SELECT at FROM sms_sent WHERE number_mac = ? AND purpose = ? AND at > ? ORDER BY at",
                Timestamp.class, mac(e164), purpose, Timestamp.from(since)).stream().map(Timestamp::toInstant).toList();
    }


    /**
     * The text a STOP from the number is counted against: the last one submitted to that number since {@code since}
     * that is still sent or delivered. The one confirmation is no such text (it is not a planned message).
     */
    public Optional<UUID> lastSent(String e164, Instant since) {
        return jdbc.queryForList("SELECT s.message_id FROM sms_segment s JOIN outbound_message m ON m.id ="
                + " s.message_id WHERE s.number_mac = ? AND s.seq = 1 AND s.at > ? AND m.status IN (?, ?)"
                + " ORDER BY s.at DESC LIMIT 1",
                UUID.class, mac(e164), Timestamp.from(since), MessageStatus.SENT.value(),
                MessageStatus.DELIVERED.value()).stream().findFirst();
    }

    /** Counts a STOP against the text; false when it was counted already. */
    public boolean unsubscribed(UUID messageId, String e164, Instant at) {
        // two STOPs may pick the same text (one message submitted again to a contact's new number after a takeover):
        // the second changes nothing, and must not fail (on PostgreSQL a failed statement would roll back the opt-out
        // it is part of)
        return jdbc.update("INSERT INTO sms_unsubscribe (message_id, number_mac, at) VALUES (?, ?, ?) ON CONFLICT DO"
                + " NOTHING", messageId, mac(e164), Timestamp.from(at)) == 1;
    }

    /** How many of these texts a STOP was counted against. */
    public long unsubscribedCount(Collection<UUID> messageIds) {
        List<UUID> ids = List.copyOf(new java.util.LinkedHashSet<>(messageIds));
        long n = 0;
        for (int from = 0; from < ids.size(); from += 500) {
            List<UUID> chunk = ids.subList(from, Math.min(ids.size(), from + 500));
            Long c = jdbc.queryForObject("SELECT COUNT(*) FROM sms_unsubscribe WHERE message_id IN ("
                    + "?,".repeat(chunk.size() - 1) + "?)", Long.class, chunk.toArray());
            n += c == null ? 0 : c;
        }
        return n;
    }

    public void release(UUID messageId) {
        jdbc.update("DELETE FROM sms_sent WHERE message_id = ?", messageId);
    }

    /** The number's MAC, as every table of the channel keys it. */
    String mac(String e164) {
        return HexFormat.of().formatHex(cipher.mac("sms-number", e164.trim().getBytes(StandardCharsets.UTF_8)));
    }
}
