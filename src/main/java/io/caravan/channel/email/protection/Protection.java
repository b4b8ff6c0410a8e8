package io.caravan.channel.email.protection;

import io.caravan.channel.email.EmailProperties;
import java.util.List;

/**
 * The one place that decides how a message is protected, per message and recipient, strongest first: S/MIME with a
 * certificate on file, OpenPGP with a key on file, enforced TLS when the relay proves it (and guarantees it onward),
 * then the purpose's fallback for PHI - portal pickup, the template's PHI-free variant, or nothing. PHI never goes on
 * a wire that is not encrypted end to end or over verified TLS; a TLS-exclusive purpose sends nothing without one of
 * the first three. Pure: the caller says what is on file and what the wire offers.
 */
public final class Protection {

    /** Where the message goes. */
    public enum Wire {
        /** The embedded default: a file in the outbox. */
        OUTBOX,
        /** The relay, TLS required and verified. */
        VERIFIED,
        /** The relay, TLS when offered. */
        OPPORTUNISTIC
    }

    /** What the caller knows. */
    public record Situation(String purpose, boolean templatePhi, boolean decisionAllowsPhi, boolean hasVariant,
            boolean smime, boolean pgp, boolean relay, boolean relayTlsVerified, boolean onwardTlsGuaranteed,
            EmailProperties.PurposePolicy policy) {
    }

    /**
     * The choice.
     *
     * @param protection  {@code smime}, {@code pgp}, {@code tls}, {@code portal}, {@code none}; null when blocked
     * @param useVariant  send the template's PHI-free variant instead of the template
     * @param blocked     the reason nothing goes, or null
     */
    public record Choice(String protection, boolean useVariant, Wire wire, String blocked, List<String> reasons) {
        static Choice blocked(String reason) {
            return new Choice(null, false, null, reason, List.of());
        }
    }

    private Protection() {
    }

    public static Choice choose(Situation s) {
        Wire plainWire = !s.relay() ? Wire.OUTBOX : s.relayTlsVerified() ? Wire.VERIFIED : Wire.OPPORTUNISTIC;
        boolean phi = s.templatePhi() && s.decisionAllowsPhi();
        boolean needsVariant = s.templatePhi() && !s.decisionAllowsPhi();
        if (needsVariant && !s.hasVariant()) {
            return Choice.blocked("content-limited");
        }
        List<String> variant = needsVariant ? List.of("phi-free-variant") : List.of();
        if (s.smime() || s.pgp()) {
            // encrypted end to end: any wire will do, and TLS exclusivity is met by something stronger
            return new Choice(s.smime() ? "smime" : "pgp", needsVariant, plainWire, null, variant);
        }
        boolean enforcedTls = s.relay() && s.relayTlsVerified() && s.onwardTlsGuaranteed();
        if (enforcedTls) {
            return new Choice("tls", needsVariant, Wire.VERIFIED, null, variant);
        }
        if (s.policy().tlsExclusive()) {
            return Choice.blocked("tls-unavailable");
        }
        if (!phi) {
            return new Choice("none", needsVariant, plainWire, null, variant);
        }
        return switch (s.policy().phiFallback()) {
            case "portal" -> new Choice("portal", false, plainWire, null, List.of());
            case "phi-free-variant" -> s.hasVariant()
                    ? new Choice("none", true, plainWire, null, List.of("phi-free-variant"))
                    : Choice.blocked("no-protection-available");
            default -> Choice.blocked("no-protection-available");
        };
    }
}
