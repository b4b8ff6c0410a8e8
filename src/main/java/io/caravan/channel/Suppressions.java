package io.caravan.channel;

import io.caravan.audit.AuditDraft;
import io.caravan.audit.AuditLog;
import io.caravan.crypto.FieldCipher;
import java.nio.charset.StandardCharsets;
import java.sql.PreparedStatement;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Repository;

/**
 * Addresses a channel must not send to again because the far end refused them for good: an email mailbox that
 * bounced hard (a 5.1.x answer to RCPT TO, a failed DSN), a number the carrier called invalid or not a mobile. One
 * list for every channel, keyed by channel: nothing goes to a suppressed address until the contact's address
 * changes or compliance lifts the suppression. Kept as MACs of the normalised address, never in clear; suppressing
 * and lifting are both audited under the contact ({@code <channel>.suppressed}, {@code <channel>.suppression.lifted}).
 */
@Repository
public class Suppressions {

    /** A suppression as the API shows it: why and when, never the address. */
    public record Suppression(String reason, UUID messageId, Instant at) {
    }

    private final JdbcTemplate jdbc;
    private final FieldCipher cipher;
    private final AuditLog audit;
    private final Clock clock;

    public Suppressions(JdbcTemplate jdbc, FieldCipher cipher, AuditLog audit, Clock clock) {
        this.jdbc = jdbc;
        this.cipher = cipher;
        this.audit = audit;
        this.clock = clock;
    }

    /** Suppresses the address of a contact's message; the first reason stands when it already is. */
    public void suppress(String channel, String address, String reason, UUID messageId, UUID contactId,
            String actor) {
        String key = key(channel, address);
        if (find(channel, key).isPresent()) {
            return;
        }
        Instant now = clock.instant();
        audit.appendAndWait(AuditDraft.of(actor, channel + ".suppressed").contact(contactId).channel(channel)
                .outcome(reason).detail("messageId", messageId == null ? null : messageId.toString()), c -> {
                    // NOT EXISTS: a second refusal of the address at once must not fail its audit transaction
                    try (PreparedStatement ps = c.prepareStatement("INSERT INTO channel_suppression (channel,"
                            + " address_mac, reason, message_id, at) SELECT ?, ?, ?, CAST(? AS UUID), ? WHERE NOT"
                            + " EXISTS (SELECT 1 FROM channel_suppression WHERE channel = ? AND address_mac = ?)")) {
                        ps.setString(1, channel);
                        ps.setString(2, key);
                        ps.setString(3, reason);
                        ps.setObject(4, messageId);
                        ps.setTimestamp(5, Timestamp.from(now));
                        ps.setString(6, channel);
                        ps.setString(7, key);
                        ps.executeUpdate();
                    }
                });
    }

    public boolean suppressed(String channel, String address) {
        return find(channel, key(channel, address)).isPresent();
    }

    /** The suppression of an address, if any. */
    public Optional<Suppression> of(String channel, String address) {
        return find(channel, key(channel, address));
    }

    /** Lifts the suppression of a contact's address, audited with the reason it had; empty when there was none. */
    public Optional<Suppression> lift(String channel, UUID contactId, String address, String actor) {
        String key = key(channel, address);
        Optional<Suppression> s = find(channel, key);
        if (s.isEmpty()) {
            return s;
        }
        audit.appendAndWait(AuditDraft.of(actor, channel + ".suppression.lifted").contact(contactId).channel(channel)
                .outcome(s.get().reason()).detail("suppressedAt", s.get().at().toString()), c -> {
                    try (PreparedStatement ps = c.prepareStatement(
                            "DELETE FROM channel_suppression WHERE channel = ? AND address_mac = ?")) {
                        ps.setString(1, channel);
                        ps.setString(2, key);
                        ps.executeUpdate();
                    }
                });
        return s;
    }

    private Optional<Suppression> find(String channel, String key) {
        List<Suppression> found = jdbc.query("SELECT reason, message_id, at FROM channel_suppression"
                + " WHERE channel = ? AND address_mac = ?", (rs, n) -> new Suppression(rs.getString(1),
                        rs.getObject(2, UUID.class), rs.getTimestamp(3).toInstant()), channel, key);
        return found.stream().findFirst();
    }

    /**
     * The MAC of the address as its channel compares addresses: email case-insensitively (mailboxes are, in
     * practice), anything else as given (SMS numbers are E.164 already). Each channel has its own MAC domain.
     */
    private String key(String channel, String address) {
        String a = address.trim();
        if ("email".equals(channel)) {
            a = a.toLowerCase(Locale.ROOT);
        }
        return HexFormat.of().formatHex(cipher.mac(channel + "-suppression", a.getBytes(StandardCharsets.UTF_8)));
    }
}
