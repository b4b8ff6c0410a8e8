package io.caravan.consent;

import io.caravan.contact.Contact;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The decision: {@code (contact, records, purpose, channel, content class) → allow or deny}, with every rule that
 * fired. A pure function of its inputs and the clock reading it is given, so the API, the Camel gate, the property
 * tests and the benchmark all run the same code.
 *
 * <p>Every rule is evaluated; any deny denies; content is the most restrictive any rule allows. HL7 feeds raise
 * opt-outs as contact restrictions named {@code opt-out:<channel>:<purpose>} ({@code any} for either); they count as
 * opt-out records.
 */
public final class DecisionEngine {

    static final String HL7_OPT_OUT = "opt-out:";
    static final String PROTECTION = "protection-indicator";
    static final String PROTECTION_DATE = "protectionIndicatorEffectiveDate";
    static final String PUBLICITY = "publicityCode";

    private final ConsentPolicy policy;
    /** Queue adapter id → BAA status (signed, pending, none, not-applicable). */
    private final Map<String, String> queues;
    /** Webhook adapter id → BAA status ({@code webhook:<id>} destinations). */
    private final Map<String, String> webhooks;
    private final Map<String, java.time.LocalDate> baaExpires;
    private final Map<String, Decision.Reason> deny = new HashMap<>();
    private final Map<String, Decision.Reason> allow = new HashMap<>();
    private final Map<String, Decision.Reason> limit = new HashMap<>();
    private final ConsentPolicy.Rule protection;
    private final ConsentPolicy.Rule publicity;
    private final ConsentPolicy.Rule deceased;
    private final Set<String> smsForms;
    private final boolean emailOptIn;

    public DecisionEngine(ConsentPolicy policy, Map<String, String> queues) {
        this(policy, queues, Map.of());
    }

    public DecisionEngine(ConsentPolicy policy, Map<String, String> queues, Map<String, String> webhooks) {
        this(policy, queues, webhooks, Map.of());
    }

    /**
     * @param baaExpires destination channel ({@code queue:<id>}, {@code webhook:<id>}) → the last day its BAA is in
     *                   force (UTC); after it the destination counts as one without a BAA, at every decision
     */
    public DecisionEngine(ConsentPolicy policy, Map<String, String> queues, Map<String, String> webhooks,
            Map<String, java.time.LocalDate> baaExpires) {
        this.baaExpires = Map.copyOf(baaExpires);
        this.policy = policy;
        this.queues = Map.copyOf(queues);
        this.webhooks = Map.copyOf(webhooks);
        for (String r : ConsentPolicy.RULES) {
            deny.put(r, new Decision.Reason(r, policy.citation(r), "deny"));
            allow.put(r, new Decision.Reason(r, policy.citation(r), "allow"));
            limit.put(r, new Decision.Reason(r, policy.citation(r), "limit"));
        }
        this.protection = policy.rule("protection-indicator");
        this.publicity = policy.rule("publicity-no-contact");
        this.deceased = policy.rule("deceased");
        this.smsForms = Set.copyOf(policy.rule("sms-marketing-written-consent").forms);
        this.emailOptIn = Boolean.TRUE.equals(policy.rule("email-marketing-opt-in").required);
    }

    public ConsentPolicy policy() {
        return policy;
    }

    /** Whether a channel name is one the policy knows (a queue must name a kafka adapter). */
    public boolean knownChannel(String channel) {
        if (channel == null) {
            return false;
        }
        if (channel.startsWith("queue:")) {
            return queues.containsKey(channel.substring(6));
        }
        if (channel.startsWith("webhook:")) {
            return webhooks.containsKey(channel.substring(8));
        }
        return policy.channels.contains(channel);
    }

    /** The decision for a request, given everything on file for the contact ({@code contact} null: unknown). */
    public Decision decide(Contact contact, List<ConsentRecord> records, DecisionRequest req, Instant now) {
        try {
            return evaluate(contact, records, req, now);
        } catch (RuntimeException e) {
            // fail closed: a record or contact the rules cannot read denies rather than allows
            return new Decision(false, Decision.NONE, List.of(deny.get("request-unknown")));
        }
    }

