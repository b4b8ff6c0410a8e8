package io.caravan.channel.email;

import io.caravan.crypto.FieldCipher;
import java.nio.charset.StandardCharsets;
import java.sql.Timestamp;
import java.time.Clock;
import java.util.HexFormat;
import java.util.Locale;
import java.util.UUID;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Repository;

/**
 * Addresses that bounced for good: a 5xx from the relay or a failed delivery status notification. Nothing is sent
 * to them again until the contact's address changes. Kept as MACs of the lower-cased address, never in clear.
 */
@Repository
public class Suppressions {

    private final JdbcTemplate jdbc;
    private final FieldCipher cipher;
    private final Clock clock;

    public Suppressions(JdbcTemplate jdbc, FieldCipher cipher, Clock clock) {
        this.jdbc = jdbc;
        this.cipher = cipher;
        this.clock = clock;
    }

    public void suppress(String address, String reason, UUID messageId) {
        try {
            jdbc.update("INSERT INTO email_suppression (address_mac, reason, message_id, at) VALUES (?, ?, ?, ?)",
                    key(address), reason, messageId, Timestamp.from(clock.instant()));
        } catch (DuplicateKeyException e) {
            // already suppressed: the first reason stands
        }
    }

    public boolean suppressed(String address) {
        return !jdbc.queryForList("SELECT reason FROM email_suppression WHERE address_mac = ?", String.class,
                key(address)).isEmpty();
    }

    private String key(String address) {
        return HexFormat.of().formatHex(cipher.mac("email-suppression",
                address.trim().toLowerCase(Locale.ROOT).getBytes(StandardCharsets.UTF_8)));
    }
}
