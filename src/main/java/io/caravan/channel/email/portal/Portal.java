package io.caravan.channel.email.portal;

import io.caravan.audit.Disclosures;
import io.caravan.channel.Messages;
import io.caravan.channel.email.EmailProperties;
import io.caravan.consent.ConsentService;
import io.caravan.contact.Contact;
import io.caravan.crypto.FieldCipher;
import io.caravan.crypto.OpaqueTokens;
import io.caravan.system.Ids;
import io.caravan.system.JsonMaps;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.springframework.context.annotation.Lazy;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;

/**
 * Portal pickup ("escrow"): a PHI message that could go neither under a recipient's key nor over enforced TLS stays in
 * the hub, sealed, and the recipient gets a PHI-free notice with a link. To read it they ask for a one-time code
 * (emailed, PHI-free) and give it together with a second factor (date of birth by default). Wrong answers lock the
 * pickup for a while; codes and pickups expire; every view is a disclosure in the audit trail, durable before the
 * page is shown. The link is an opaque token: no PHI, no contact or message id in the URL.
 */
@Service
public class Portal {

    static final String TOKEN_USE = "portal-v1";
    static final String CODE_TEMPLATE = "portal-code";
    static final String ACTOR = "portal";

    /** The stored message, as it would have been sent. */
    public record Content(String subject, String html, String text, String language) {
    }

    /** What an answer (code + second factor) led to. */
    public enum Outcome { SHOWN, WRONG, LOCKED, EXPIRED, NO_CODE, UNKNOWN }

    public record Answer(Outcome outcome, Content content, int remaining) {
    }

    /** What a code request led to. */
    public enum CodeOutcome { SENT, TOO_SOON, LOCKED, EXPIRED, UNKNOWN }

    private record Pickup(UUID id, UUID messageId, UUID contactId, String purpose, String keyId, byte[] content,
            Instant expiresAt, String codeMac, Instant codeExpiresAt, Instant codeSentAt, int failures,
            Instant lockedUntil) {
    }

    private final JdbcTemplate jdbc;
    private final FieldCipher cipher;
    private final OpaqueTokens tokens;
    private final ConsentService consents;
    private final Messages messages;
    private final Disclosures disclosures;
    private final EmailProperties.Portal policy;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();

    public Portal(JdbcTemplate jdbc, FieldCipher cipher, ConsentService consents, @Lazy Messages messages,
            Disclosures disclosures, EmailProperties props, Clock clock) {
        this.jdbc = jdbc;
        this.cipher = cipher;
        this.tokens = new OpaqueTokens(cipher);
        this.consents = consents;
        this.messages = messages;
        this.disclosures = disclosures;
        this.policy = props.portal();
        this.clock = clock;
    }

    public EmailProperties.Portal policy() {
        return policy;
    }

    /**
     * Keeps a message for pickup and returns the token for the notice's link. A retry of the same message keeps the
     * first copy (and its expiry).
     */
    public String keep(UUID messageId, UUID contactId, String purpose, Content content) {
        List<UUID> existing = jdbc.queryForList("SELECT id FROM portal_pickup WHERE message_id = ?", UUID.class,
                messageId);
        UUID id;
        if (existing.isEmpty()) {
            id = Ids.next();
            Instant now = clock.instant();
            byte[] sealed = cipher.seal(JsonMaps.write(Map.of("subject", content.subject(), "html", content.html(),
                    "text", content.text(), "language", content.language())), "portal:" + id);
            jdbc.update("INSERT INTO portal_pickup (id, message_id, contact_id, purpose, key_id, content, expires_at,"
                    + " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", id, messageId, contactId, purpose,
                    cipher.activeKeyId(), sealed, Timestamp.from(now.plus(policy.expires())), Timestamp.from(now));
        } else {
            id = existing.get(0);
        }
        return tokens.issue(TOKEN_USE, uuidBytes(id));
    }

    /** Whether a token leads to a pickup that can still be opened (the landing page; changes nothing). */
    public Optional<Boolean> open(String token) {
        return find(token).map(p -> clock.instant().isBefore(p.expiresAt()));
    }

    /** Emails a fresh one-time code to the contact's address on file (never an address from the request). */
    public CodeOutcome sendCode(String token) {
        Optional<Pickup> found = find(token);
        if (found.isEmpty()) {
            return CodeOutcome.UNKNOWN;
        }
        Pickup p = found.get();
        Instant now = clock.instant();
        if (!now.isBefore(p.expiresAt())) {
            return CodeOutcome.EXPIRED;
        }
        if (p.lockedUntil() != null && now.isBefore(p.lockedUntil())) {
            return CodeOutcome.LOCKED;
        }
        if (p.codeSentAt() != null && now.isBefore(p.codeSentAt().plus(policy.codeInterval()))) {
            return CodeOutcome.TOO_SOON;
        }
        String code = String.format(Locale.ROOT, "%06d", random.nextInt(1_000_000));
        int updated = jdbc.update("UPDATE portal_pickup SET code_mac = ?, code_expires_at = ?, code_sent_at = ?"
                + " WHERE id = ? AND (code_sent_at IS NULL OR code_sent_at = ?)", codeMac(p.id(), code),
                Timestamp.from(now.plus(policy.codeTtl())), Timestamp.from(now), p.id(),
                p.codeSentAt() == null ? null : Timestamp.from(p.codeSentAt()));
        if (updated != 1) {
            return CodeOutcome.TOO_SOON; // another request just sent one
        }
        messages.planSystem(new Messages.Request(p.contactId(), CODE_TEMPLATE, "email", p.purpose(),
                Map.of("code", code, "minutes", policy.codeTtl().toMinutes())), ACTOR);
        return CodeOutcome.SENT;
    }