    private Decision evaluate(Contact contact, List<ConsentRecord> records, DecisionRequest req, Instant now) {
        String purpose = req.purpose();
        String channel = req.channel();
        boolean phiFreeRequested = Decision.PHI_FREE.equals(req.content());
        // Safe Harbor de-identified data is not PHI (164.514(a)): no authorization is needed to use it, but the
        // patient's opt-outs and the EHR's restrictions still say "do not contact me" and stop it
        boolean deidentified = Decision.DEIDENTIFIED.equals(req.content());
        if (contact == null || purpose == null || !policy.purposes.contains(purpose) || !knownChannel(channel)
                || !(phiFreeRequested || deidentified || Decision.PHI.equals(req.content()))) {
            return new Decision(false, Decision.NONE, List.of(deny.get("request-unknown")));
        }
        List<Decision.Reason> reasons = new ArrayList<>(4);
        boolean allowed = true;
        boolean phi = !phiFreeRequested && !deidentified;

        // opt-outs: records from any source, and those a feed raised on the contact
        boolean global = false;
        boolean scoped = false;
        ConsentRecord authorization = null;
        boolean smsConsent = false;
        boolean emailConsent = false;
        for (int i = 0; i < records.size(); i++) {
            ConsentRecord r = records.get(i);
            if (ConsentRecord.TAMPERED.equals(r.kind())) {
                // whatever the row now says (revoked or not, expired or not) cannot be believed
                return new Decision(false, Decision.NONE, List.of(deny.get("record-integrity")));
            }
            if (!r.activeAt(now)) {
                continue;
            }
            switch (r.kind()) {
                case ConsentRecord.OPT_OUT -> {
                    if (ConsentRecord.ANY.equals(r.purpose()) && ConsentRecord.ANY.equals(r.channel())) {
                        global = true;
                    } else if (r.covers(purpose, channel)) {
                        scoped = true;
                    }
                }
                case ConsentRecord.AUTHORIZATION -> {
                    if ("marketing".equals(r.purpose())
                            && (authorization == null || (r.remuneration() && !authorization.remuneration()))) {
                        authorization = r;
                    }
                }
                case ConsentRecord.CONSENT -> {
                    if (r.covers(purpose, channel)) {
                        if ("sms".equals(channel) && r.form() != null && smsForms.contains(r.form())) {
                            smsConsent = true;
                        }
                        if ("email".equals(channel)) {
                            emailConsent = true;
                        }
                    }
                }
                default -> {
                    // an unknown kind is not trusted to allow anything
                }
            }
        }
        List<String> restrictions = contact.restrictions;
        boolean protectedContact = false;
        for (int i = 0; i < restrictions.size(); i++) {
            String code = restrictions.get(i);
            if (code.startsWith(HL7_OPT_OUT)) {
                int colon = code.indexOf(':', HL7_OPT_OUT.length());
                if (colon < 0) {
                    continue;
                }
                String ch = code.substring(HL7_OPT_OUT.length(), colon);
                String pu = code.substring(colon + 1);
                boolean anyCh = ConsentRecord.ANY.equals(ch);
                boolean anyPu = ConsentRecord.ANY.equals(pu);
                if (anyCh && anyPu) {
                    global = true;
                } else if ((anyCh || ch.equals(channel)) && (anyPu || pu.equals(purpose))) {
                    scoped = true;
                }
            } else if (PROTECTION.equals(code)) {
                protectedContact = true;
            }
        }
        if (global) {
            allowed = false;
            reasons.add(deny.get("global-opt-out"));
        }
        if (scoped) {
            allowed = false;
            reasons.add(deny.get("opt-out"));
        }

        // restrictions from the EHR
        if (protectedContact && protectionInForce(contact, now)) {
            if (protection.deny.contains(purpose)) {
                allowed = false;
                reasons.add(deny.get("protection-indicator"));
            } else if (phi && !Decision.PHI.equals(protection.content)) {
                phi = false;
                reasons.add(limit.get("protection-indicator"));
            }
        }
        Object code = contact.attributes.get(PUBLICITY);
        if (code != null && publicity.codes.contains(code.toString()) && publicity.deny.contains(purpose)) {
            allowed = false;
            reasons.add(deny.get("publicity-no-contact"));
        }
        // a feed reported the patient dead (PID-29/30, FHIR deceased[x]): a message now reaches the family
        if ((Boolean.TRUE.equals(contact.attributes.get("deceased")) || contact.attributes.get("deathDateTime") != null)
                && deceased.deny.contains(purpose)) {
            allowed = false;
            reasons.add(deny.get("deceased"));
        }

        // the purpose
        switch (purpose) {
            case "treatment" -> reasons.add(allow.get("treatment-communication"));
            case "marketing" -> {
                if (deidentified) {
                    reasons.add(allow.get("deidentified-data"));
                } else if (authorization == null) {
                    allowed = false;
                    reasons.add(deny.get("marketing-authorization"));
                } else {
                    reasons.add(allow.get("marketing-authorization"));
                    if (req.remuneration() && !authorization.remuneration()) {
                        allowed = false;
                        reasons.add(deny.get("marketing-remuneration-statement"));
                    }
                }
                if ("sms".equals(channel)) {
                    if (smsConsent) {
                        reasons.add(allow.get("sms-marketing-written-consent"));
                    } else {
                        allowed = false;
                        reasons.add(deny.get("sms-marketing-written-consent"));
                    }
                }
                if ("email".equals(channel) && emailOptIn) {
                    if (emailConsent) {
                        reasons.add(allow.get("email-marketing-opt-in"));
                    } else {
                        allowed = false;
                        reasons.add(deny.get("email-marketing-opt-in"));
                    }
                }
            }
            default -> reasons.add(allow.get("payment-operations"));
        }

        // what the content may carry
        List<String> codes = req.dataCodes();
        for (int i = 0; i < codes.size(); i++) {
            if (policy.sensitiveCategory(codes.get(i)) != null) {
                if ("marketing".equals(purpose)) {
                    allowed = false;
                    reasons.add(deny.get("sensitive-data-marketing"));
                } else if (phi) {
                    phi = false;
                    reasons.add(limit.get("sensitive-data-minimum"));
                }
                break;
            }
        }
        if (phi && "sms".equals(channel)) {
            phi = false;
            reasons.add(limit.get("sms-phi-free"));
        }
        if (phi && (channel.startsWith("queue:") || channel.startsWith("webhook:"))) {
            String baa = channel.startsWith("queue:") ? queues.get(channel.substring(6))
                    : webhooks.get(channel.substring(8));
            java.time.LocalDate until = baaExpires.get(channel);
            boolean expired = until != null && java.time.LocalDate.ofInstant(now, java.time.ZoneOffset.UTC)
                    .isAfter(until);
            // an expired BAA is none: the business associate's obligations ended with it
            if (!"signed".equals(baa) && !"not-applicable".equals(baa) || expired) {
                phi = false;
                reasons.add(limit.get("queue-without-baa"));
            }
        }
        String content = deidentified ? Decision.DEIDENTIFIED : phi ? Decision.PHI : Decision.PHI_FREE;
        return new Decision(allowed, allowed ? content : Decision.NONE, reasons);
    }

    /** PD1-13 gives the date the protection started; without it the indicator is in force. */
    private static boolean protectionInForce(Contact contact, Instant now) {
        Object since = contact.attributes.get(PROTECTION_DATE);
        if (since == null) {
            return true;
        }
        try {
            String s = since.toString();
            return !LocalDate.parse(s.length() > 10 ? s.substring(0, 10) : s)
                    .isAfter(LocalDate.ofInstant(now, ZoneOffset.UTC));
        } catch (RuntimeException e) {
            return true;
        }
    }
}
