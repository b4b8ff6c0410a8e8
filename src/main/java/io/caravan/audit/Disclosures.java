package io.caravan.audit;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.Set;
import java.util.UUID;
import org.apache.camel.Exchange;
import org.springframework.stereotype.Component;

/**
 * Records disclosures — information leaving the hub — in the audit trail, and reads them back as a patient's
 * accounting of disclosures (45 CFR 164.528). Channels call {@link #record} once a message is handed over; routes
 * use the bean {@code disclosures} as a step after delivery.
 */
@Component("disclosures")
public class Disclosures {

    /** Purposes whose disclosures need no accounting (164.528(a)(1)(i)): recorded, but marked exempt. */
    static final Set<String> EXEMPT_PURPOSES = Set.of("treatment", "payment", "operations");

    /** Exchange properties a route sets for {@link #process}. */
    public static final String RECIPIENT = "CaravanRecipient";
    public static final String DESCRIPTION = "CaravanDescription";
    public static final String PROTECTION = "CaravanProtection";
    public static final String MESSAGE_ID = "CaravanMessageId";
    public static final String TO_INDIVIDUAL = "CaravanToIndividual";

    private final AuditLog audit;

    public Disclosures(AuditLog audit) {
        this.audit = audit;
    }

    /**
     * One disclosure.
     *
     * @param recipient    who received it (an address: sealed in the entry)
     * @param description  what was disclosed (sealed)
     * @param protection   how it was protected in transit: smime, pgp, tls, portal, none
     * @param toIndividual sent to the patient themself (164.528(a)(1)(ii): exempt from accounting)
     */
    public record Disclosure(UUID contactId, String purpose, String channel, String recipient, String description,
            String protection, String messageId, boolean toIndividual) {
    }

    /** One line of the accounting of disclosures. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Accounted(Instant date, String recipient, String description, String purpose, String channel,
            String protection, boolean exempt, String exemptReason) {
    }

    /** Records a disclosure and returns once the entry is durable. */
    public long record(Disclosure d, String actor) {
        return audit.appendAndWait(entry(d, actor));
    }

    /**
     * Records a disclosure together with the statements of the change it accompanies (the message marked sent): both
     * commit, or neither; returns once durable.
     */
    public long record(Disclosure d, String actor, AuditLog.TxWork with) {
        return audit.appendAndWait(entry(d, actor), with);
    }

    /**
     * Queues a disclosure with the statements of its change (both commit, or neither) without waiting: for a caller
     * that must know, after a wait that gave up, whether this very entry committed (see {@link AuditLog#waitFor}).
     */
    public java.util.concurrent.CompletableFuture<Long> queue(Disclosure d, String actor, AuditLog.TxWork with) {
        return queue(entry(d, actor), with);
    }

    /**
     * The same for an entry the caller built ({@link #entry}) and may queue again after a failure: the very entry, so
     * that one whose commit landed unanswered is not written a second time (see {@link AuditLog}).
     */
    public java.util.concurrent.CompletableFuture<Long> queue(AuditDraft entry, AuditLog.TxWork with) {
        return audit.append(entry, with);
    }

    /** Waits until a disclosure {@link #queue queued} earlier is durable; throws as {@link #record} does. */
    public long awaitQueued(java.util.concurrent.CompletableFuture<Long> queued) {
        return audit.waitFor(queued);
    }

    /** Records several disclosures together (one wait for all) and returns once every entry is durable. */
    public void recordAll(java.util.List<Disclosure> all, String actor) {
        if (!all.isEmpty()) {
            audit.appendAllAndWait(all.stream().map(d -> entry(d, actor)).toList());
        }
    }

    /** The audit entry of a disclosure, for a caller that appends it together with others (one wait for all). */
    public static AuditDraft entry(Disclosure d, String actor) {
        return AuditDraft.of(actor, Actions.DISCLOSURE).contact(d.contactId())
                .purpose(d.purpose()).channel(d.channel()).outcome(d.protection()).detail("recipient", d.recipient())
                .detail("description", d.description()).detail("messageId", d.messageId())
                .detail("toIndividual", d.toIndividual());
    }

    /** Camel step: records the disclosure described by the exchange properties (see the constants). */
    public void process(Exchange ex) {
        record(of(ex), actor(ex));
    }

    /** The disclosure the exchange properties describe (see the constants). */
    public static Disclosure of(Exchange ex) {
        return new Disclosure(ex.getProperty("CaravanContactId", UUID.class),
                ex.getProperty("CaravanPurpose", String.class), ex.getProperty("CaravanChannel", String.class),
                ex.getProperty(RECIPIENT, String.class), ex.getProperty(DESCRIPTION, String.class),
                ex.getProperty(PROTECTION, "none", String.class), ex.getProperty(MESSAGE_ID, String.class),
                ex.getProperty(TO_INDIVIDUAL, true, Boolean.class));
    }

    /** The actor a route's disclosure is recorded under: the route the exchange started in. */
    public static String actor(Exchange ex) {
        return "route:" + ex.getFromRouteId();
    }

    static Accounted accounted(AuditEntry e) {
        boolean toIndividual = Boolean.TRUE.equals(e.details().get("toIndividual"));
        String exempt = EXEMPT_PURPOSES.contains(e.purpose()) ? "164.528(a)(1)(i) " + e.purpose()
                : toIndividual ? "164.528(a)(1)(ii) to the individual" : null;
        return new Accounted(e.at(), (String) e.details().get("recipient"), (String) e.details().get("description"),
                e.purpose(), e.channel(), e.outcome(), exempt != null, exempt);
    }
}
