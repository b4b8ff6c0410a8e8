package io.caravan.channel.sms;

import io.caravan.channel.MessageStore;
import io.caravan.channel.MessageStatus;
import io.caravan.channel.OutboundMessage;
import io.caravan.channel.Suppressions;
import io.caravan.consent.ConsentService;
import io.caravan.contact.Contact;
import io.caravan.system.GroupCommitter;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.apache.camel.Exchange;
import org.apache.camel.component.smpp.SmppConstants;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * What the SMSC sends the hub on its bind ({@code deliver_sm}, route {@code sms-inbound}): delivery receipts, which
 * give each text its one final status once all its segments are reported, and MO texts from patients. camel-smpp puts
 * the sender's number in a header: the route drops every {@code CamelSmpp*} header and the body once this is done.
 */
@Component("smsInbound")
public class SmsInbound {

    private static final Logger log = LoggerFactory.getLogger(SmsInbound.class);
    static final String ACTOR = "route:sms-inbound";

    private final SmsSegments segments;
    private final MessageStore store;
    private final Suppressions suppressions;
    private final ConsentService consents;
    private final Optional<Smsc> smsc;
    private final SmsMo mo;
    private final Clock clock;
    private final TransactionTemplate tx;
    /** Applies receipts in runs (see {@link #receipt(String, String, String)}). */
    private final GroupCommitter<Receipt, Boolean> applier;
    /** Early receipts the applier holds (kept in {@code sms_receipt_early} too), by segment id. */
    private final Map<String, Receipt> waiting = new java.util.concurrent.ConcurrentHashMap<>();
    /** The applier thread's next look at {@link #waiting}. */
    private long nextRetry;

    SmsInbound(SmsSegments segments, MessageStore store, Suppressions suppressions, ConsentService consents,
            SmsConfig.SmscHolder smsc, SmsMo mo, Clock clock, TransactionTemplate tx) {
        this.tx = tx;
        this.segments = segments;
        this.store = store;
        this.suppressions = suppressions;
        this.consents = consents;
        this.smsc = smsc.smsc();
        this.mo = mo;
        this.clock = clock;
        this.applier = GroupCommitter.<Receipt, Boolean>builder("sms receipts", this::applyGroup)
                .threadName(i -> "caravan-sms-receipts").capacity(10_000).maxGroup(500)
                .pollInterval(java.time.Duration.ofMillis(50)).offerWait(java.time.Duration.ofSeconds(5))
                .isolateFailures()
                .onFailedAlone((r, e) -> log.warn("SMS receipt not applied ({})", e.getClass().getSimpleName()))
                .between(this::retryWaiting).build();
    }

    public void process(Exchange ex) {
        try {
            String type = ex.getMessage().getHeader(SmppConstants.MESSAGE_TYPE, String.class);
            if ("DeliveryReceipt".equals(type)) {
                receipt(ex.getMessage().getHeader(SmppConstants.ID, String.class),
                        String.valueOf(ex.getMessage().getHeader("CamelSmppStatus")),
                        ex.getMessage().getHeader("CamelSmppError", String.class));
            } else if ("DeliverSm".equals(type)) {
                mo.received(ex.getMessage().getHeader("CamelSmppSourceAddr", String.class),
                        ex.getMessage().getBody(String.class));
            }
        } finally {
            ex.getMessage().removeHeaders("CamelSmpp*");
            ex.getMessage().setBody(null);
        }
    }

