package io.caravan.consent;

import io.caravan.contact.Contact;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;

/** Test builders for contacts and consent records around a fixed "now". */
final class Records {

    static final Instant NOW = Instant.parse("2026-11-28T12:00:00Z");
    static final Path POLICIES = Path.of("config/policies");
    static final Map<String, String> QUEUES = Map.of("analytics", "none", "partner", "signed");

    private Records() {
    }

    static DecisionEngine engine() {
        return new DecisionEngine(ConsentPolicy.load(POLICIES), QUEUES);
    }

    static Contact contact(String... restrictions) {
        Contact c = new Contact(UUID.randomUUID());
        c.restrictions.addAll(java.util.List.of(restrictions));
        return c;
    }

    static ConsentRecord record(String kind, String purpose, String channel, String form, boolean remuneration,
            Instant effective, Instant expires, Instant revoked) {
        return new ConsentRecord(UUID.randomUUID(), UUID.randomUUID(), kind, purpose, channel, form, remuneration,
                "api", "test", effective, expires, revoked, effective, null);
    }

    static ConsentRecord authorization() {
        return record(ConsentRecord.AUTHORIZATION, "marketing", "any", null, false, NOW.minus(days(30)),
                NOW.plus(days(335)), null);
    }

    static ConsentRecord optOut(String channel, String purpose) {
        return record(ConsentRecord.OPT_OUT, purpose, channel, null, false, NOW.minus(days(1)), null, null);
    }

    static ConsentRecord smsConsent(String form) {
        return record(ConsentRecord.CONSENT, "marketing", "sms", form, false, NOW.minus(days(10)), null, null);
    }

    static ConsentRecord revoked(ConsentRecord r) {
        return new ConsentRecord(r.id(), r.contactId(), r.kind(), r.purpose(), r.channel(), r.form(), r.remuneration(),
                r.source(), r.recordedBy(), r.effectiveAt(), r.expiresAt(), NOW.minus(days(1)), r.recordedAt(), null);
    }

    /** As the store hands a record whose row fails its MAC to a decision. */
    static ConsentRecord tampered(ConsentRecord r) {
        return new ConsentRecord(r.id(), r.contactId(), ConsentRecord.TAMPERED, r.purpose(), r.channel(), r.form(),
                r.remuneration(), r.source(), r.recordedBy(), r.effectiveAt(), r.expiresAt(), r.revokedAt(),
                r.recordedAt(), null);
    }

    static Duration days(long n) {
        return Duration.ofDays(n);
    }
}
