package io.caravan.channel.email.feedback;

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
 * Addresses whose mailbox was refused for good: a 5.1.x answer to RCPT TO, or a failed delivery status notification
 * about a message the hub sent to that address. Nothing is sent to them again until the contact's address changes or
 * compliance lifts the suppression (the mailbox was fixed, the refusal was a mistake). Kept as MACs of the lower-cased
 * address, never in clear; suppressing and lifting are both audited under the contact.
 */
@Repository
public class Suppressions {

    static final String SUPPRESSED = "email.suppressed";
    static final String LIFTED = "email.suppression.lifted";

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
    public void suppress(String address, String reason, UUID messageId, UUID contactId, String actor) {
        String key = key(address);
        if (find(key).isPresent()) {
            return;
        }
        Instant now = clock.instant();
        audit.appendAndWait(AuditDraft.of(actor, SUPPRESSED).contact(contactId).channel("email").outcome(reason)
                .detail("messageId", messageId == null ? null : messageId.toString()), c -> {
                    // NOT EXISTS: a second refusal of the address at once must not fail its audit transaction
                    try (PreparedStatement ps = c.prepareStatement("INSERT INTO email_suppression (address_mac,"
                            + " reason, message_id, at) SELECT ?, ?, CAST(? AS UUID), ? WHERE NOT EXISTS (SELECT 1 FROM"
                            + " email_suppression WHERE address_mac = ?)")) {
                        ps.setString(1, key);
                        ps.setString(2, reason);
                        ps.setObject(3, messageId);
                        ps.setTimestamp(4, Timestamp.from(now));
                        ps.setString(5, key);
                        ps.executeUpdate();
                    }
                });
    }

    public boolean suppressed(String address) {
        return find(key(address)).isPresent();
    }

    /** The suppression of an address, if any. */
    public Optional<Suppression> of(String address) {
        return find(key(address));
    }

    /**
     * Lifts the suppression of a contact's address, audited with the reason it had; empty when there was none.
     */
    public Optional<Suppression> lift(UUID contactId, String address, String actor) {
        String key = key(address);
        Optional<Suppression> s = find(key);
        if (s.isEmpty()) {
            return s;
        }
        audit.appendAndWait(AuditDraft.of(actor, LIFTED).contact(contactId).channel("email")
                .outcome(s.get().reason()).detail("suppressedAt", s.get().at().toString()), c -> {
                    try (PreparedStatement ps = c.prepareStatement(
                            "DELETE FROM email_suppression WHERE address_mac = ?")) {
                        ps.setString(1, key);
                        ps.executeUpdate();
                    }
                });
        return s;
    }

    private Optional<Suppression> find(String key) {
        List<Suppression> found = jdbc.query("SELECT reason, message_id, at FROM email_suppression"
                + " WHERE address_mac = ?", (rs, n) -> new Suppression(rs.getString(1),
                        rs.getObject(2, UUID.class), rs.getTimestamp(3).toInstant()), key);
        return found.stream().findFirst();
    }

    private String key(String address) {
        return HexFormat.of().formatHex(cipher.mac("email-suppression",
                address.trim().toLowerCase(Locale.ROOT).getBytes(StandardCharsets.UTF_8)));
    }
}
