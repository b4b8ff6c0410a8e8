package io.caravan.channel.email;

import io.caravan.channel.Channel;
import io.caravan.channel.MessageStore;
import io.caravan.channel.Template;
import io.caravan.channel.email.feedback.Tracking;
import io.caravan.channel.email.transport.SmtpDelivery;
import io.caravan.contact.Contact;
import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.stereotype.Component;

/**
 * Email as a channel plug-in: templates under {@code config/templates/email}, the contact's email address, PHI when
 * protected per recipient (S/MIME, OpenPGP, enforced TLS, portal), delivered by the {@code deliver-email} route.
 */
@Component
class EmailChannel implements Channel {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(EmailChannel.class);

    private final EmailTemplates templates;
    private final Tracking tracking;
    private final DomainRates rates;
    private final DomainConcurrency concurrency;
    private final RelayBaa baa;
    private final ObjectProvider<SmtpDelivery> delivery;
    private final MessageStore store;
    private final Clock clock;

    EmailChannel(EmailTemplates templates, Tracking tracking, EmailProperties props, RelayBaa baa,
            ObjectProvider<SmtpDelivery> delivery, MessageStore store, Clock clock) {
        this.templates = templates;
        this.tracking = tracking;
        this.rates = new DomainRates(props.domainRates());
        this.concurrency = new DomainConcurrency(props.domainConcurrency(), clock);
        this.baa = baa;
        this.delivery = delivery;
        this.store = store;
        this.clock = clock;
    }

    @Override
    public Optional<String> closed(LocalDate today) {
        return baa.closed(today);
    }

    /**
     * At start, with the relay's agreement in force (renewed in the adapter file since the last run): the messages
     * that waited for it are due now, not at the end of their 15 minutes.
     */
    @org.springframework.context.event.EventListener(org.springframework.boot.context.event.ApplicationReadyEvent.class)
    public void agreementInForce() {
        if (baa.relay() != null && baa.closed(LocalDate.now(clock.withZone(ZoneOffset.UTC))).isEmpty()) {
            int n = store.dueNow(name(), RelayBaa.EXPIRED, clock.instant());
            if (n > 0) {
                log.info("Email relay {}: its BAA is in force; {} messages that waited for it are due", baa.relay(), n);
            }
        }
    }

    @Override
    public Place enter(String address, Turn turn) {
        if (!concurrency.limited()) {
            return Place.GO;
        }
        SmtpDelivery d = delivery.getIfAvailable();
        return concurrency.enter(d != null ? d.destination(address) : SmtpDelivery.domainOf(address),
                turn == Turn.PROMPT);
    }

    @Override
    public Optional<java.time.Instant> admit(String address, Turn turn, java.time.Instant now) {
        return rates.admit(address, turn, now);
    }

    @Override
    public String name() {
        return "email";
    }

    @Override
    public Optional<Template> template(String name) {
        return templates.get(name).map(t -> new Template(t.name(), t.purpose(), t.content(), t.requires()));
    }

    @Override
    public Optional<String> address(Contact contact) {
        return Optional.ofNullable(contact.email);
    }

    /** {@link EmailSender#prepare} waits for the decision's entry after encrypting and signing. */
    @Override
    public boolean awaitsDecision() {
        return true;
    }

    @Override
    public Set<String> contentClasses() {
        return Set.of("phi", "phi-free");
    }

    @Override
    public boolean engaged(UUID messageId, String what) {
        return tracking.engaged(messageId, what);
    }

    @Override
    public java.util.Set<UUID> engagedContacts(String what) {
        return tracking.engagedContacts(what);
    }

    @Override
    public long engagedCount(java.util.Collection<UUID> messageIds, String what) {
        return tracking.engagedCount(messageIds, what);
    }

    @Override
    public long machineCount(java.util.Collection<UUID> messageIds, String what) {
        return tracking.machineCount(messageIds, what);
    }
}
