package io.caravan.channel.sms;

import io.caravan.channel.MessageStore;
import io.caravan.channel.MessageStatus;
import io.caravan.channel.OutboundMessage;
import io.caravan.channel.Suppressions;
import io.caravan.consent.ConsentService;
import io.caravan.contact.Contact;
import java.time.Clock;
import java.util.List;
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

    /** A receipt for one segment; the message's status moves once, when its last segment is reported. */
    void receipt(String smscId, String state, String error) {
        receipt(smscId, state, error, false);
    }

    /**
     * {@code kept}: the receipt came early and waits in {@code sms_receipt_early}; it is applied only by the caller
     * that removes it there, in the same transaction (the retry and the sweep may race for it).
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
            // not (yet) a text the hub recorded as sent: the submit's response and this receipt crossed. Kept (the
            // sweep applies it even after a restart) and tried again shortly, off camel-smpp's PDU threads
            segments.keepEarly(smsc.get().id(), smscId, state, error, clock.instant());
            retryEarly(smscId, state, error, 1);
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

    private final java.util.concurrent.ScheduledExecutorService early = java.util.concurrent.Executors
            .newScheduledThreadPool(2, r -> {
                Thread t = new Thread(r, "sms-early-receipts");
                t.setDaemon(true);
                return t;
            });

    /** An early receipt, again after a short wait (its text is usually marked sent within milliseconds). */
    private void retryEarly(String smscId, String state, String error, int attempt) {
        if (attempt > 20) {
            return; // the sweep takes it from here
        }
        early.schedule(() -> {
            try {
                Optional<OutboundMessage> m = segments.messageOf(smsc.get().id(), smscId).flatMap(store::find);
                if (m.isPresent() && m.get().status() != MessageStatus.PLANNED
                        && m.get().status() != MessageStatus.DEFERRED) {
                    receipt(smscId, state, error, true);
                } else {
                    retryEarly(smscId, state, error, attempt + 1);
                }
            } catch (RuntimeException e) {
                log.warn("SMS receipt not applied yet ({}); the sweep retries", e.getClass().getSimpleName());
            }
        }, 50L * attempt, java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    @jakarta.annotation.PreDestroy
    void stop() {
        early.shutdownNow();
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
        for (SmsSegments.Early e : segments.early(smsc.get().id())) {
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
