package io.caravan.consent;

import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.springframework.stereotype.Component;

/**
 * Entry points for the channels and feeds that carry consent changes of their own: an SMS reply with a STOP keyword,
 * a FHIR {@code Consent} resource. Each ends in an ordinary, audited consent record.
 */
@Component
public class ConsentHooks {

    /** TCPA opt-out keywords (47 CFR 64.1200(a)(10) and the CTIA list); honoured at once, not within 10 days. */
    public static final Set<String> STOP_WORDS = Set.of("STOP", "STOPALL", "END", "CANCEL", "UNSUBSCRIBE", "QUIT",
            "REVOKE", "OPTOUT", "OPT-OUT", "OPT OUT");
    public static final Set<String> HELP_WORDS = Set.of("HELP", "INFO");

    private final ConsentService consents;

    public ConsentHooks(ConsentService consents) {
        this.consents = consents;
    }

    /** What an inbound text asked for. */
    public enum SmsKeyword { STOP, HELP, NONE }

    /** Classifies an inbound SMS body: a keyword alone (case, spaces and punctuation ignored). */
    public static SmsKeyword classify(String body) {
        if (body == null) {
            return SmsKeyword.NONE;
        }
        String k = body.trim().replaceAll("[\\p{Punct}&&[^-]]+$", "").replaceAll("\\s+", " ")
                .toUpperCase(Locale.ROOT);
        if (STOP_WORDS.contains(k)) {
            return SmsKeyword.STOP;
        }
        return HELP_WORDS.contains(k) ? SmsKeyword.HELP : SmsKeyword.NONE;
    }

    /**
     * An inbound SMS from a contact's number: a STOP keyword opts the contact out of every SMS at once (the record
     * names the keyword as evidence, never the text). Returns the keyword so the channel can send its one
     * confirmation or help text.
     */
    public SmsKeyword smsReceived(UUID contactId, String body, String messageRef) {
        SmsKeyword k = classify(body);
        if (k == SmsKeyword.STOP) {
            consents.optOut(contactId, new ConsentForms.OptOut("sms", ConsentRecord.ANY,
                    "sms keyword " + body.trim().toUpperCase(Locale.ROOT) + (messageRef == null ? "" : " " + messageRef),
                    "sms-keyword"), "sms-keyword");
        }
        return k;
    }

    /** The source recorded on an opt-out a text asked for: START lifts only these. */
    public static final String SMS_TEXT_SOURCE = "sms-keyword";

    /**
     * A text from the contact's number asked to stop (a keyword or a plain-language request, recognised by the SMS
     * channel): an opt-out of every SMS purpose, at once and audited; the evidence names the request kind and the
     * inbound reference, never the text.
     */
    public ConsentRecord smsOptOut(UUID contactId, String evidence) {
        return consents.optOut(contactId, new ConsentForms.OptOut("sms", ConsentRecord.ANY, evidence, SMS_TEXT_SOURCE),
                SMS_TEXT_SOURCE);
    }

    /**
     * START / UNSTOP / YES from the contact's number: lifts the SMS opt-outs a text recorded (audited revocations).
     * Opt-outs from the API, a feed or a FHIR Consent stay: a text cannot undo what the patient said elsewhere.
     */
    public List<ConsentRecord> smsOptIn(UUID contactId, String evidence, Instant at) {
        return consents.records(contactId).stream()
                .filter(r -> ConsentRecord.OPT_OUT.equals(r.kind()) && "sms".equals(r.channel())
                        && SMS_TEXT_SOURCE.equals(r.source()) && r.revokedAt() == null)
                .map(r -> consents.revoke(contactId, ConsentRecord.OPT_OUT, r.id(),
                        new ConsentForms.Revocation(at, "sms keyword START", evidence), SMS_TEXT_SOURCE))
                .toList();
    }

    /**
     * The terms of a FHIR R4 {@code Consent} the FHIR feed has parsed: status, provision type, the purposes
     * ({@code Consent.provision.purpose}, v3 ActReason: TREAT, HPAYMT, HOPERAT, HMARKT) and channel it limits.
     */
    public record FhirConsentTerms(String status, String provisionType, List<String> purposes, String channel,
            Instant start, Instant end, String reference) {
    }

    /**
     * A FHIR Consent: an active {@code deny} provision becomes an opt-out per purpose; an active {@code permit} for
     * a channel becomes a channel consent (electronic form); a marketing authorization needs its written elements
     * and goes through the API, so it is not created from a bare Consent.
     */
    public List<ConsentRecord> fhirConsent(UUID contactId, FhirConsentTerms t) {
        if (!"active".equals(t.status())) {
            return List.of();
        }
        List<String> purposes = t.purposes() == null || t.purposes().isEmpty() ? List.of(ConsentRecord.ANY)
                : t.purposes().stream().map(ConsentHooks::purposeOf).flatMap(Optional::stream).distinct().toList();
        String channel = t.channel() == null ? ConsentRecord.ANY : t.channel();
        String evidence = "FHIR Consent " + (t.reference() == null ? "" : t.reference());
        if ("deny".equals(t.provisionType())) {
            return purposes.stream().map(p -> consents.optOut(contactId,
                    new ConsentForms.OptOut(channel, p, evidence, "fhir"), "fhir")).toList();
        }
        if ("permit".equals(t.provisionType()) && !ConsentRecord.ANY.equals(channel)) {
            return purposes.stream().map(p -> consents.consent(contactId, new ConsentForms.ChannelConsent(channel, p,
                    "electronic", t.start(), t.end(), null, evidence, "fhir"), "fhir")).toList();
        }
        return List.of();
    }

    private static Optional<String> purposeOf(String actReason) {
        return Optional.ofNullable(switch (actReason) {
            case "TREAT" -> "treatment";
            case "HPAYMT" -> "payment";
            case "HOPERAT" -> "operations";
            case "HMARKT" -> "marketing";
            default -> null;
        });
    }
}