    /**
     * A receipt for one segment; the message's status moves once, when its last segment is reported. Receipts are
     * applied in runs by one applier thread (one look-up of their messages and one commit for the run); this returns
     * once this one is committed - applied, or kept in {@code sms_receipt_early} because its text is not recorded as
     * sent yet - so camel-smpp answers the SMSC only after that, as before.
     */
    void receipt(String smscId, String state, String error) {
        if (smscId == null || smsc.isEmpty() || outcome(state) == null) {
            return; // not ours to apply, or not final (ACCEPTD, ENROUTE)
        }
        try {
            applier.submit(new Receipt(smscId, state, error, false, clock.instant())).get(10,
                    java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while applying an SMS receipt", e);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            // camel-smpp answers the deliver_sm with an error: the SMSC sends the receipt again
            throw new IllegalStateException("SMS receipt not applied", e);
        }
    }

    /** A final receipt for one segment; {@code kept}: it waits in {@code sms_receipt_early} since {@code at}. */
    record Receipt(String smscId, String state, String error, boolean kept, Instant at) {
    }

    /** How long the applier keeps trying an early receipt before it leaves it to the sweep. */
    private static final java.time.Duration EARLY_IN_MEMORY = java.time.Duration.ofMinutes(1);
    /**
     * How often the applier looks again at the early receipts it holds: most go at once, when the send path reports
     * their text done ({@link #textDone}); this catches a receipt that crossed that report.
     */
    private static final long EARLY_RETRY_MILLIS = 250;

    /**
     * Applies a run of receipts in one transaction: one query finds their messages' statuses; a receipt whose text
     * is recorded as sent is applied (its early copy removed first when it was kept, only by the caller that removes
     * it), any other is kept in {@code sms_receipt_early} and remembered here, to be tried again as soon as its text
     * is sent. Returns the receipts it applied whose segments the carrier refused for good (to suppress after the
     * commit).
     */
    private List<Receipt> apply(List<Receipt> run) {
        String adapter = smsc.get().id();
        Map<String, SmsSegments.Sent> status = segments.statusOf(adapter,
                run.stream().map(Receipt::smscId).distinct().toList());
        List<Receipt> waitingNow = new java.util.ArrayList<>();
        List<String> settled = new java.util.ArrayList<>();
        List<Receipt> refused = new java.util.ArrayList<>();
        tx.executeWithoutResult(s -> {
            for (Receipt r : run) {
                SmsSegments.Sent st = status.get(r.smscId());
                if (!sent(st)) {
                    // not (yet) a text the hub recorded as sent: the submit's response and this receipt crossed
                    if (!r.kept()) {
                        segments.keepEarly(adapter, r.smscId(), r.state(), r.error(), r.at());
                    }
                    waitingNow.add(r.kept() ? r : new Receipt(r.smscId(), r.state(), r.error(), true, r.at()));
                    continue;
                }
                settled.add(r.smscId());
                if (r.kept() && !segments.dropEarly(adapter, r.smscId())) {
                    continue; // the sweep applied it
                }
                boolean permanent = permanent(r.state(), r.error());
                String outcome = permanent ? "refused" : outcome(r.state());
                // one segment: its outcome is the message's; several: their rows locked while they are counted
                Optional<SmsSegments.Reported> done = st.total() == 1
                        ? segments.receiptAlone(adapter, r.smscId(), st.messageId(), outcome)
                        : segments.receipt(adapter, r.smscId(), outcome);
                done.ifPresent(x -> report(x, r.state(), r.error()));
                if (done.isPresent() && done.get().outcomes().contains("refused")) {
                    refused.add(r);
                }
            }
        });
        settled.forEach(waiting::remove);
        waitingNow.forEach(r -> waiting.put(r.smscId(), r));
        return refused;
    }

    /** The applier's step: one run, one transaction; then the numbers refused for good are suppressed. */
    private void applyGroup(List<GroupCommitter.Item<Receipt, Boolean>> group) {
        List<Receipt> refused = apply(group.stream().map(GroupCommitter.Item::value).toList());
        group.forEach(i -> i.complete(true));
        suppress(refused);
    }

    /** Between runs, on the applier thread: the early receipts it holds whose texts are sent by now. */
    private void retryWaiting() {
        long now = System.currentTimeMillis();
        if (waiting.isEmpty() || now < nextRetry) {
            return;
        }
        nextRetry = now + EARLY_RETRY_MILLIS;
        Instant stale = clock.instant().minus(EARLY_IN_MEMORY);
        List<Receipt> held = new java.util.ArrayList<>(waiting.values());
        held.stream().filter(r -> r.at().isBefore(stale)).forEach(r -> waiting.remove(r.smscId()));
        List<String> ids = held.stream().filter(r -> !r.at().isBefore(stale)).map(Receipt::smscId).toList();
        for (int from = 0; from < ids.size(); from += 500) {
            List<String> part = ids.subList(from, Math.min(ids.size(), from + 500));
            Map<String, SmsSegments.Sent> status = segments.statusOf(smsc.get().id(), part);
            List<Receipt> due = part.stream().filter(id -> sent(status.get(id))).map(waiting::get)
                    .filter(java.util.Objects::nonNull).toList();
            if (!due.isEmpty()) {
                suppress(apply(due));
            }
        }
    }

    /** Whether the segment is the hub's and its text is recorded as sent (or further on). */
    private static boolean sent(SmsSegments.Sent st) {
        return st != null && !MessageStatus.PLANNED.value().equals(st.status())
                && !MessageStatus.DEFERRED.value().equals(st.status());
    }

    /**
     * The send path is done with a text these segments belong to (its {@code sent} status committed, or it failed):
     * the early receipts held for them go to the applier now rather than at its next look.
     */
    void textDone(List<String> smscIds) {
        for (String id : smscIds) {
            Receipt r = waiting.remove(id);
            if (r != null) {
                applier.submit(r);
            }
        }
    }

    private void suppress(List<Receipt> refused) {
        for (Receipt r : refused) {
            segments.messageOf(smsc.get().id(), r.smscId()).flatMap(store::find).ifPresent(sent -> {
                Contact c = consents.requireContact(sent.contactId());
                if (c.phone != null) {
                    suppressions.suppress(SmsSender.SMS, c.phone, "receipt:" + r.state(), sent.id(),
                            sent.contactId(), ACTOR);
                }
            });
        }
    }

    private boolean permanent(String state, String error) {
        return "REJECTD".equals(state) || "UNDELIV".equals(state)
                && smsc.get().settings().permanentErrors.contains(errorCode(error));
    }

    private static String outcome(String state) {
        return switch (state == null ? "" : state) {
            case "DELIVRD" -> MessageStatus.DELIVERED.value();
            case "EXPIRED" -> MessageStatus.EXPIRED.value();
            case "UNDELIV", "REJECTD", "DELETED", "UNKNOWN" -> MessageStatus.UNDELIVERABLE.value();
            default -> null; // ACCEPTD, ENROUTE: not final
        };
    }

    /**
     * The sweep's way, one receipt at a time. {@code kept}: the receipt came early and waits in
     * {@code sms_receipt_early}; it is applied only by the caller that removes it there, in the same transaction (the
     * applier and the sweep may race for it).
     */
    private void receipt(String smscId, String state, String error, boolean kept) {
        if (smscId == null || smsc.isEmpty()) {
            return;
        }
        String outcome = switch (state) {
            case "DELIVRD" -> MessageStatus.DELIVERED.value();
            case "EXPIRED" -> MessageStatus.EXPIRED.value();
            case "UNDELIV", "REJECTD", "DELETED", "UNKNOWN" -> MessageStatus.UNDELIVERABLE.value();
            default -> null; // ACCEPTD, ENROUTE: not final
        };
        if (outcome == null) {
            if (kept) {
                segments.dropEarly(smsc.get().id(), smscId);
            }
            return;
        }
        Optional<UUID> message = segments.messageOf(smsc.get().id(), smscId);
        Optional<OutboundMessage> m = message.flatMap(store::find);
        if (m.isEmpty() || m.get().status() == MessageStatus.PLANNED
                || m.get().status() == MessageStatus.DEFERRED) {
            if (kept) {
                return; // still early: the retry or the sweep comes back to it
            }
            segments.keepEarly(smsc.get().id(), smscId, state, error, clock.instant());
            return;
        }
        boolean permanent = "REJECTD".equals(state) || "UNDELIV".equals(state)
                && smsc.get().settings().permanentErrors.contains(errorCode(error));
        // the receipt (its early copy gone, its segment's outcome, the message's status) in one commit
        Optional<SmsSegments.Reported> done = tx.execute(s -> {
            if (kept && !segments.dropEarly(smsc.get().id(), smscId)) {
                return Optional.<SmsSegments.Reported>empty();
            }
            Optional<SmsSegments.Reported> r = segments.receipt(smsc.get().id(), smscId,
                    permanent ? "refused" : outcome);
            r.ifPresent(x -> report(x, state, error));
            return r;
        });
        if (done == null || done.isEmpty()) {
            return;
        }
        if (done.get().outcomes().contains("refused")) {
            OutboundMessage sent = m.get();
            Contact c = consents.requireContact(sent.contactId());
            if (c.phone != null) {
                suppressions.suppress(SmsSender.SMS, c.phone, "receipt:" + state, sent.id(), sent.contactId(), ACTOR);
            }
        }
    }

    /** The message's one final status from its segments' outcomes. */
    private void report(SmsSegments.Reported done, String state, String error) {
        List<String> outcomes = done.outcomes();
        MessageStatus status;
        String reason = null;
        if (outcomes.stream().allMatch(MessageStatus.DELIVERED.value()::equals)) {
            status = MessageStatus.DELIVERED;
        } else if (outcomes.contains("refused") || outcomes.contains(MessageStatus.UNDELIVERABLE.value())) {
            status = MessageStatus.UNDELIVERABLE;
            reason = "receipt:" + state + (error == null ? "" : ":" + error);
        } else {
            status = MessageStatus.EXPIRED;
            reason = "receipt:EXPIRED";
        }
        store.report(done.messageId(), status, reason, clock.instant());
        log.debug("SMS message {} reported {}", done.messageId(), status);
    }

    @jakarta.annotation.PostConstruct
    void start() {
        if (smsc.isPresent()) {
            applier.start();
        }
    }

    @jakarta.annotation.PreDestroy
    void stop() {
        applier.stop();
    }

    /**
     * Receipts that came before their text was recorded as sent, applied now that it is; those still unknown after
     * an hour were about another system's messages.
     */
    public void sweep() {
        if (smsc.isEmpty()) {
            return;
        }
        java.time.Instant stale = clock.instant().minus(java.time.Duration.ofHours(1));
        // younger ones the applier still holds and tries every few milliseconds; after a restart all are older
        for (SmsSegments.Early e : segments.early(smsc.get().id(), clock.instant().minus(EARLY_IN_MEMORY))) {
            Optional<OutboundMessage> m = segments.messageOf(smsc.get().id(), e.smscId()).flatMap(store::find);
            boolean inFlight = m.isPresent() && (m.get().status() == MessageStatus.PLANNED
                    || m.get().status() == MessageStatus.DEFERRED);
            if (m.isPresent() && !inFlight) {
                receipt(e.smscId(), e.state(), e.error(), true);
            } else if (e.at().isBefore(stale)) {
                segments.dropEarly(smsc.get().id(), e.smscId());
            }
        }
    }

    private static Integer errorCode(String error) {
        try {
            return error == null ? null : Integer.valueOf(error.trim());
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
