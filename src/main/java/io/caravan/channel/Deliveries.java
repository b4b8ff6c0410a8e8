package io.caravan.channel;

import io.caravan.audit.Disclosures;
import io.caravan.consent.ConsentService;
import io.caravan.consent.Decision;
import io.caravan.consent.DecisionRequest;
import io.caravan.contact.Contact;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * The channel-agnostic steps of the {@code message-send} route: the gate decides again at the moment of sending
 * ({@link #gate}), the channel's route {@code direct:deliver-<channel>} delivers, and {@link #sent} marks the message
 * sent once the disclosure is recorded. Everything travels as exchange properties, never headers (Hawtio shows those).
 */
@Component("deliveries")
public class Deliveries {

    private static final Logger log = LoggerFactory.getLogger(Deliveries.class);
    static final String ACTOR = "route:message-send";

    /** In: whether the message goes to its channel's route (false: blocked, or already sent by an earlier attempt). */
    public static final String DELIVER = "CaravanDeliver";
    /** For the channel's route: the send-time decision ({@link Decision}), the message and the contact. */
    public static final String DECISION = "CaravanDecision";
    public static final String MESSAGE = "CaravanMessage";
    public static final String CONTACT = "CaravanContact";
    /** The channel's route sets this (true) when it handed the message over, with the disclosure's properties. */
    public static final String DELIVERED = "CaravanDelivered";
    /** Optional, set by the channel's route: reason codes to keep on the sent message. */
    public static final String REASONS = "CaravanReasons";

    private final MessageStore store;
    private final ConsentService consents;
    private final Channels channels;
    private final Clock clock;

    public Deliveries(MessageStore store, ConsentService consents, Channels channels, Clock clock) {
        this.store = store;
        this.consents = consents;
        this.channels = channels;
        this.clock = clock;
    }

    /** Step 1: the gate at send time; leaves {@value #DELIVER} and, when true, what the channel's route needs. */
    public void gate(Exchange ex) {
        ex.setProperty(DELIVER, false);
        UUID id = ex.getProperty(Messages.MESSAGE_ID, UUID.class);
        Optional<OutboundMessage> found = store.find(id);
        if (found.isEmpty() || !(found.get().status() == MessageStatus.PLANNED
                || found.get().status() == MessageStatus.DEFERRED)) {
            return; // already sent or stopped by an earlier attempt
        }
        OutboundMessage m = found.get();
        Contact c = consents.requireContact(m.contactId());
        Channel ch = channels.require(m.channel());
        Template t = ch.template(m.template()).orElseThrow(() -> new IllegalStateException("template gone"));
        Decision d = consents.decide(c, new DecisionRequest(m.purpose(), ch.name(), t.content(), false, List.of()),
                ACTOR, ConsentService.Stage.SEND);
        if (!d.allowed()) {
            store.finish(id, MessageStatus.BLOCKED, null, d.denials(), clock.instant());
            return;
        }
        Optional<String> address = ch.address(c);
        if (address.isEmpty()) {
            store.finish(id, MessageStatus.BLOCKED, null, List.of("no-" + ch.name() + "-address"),
                    clock.instant());
            return;
        }
        ex.setProperty(DECISION, d);
        ex.setProperty(MESSAGE, m);
        ex.setProperty(CONTACT, c);
        // what record-disclosure reads; the channel's route may refine recipient, description and protection
        ex.setProperty("CaravanContactId", c.id);
        ex.setProperty("CaravanPurpose", m.purpose());
        ex.setProperty("CaravanChannel", ch.name());
        ex.setProperty(Disclosures.RECIPIENT, address.get());
        ex.setProperty(Disclosures.DESCRIPTION, ch.name() + " " + m.template());
        ex.setProperty(Disclosures.MESSAGE_ID, m.id().toString());
        ex.setProperty(DELIVER, true);
    }

    /** Step 3, after the disclosure is recorded: the message is sent. */
    public void sent(Exchange ex) {
        OutboundMessage m = ex.getProperty(MESSAGE, OutboundMessage.class);
        @SuppressWarnings("unchecked")
        List<String> reasons = ex.getProperty(REASONS, List.of(), List.class);
        store.finish(m.id(), MessageStatus.SENT, ex.getProperty(Disclosures.PROTECTION, String.class), reasons,
                clock.instant());
    }

    /** A failure the channel's route did not handle itself: the message fails, named by the exception's class. */
    public void failed(Exchange ex) {
        OutboundMessage m = ex.getProperty(MESSAGE, OutboundMessage.class);
        Throwable e = ex.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        String name = e == null ? "unknown" : e.getClass().getSimpleName();
        UUID id = m != null ? m.id() : ex.getProperty(Messages.MESSAGE_ID, UUID.class);
        log.error("Sending message {} failed ({})", id, name);
        store.finish(id, MessageStatus.FAILED, null, List.of("error:" + name), clock.instant());
    }
}
