package io.caravan.consent;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;

/**
 * An authorization, channel consent or opt-out. The scope and validity fields are what a decision reads; {@code
 * details} (what the patient signed, the evidence) is sealed at rest and filled only when a record is shown.
 *
 * @param kind    {@value #AUTHORIZATION}, {@value #CONSENT} or {@value #OPT_OUT}
 * @param purpose a policy purpose, or {@code any}
 * @param channel {@code email}, {@code sms}, {@code queue:<adapter>}, or {@code any}
 * @param form    for consents: {@code written}, {@code electronic} or {@code verbal}
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ConsentRecord(UUID id, UUID contactId, String kind, String purpose, String channel, String form,
        boolean remuneration, String source, String recordedBy, Instant effectiveAt, Instant expiresAt,
        Instant revokedAt, Instant recordedAt, Map<String, Object> details) {

    public static final String AUTHORIZATION = "authorization";
    public static final String CONSENT = "consent";
    public static final String OPT_OUT = "opt-out";
    public static final String ANY = "any";
    /**
     * Not a kind stored: a record whose row fails its MAC (edited in the database) is handed to the decision as this
     * kind, and the gate denies while it exists.
     */
    public static final String TAMPERED = "tampered";

    /** In force at {@code now}: begun, not expired, not revoked. */
    public boolean activeAt(Instant now) {
        return !effectiveAt.isAfter(now) && (expiresAt == null || expiresAt.isAfter(now))
                && (revokedAt == null || revokedAt.isAfter(now));
    }

    /** Whether the record's scope covers a purpose and channel ({@code any} covers all). */
    public boolean covers(String askedPurpose, String askedChannel) {
        return (ANY.equals(purpose) || purpose.equals(askedPurpose))
                && (ANY.equals(channel) || channel.equals(askedChannel));
    }
}
