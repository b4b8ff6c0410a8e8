package io.caravan.consent;

import java.time.Instant;
import java.util.List;

/** What the API accepts to record authorizations, channel consents and opt-outs. */
public final class ConsentForms {

    private ConsentForms() {
    }

    /**
     * A written authorization (45 CFR 164.508(c)(1)): the information, who may disclose it, to whom, for what, until
     * when, signed when — and for marketing with remuneration, the statement that says so (164.508(a)(3)(ii)).
     */
    public record Authorization(String purpose, String description, String discloser, List<String> recipients,
            Instant signedAt, Instant expiresAt, String expiryEvent, Boolean remuneration,
            String remunerationStatement, String evidence, String source) {
    }

    /** A channel consent (e.g. TCPA prior express written consent for marketing texts, or an email opt-in). */
    public record ChannelConsent(String channel, String purpose, String form, Instant signedAt, Instant expiresAt,
            String text, String evidence, String source) {
    }

    /** An opt-out of a channel ({@code any} for all) and a purpose ({@code any} for all). */
    public record OptOut(String channel, String purpose, String evidence, String source) {
    }

    /** The revocation of a record. */
    public record Revocation(Instant revokedAt, String reason, String evidence) {
    }
}
