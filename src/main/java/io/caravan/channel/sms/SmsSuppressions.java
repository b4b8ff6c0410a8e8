package io.caravan.channel.sms;

import io.caravan.audit.AuditDraft;
import io.caravan.audit.AuditLog;
import io.caravan.crypto.FieldCipher;
import java.nio.charset.StandardCharsets;
import java.sql.PreparedStatement;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.util.HexFormat;
import java.util.UUID;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Repository;

/**
 * Numbers a carrier refused for good - an invalid destination at submit, or a receipt saying the number does not
 * exist or cannot take texts - like a hard email bounce: not texted again. Kept as MACs, audited under the contact.
 */
@Repository
public class SmsSuppressions {

    static final String SUPPRESSED = "sms.suppressed";

    private final JdbcTemplate jdbc;
    private final FieldCipher cipher;
    private final AuditLog audit;
    private final Clock clock;

    public SmsSuppressions(JdbcTemplate jdbc, FieldCipher cipher, AuditLog audit, Clock clock) {
        this.jdbc = jdbc;
        this.cipher = cipher;
        this.audit = audit;
        this.clock = clock;
    }

    public void suppress(String number, String reason, UUID messageId, UUID contactId, String actor) {
        String key = key(number);
        if (suppressed(number)) {
            return;
        }
        Instant now = clock.instant();
        audit.appendAndWait(AuditDraft.of(actor, SUPPRESSED).contact(contactId).channel("sms").outcome(reason)
                .detail("messageId", messageId == null ? null : messageId.toString()), c -> {
                    try (PreparedStatement ps = c.prepareStatement("INSERT INTO sms_suppression (number_mac, reason,"
                            + " message_id, at) SELECT ?, ?, CAST(? AS UUID), ? WHERE NOT EXISTS (SELECT 1 FROM"
                            + " sms_suppression WHERE number_mac = ?)")) {
                        ps.setString(1, key);
                        ps.setString(2, reason);
                        ps.setObject(3, messageId);
                        ps.setTimestamp(4, Timestamp.from(now));
                        ps.setString(5, key);
                        ps.executeUpdate();
                    }
                });
    }

    public boolean suppressed(String number) {
        return !jdbc.queryForList("SELECT 1 FROM sms_suppression WHERE number_mac = ?", Integer.class, key(number))
                .isEmpty();
    }

    private String key(String number) {
        return HexFormat.of().formatHex(cipher.mac("sms-suppression", number.trim().getBytes(StandardCharsets.UTF_8)));
    }
}