    /** Checks the code and the second factor; on success the code is used up and the view is audited. */
    public Answer answer(String token, String code, String factor) {
        Optional<Pickup> found = find(token);
        if (found.isEmpty()) {
            return new Answer(Outcome.UNKNOWN, null, 0);
        }
        Pickup p = found.get();
        Instant now = clock.instant();
        if (!now.isBefore(p.expiresAt())) {
            return new Answer(Outcome.EXPIRED, null, 0);
        }
        if (p.lockedUntil() != null && now.isBefore(p.lockedUntil())) {
            return new Answer(Outcome.LOCKED, null, 0);
        }
        if (p.codeMac() == null || p.codeExpiresAt() == null || !now.isBefore(p.codeExpiresAt())) {
            return new Answer(Outcome.NO_CODE, null, 0);
        }
        Contact c = consents.requireContact(p.contactId());
        boolean codeOk = code != null && MessageDigest.isEqual(p.codeMac().getBytes(StandardCharsets.US_ASCII),
                codeMac(p.id(), code.trim()).getBytes(StandardCharsets.US_ASCII));
        boolean factorOk = secondFactorMatches(c, factor);
        if (!codeOk || !factorOk) {
            int failures = p.failures() + 1;
            if (failures >= policy.maxAttempts()) {
                // locked, and the code is gone: after the lockout a new one must be asked for
                jdbc.update("UPDATE portal_pickup SET failures = 0, locked_until = ?, code_mac = NULL WHERE id = ?",
                        Timestamp.from(now.plus(policy.lockout())), p.id());
                return new Answer(Outcome.LOCKED, null, 0);
            }
            jdbc.update("UPDATE portal_pickup SET failures = ? WHERE id = ?", failures, p.id());
            return new Answer(Outcome.WRONG, null, policy.maxAttempts() - failures);
        }
        // one use: only the request that clears the code shows the message
        if (jdbc.update("UPDATE portal_pickup SET code_mac = NULL, failures = 0, views = views + 1 WHERE id = ?"
                + " AND code_mac = ?", p.id(), p.codeMac()) != 1) {
            return new Answer(Outcome.NO_CODE, null, 0);
        }
        Map<String, Object> m = JsonMaps.read(cipher.open(p.keyId(), p.content(), "portal:" + p.id()));
        disclosures.record(new Disclosures.Disclosure(c.id, p.purpose(), "email", "portal:" + p.id(),
                "portal pickup viewed", "portal", p.messageId().toString(), true), ACTOR);
        return new Answer(Outcome.SHOWN, new Content((String) m.get("subject"), (String) m.get("html"),
                (String) m.get("text"), (String) m.get("language")), 0);
    }

    private boolean secondFactorMatches(Contact c, String factor) {
        String given = factor == null ? "" : factor.trim();
        return switch (policy.secondFactor()) {
            case "birth-date" -> c.birthDate != null && MessageDigest.isEqual(c.birthDate.getBytes(StandardCharsets.UTF_8),
                    given.getBytes(StandardCharsets.UTF_8));
            case "postal-code" -> c.address != null && c.address.postalCode() != null
                    && normalize(c.address.postalCode()).equals(normalize(given));
            default -> true;
        };
    }

    private static String normalize(String postal) {
        return postal.replaceAll("[\\s-]", "").toUpperCase(Locale.ROOT);
    }

    private String codeMac(UUID pickup, String code) {
        return HexFormat.of().formatHex(cipher.mac("portal-code", (pickup + ":" + code)
                .getBytes(StandardCharsets.US_ASCII)));
    }

    private Optional<Pickup> find(String token) {
        return tokens.open(TOKEN_USE, token).filter(b -> b.length == 16).flatMap(b -> {
            ByteBuffer bb = ByteBuffer.wrap(b);
            UUID id = new UUID(bb.getLong(), bb.getLong());
            return jdbc.query("SELECT id, message_id, contact_id, purpose, key_id, content, expires_at, code_mac,"
                    + " code_expires_at, code_sent_at, failures, locked_until FROM portal_pickup WHERE id = ?",
                    (rs, n) -> row(rs), id).stream().findFirst();
        });
    }

    private static Pickup row(ResultSet rs) throws SQLException {
        return new Pickup(rs.getObject(1, UUID.class), rs.getObject(2, UUID.class), rs.getObject(3, UUID.class),
                rs.getString(4), rs.getString(5), rs.getBytes(6), rs.getTimestamp(7).toInstant(), rs.getString(8),
                instant(rs.getTimestamp(9)), instant(rs.getTimestamp(10)), rs.getInt(11), instant(rs.getTimestamp(12)));
    }

    private static Instant instant(Timestamp t) {
        return t == null ? null : t.toInstant();
    }

    private static byte[] uuidBytes(UUID id) {
        return ByteBuffer.allocate(16).putLong(id.getMostSignificantBits()).putLong(id.getLeastSignificantBits())
                .array();
    }
}
