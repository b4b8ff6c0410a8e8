package io.caravan.channel.email;

import io.caravan.audit.Disclosures;
import io.caravan.channel.Deliveries;
import io.caravan.channel.DeliveryFailure;
import io.caravan.channel.MessageStore;
import io.caravan.channel.MessageStatus;
import io.caravan.channel.OutboundMessage;
import io.caravan.channel.Suppressions;
import io.caravan.channel.email.feedback.Tracking;
import io.caravan.channel.email.portal.Portal;
import io.caravan.channel.email.protection.Dkim;
import io.caravan.channel.email.protection.Encryption;
import io.caravan.channel.email.protection.Protection;
import io.caravan.channel.email.protection.RecipientKeys;
import io.caravan.channel.email.transport.MailProviders;
import io.caravan.channel.email.transport.SmtpDelivery;
import io.caravan.channel.email.transport.SmtpFailure;
import io.caravan.channel.email.transport.SmtpRelay;
import io.caravan.consent.Decision;
import io.caravan.consent.UnsubscribeTokens;
import io.caravan.contact.Contact;
import io.caravan.system.PhiSafeLogging;
import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeBodyPart;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.UUID;
import org.apache.camel.Exchange;
import org.bouncycastle.openpgp.PGPPublicKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.stereotype.Component;

/**
 * The steps of the {@code deliver-email} route, which {@code message-send} calls once the gate allowed the message
 * at the moment of sending:
 *
 * <ol>
 * <li>{@link #prepare}: {@link Protection} picks the strongest protection the recipient and the wire allow; the
 * content adapts to it (the template, its PHI-free variant, or a portal notice with the message kept in the hub); the
 * message is built, encrypted and DKIM-signed, and the route is told where it goes ({@value #DELIVERY}: outbox,
 * verified or opportunistic relay connection, or none).</li>
 * <li>{@link #delivered}: what the send path records as the disclosure before it marks the message sent.</li>
 * <li>{@link #classify}: a failed wire as a {@link DeliveryFailure}; the route's catch then {@link #bounced bounces}
 * (a 5xx; the address suppressed when its mailbox was refused at RCPT TO) or {@link #deferred defers} (a 4xx, a
 * broken connection, a refusal of the hub itself with an operator error, a relay whose TLS stopped checking out: the
 * same Message-ID on every attempt).</li>
 * </ol>
 */
@Component("emailSender")
public class EmailSender {

    static {
        MailProviders.ensure();
    }

    private static final Logger log = LoggerFactory.getLogger(EmailSender.class);
    static final String ACTOR = "route:deliver-email";
    /** Exchange property: {@code outbox}, {@code verified}, {@code opportunistic} or {@code none}. */
    public static final String DELIVERY = "CaravanDelivery";
    static final String PREPARED = "CaravanPrepared";
    static final String NOTICE_TEMPLATE = "portal-notice";

    /** What the later steps need; an exchange property, never a header. */
    record Prepared(UUID messageId, UUID contactId, String purpose, String address, String template,
            String protection, Protection.Wire wire, List<String> reasons) {
    }

    private final MessageStore store;
    private final EmailTemplates templates;
    private final RecipientKeys keys;
    private final UnsubscribeTokens unsubscribe;
    private final EmailProperties props;
    private final Dkim dkim;
    private final Tracking tracking;
    private final Portal portal;
    private static final String EMAIL = "email";
    private final Suppressions suppressions;
    private final EmailMetrics metrics;
    private final SmtpDelivery relay;
    private final Clock clock;
    private final Session session = Session.getInstance(new Properties());

    public EmailSender(MessageStore store, EmailTemplates templates, RecipientKeys keys,
            UnsubscribeTokens unsubscribe, EmailProperties props, Dkim dkim,
            Tracking tracking, Portal portal, Suppressions suppressions, EmailMetrics metrics,
            ObjectProvider<SmtpDelivery> relay, Clock clock) {
        this.store = store;
        this.templates = templates;
        this.keys = keys;
        this.unsubscribe = unsubscribe;
        this.props = props;
        this.dkim = dkim;
        this.tracking = tracking;
        this.portal = portal;
        this.suppressions = suppressions;
        this.metrics = metrics;
        this.relay = relay.getIfAvailable();
        this.clock = clock;
    }

    /**
     * Step 1, after the send path's gate allowed the message ({@link Deliveries#gate}: the decision, the message and
     * the contact are exchange properties). Leaves the protected message as the body, or {@value #DELIVERY} = none
     * when nothing goes.
     */
    public void prepare(Exchange ex) {
        ex.setProperty(DELIVERY, "none");
        OutboundMessage m = ex.getProperty(Deliveries.MESSAGE, OutboundMessage.class);
        UUID id = m.id();
        try {
            prepare(ex, m, ex.getProperty(Deliveries.CONTACT, Contact.class),
                    ex.getProperty(Deliveries.DECISION, Decision.class));
        } catch (MessagingException e) {
            // the server could not be reached to learn what it offers (or no server satisfies the recipient domain's
            // MTA-STS policy): as any connection failure, try again later
            SmtpFailure f = SmtpFailure.of(e);
            if (f.kind() == SmtpFailure.Kind.RELAY) {
                // refused while the hub checked its TLS (AUTH, say): the operator's to fix, as in classify()
                relayRefused(id, f);
                deferOrFail(id, List.of(f.reason(), "relay-refused"), true);
                return;
            }
            deferOrFail(id, List.of(e.getMessage() != null && e.getMessage().startsWith("mta-sts")
                    ? "mta-sts-unsatisfied" : "connection"), true);
        } catch (RuntimeException e) {
            if (Deliveries.storeUnavailable(e)) {
                // the database or the audit trail could not be reached (a PostgreSQL restart, a fail-over): nothing has
                // gone out yet, so the message waits and goes when the store is back - not failed for an operator to
                // replay. Not an attempt against the message's retries: the message is not at fault
                log.warn("Preparing message {} deferred: the store is unavailable ({})", id,
                        e.getClass().getSimpleName());
                deferOrFail(id, List.of("store-unavailable"), false);
                return;
            }
            log.error("Preparing message {} failed ({})", id, PhiSafeLogging.describe(e));
            store.finish(id, MessageStatus.FAILED, null, List.of("error:" + e.getClass().getSimpleName()),
                    clock.instant());
        } catch (java.io.IOException e) {
            log.error("Preparing message {} failed ({})", id, PhiSafeLogging.describe(e));
            store.finish(id, MessageStatus.FAILED, null, List.of("error:" + e.getClass().getSimpleName()),
                    clock.instant());
        }
    }

    private void prepare(Exchange ex, OutboundMessage m, Contact c, Decision d) throws MessagingException,
            java.io.IOException {
        EmailTemplates.Template asked = templates.get(m.template())
                .orElseThrow(() -> new IllegalStateException("template gone"));
        if (c.email == null) {
            block(m, List.of("no-email-address"));
            return;
        }
        if (suppressions.suppressed(EMAIL, c.email)) {
            block(m, List.of("address-suppressed"));
            return;
        }
        RecipientKeys.ForSend found = keys.forSend(c.id, c.email);
        Optional<X509Certificate> cert = found.smime();
        Optional<PGPPublicKey> pgp = found.pgp();
        boolean relayTls = false;
        if (relay != null && cert.isEmpty() && pgp.isEmpty()) {
            relayTls = relay.tls(c.email) == SmtpDelivery.Tls.VERIFIED;
        }
        EmailProperties.PurposePolicy policy = props.policy(m.purpose());
        Protection.Choice choice = Protection.choose(new Protection.Situation(m.purpose(),
                "phi".equals(asked.content()), Decision.PHI.equals(d.content()), asked.phiFreeVariant() != null,
                cert.isPresent(), pgp.isPresent(), relay != null, relayTls,
                relay != null && relay.onwardTlsGuaranteed(), policy));
        if (choice.blocked() != null) {
            block(m, List.of("content-limited".equals(choice.blocked())
                    ? "content-limited:" + String.join("+", limits(d)) : choice.blocked()));
            return;
        }
        EmailTemplates.Template use = choice.useVariant() ? templates.get(asked.phiFreeVariant()).orElseThrow()
                : asked;
        List<String> reasons = new ArrayList<>();
        if (choice.useVariant()) {
            reasons.add("phi-free-variant:" + use.name());
        }

        Map<String, Object> model = new HashMap<>(store.data(m.id()));
        if (c.name != null) {
            model.putIfAbsent("familyName", c.name.family());
            model.putIfAbsent("givenName", c.name.given() == null || c.name.given().isEmpty() ? ""
                    : c.name.given().get(0));
        }
        String unsubscribeUrl = null;
        if ("marketing".equals(m.purpose())) {
            unsubscribeUrl = props.publicBaseUrl() + "/unsubscribe/" + unsubscribe.issue(c.id, "email", "marketing",
                    m.id());
            model.put("unsubscribeUrl", unsubscribeUrl);
        }
        EmailTemplates.Rendered r = templates.render(use.name(), c.language, model);
        if ("portal".equals(choice.protection())) {
            String token = portal.keep(m.id(), c.id, m.purpose(), new Portal.Content(r.subject(), r.html(), r.text(),
                    r.language()));
            reasons.add("portal-notice");
            r = templates.render(NOTICE_TEMPLATE, c.language, Map.of("link", props.publicBaseUrl() + "/portal/"
                    + token, "days", portal.policy().expires().toDays()));
        }

        MimeMessage msg = new Dkim.StableMessage(session, "<" + m.id() + "@caravan>");
        msg.setFrom(new InternetAddress(props.from()));
        // the bare address: a display name would put the patient's name in a header no encryption covers
        msg.setRecipient(MimeMessage.RecipientType.TO, new InternetAddress(c.email));
        msg.setSubject(r.subject(), "UTF-8");
        msg.setSentDate(java.util.Date.from(clock.instant()));
        msg.setHeader("X-Caravan-Protection", choice.protection());
        if (unsubscribeUrl != null) {
            msg.setHeader("List-Unsubscribe", "<" + unsubscribeUrl + ">");
            msg.setHeader("List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
        }
        MimeMultipart alt = alternative(r.text(), tracking.instrument(m.id(), r.html()));
        MimeBodyPart body = new MimeBodyPart();
        body.setContent(alt);
        if (cert.isPresent()) {
            MimeBodyPart enc = Encryption.smime(body, cert.get(), !policy.allowCbc());
            msg.setContent(enc.getContent(), enc.getContentType());
        } else if (pgp.isPresent()) {
            msg.setContent(Encryption.pgp(body, pgp.get()));
        } else {
            msg.setContent(alt);
        }
        msg.saveChanges();
        ex.getMessage().setBody(dkim.sign(msg));
        // the send-time decision's entry became durable while this thread encrypted and signed: the wire comes next
        Deliveries.awaitDecision(ex);
        ex.setProperty(PREPARED, new Prepared(m.id(), c.id, m.purpose(), c.email, use.name(), choice.protection(),
                choice.wire(), reasons));
        ex.setProperty(DELIVERY, choice.wire().name().toLowerCase(java.util.Locale.ROOT));
    }

    /**
     * Step 2, after the outbox or the relay took the message: what the send path records as the disclosure (it marks
     * the message sent after recording it).
     */
    public void delivered(Exchange ex) {
        Prepared p = ex.getProperty(PREPARED, Prepared.class);
        String description = "portal".equals(p.protection()) ? "email portal notice (message kept for pickup)"
                : "email " + p.template();
        ex.setProperty(Disclosures.RECIPIENT, p.address());
        ex.setProperty(Disclosures.DESCRIPTION, description);
        ex.setProperty(Disclosures.PROTECTION, p.protection());
        ex.setProperty(Deliveries.REASONS, p.reasons());
        ex.setProperty(Deliveries.DELIVERED, true);
    }

    /**
     * Step 2 when the wire failed: tells the route what kind of failure it was, as a typed exception its
     * {@code doCatch} acts on: {@link DeliveryFailure.Permanent} (a 5xx: bounce; the address suppressed when its
     * mailbox was refused) or {@link DeliveryFailure.Transient} (a 4xx, a broken connection, a relay refusing the hub
     * itself, a relay whose TLS stopped checking out: defer). Never logs the address or the content.
     */
    public void classify(Exchange ex) throws DeliveryFailure {
        Prepared p = ex.getProperty(PREPARED, Prepared.class);
        Throwable e = ex.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        if (e instanceof DeliveryFailure f) {
            throw f;
        }
        if (p.wire() == Protection.Wire.VERIFIED && relay != null && SmtpRelay.isTlsFailure(e)) {
            // the relay stopped proving TLS between the check and the send: check again and choose anew, now
            relay.forget();
            log.warn("Message {}: the relay's TLS did not verify; protection is chosen again", p.messageId());
            throw new DeliveryFailure.Transient(List.of("tls-unverified"), false);
        }
        SmtpFailure f = SmtpFailure.of(e);
        if (p.wire() == Protection.Wire.OPPORTUNISTIC && relay != null && relay.credentialsNeedVerifiedTls()
                && SmtpRelay.isTlsFailure(e)) {
            // a relay that takes credentials gets them only over verified TLS, so its unverified TLS is its fault
            f = new SmtpFailure(SmtpFailure.Kind.RELAY, 0, null, "tls");
        }
        switch (f.kind()) {
            case RECIPIENT -> {
                log.warn("Message {} bounced: the recipient's mailbox was refused ({})", p.messageId(),
                        f.reason());
                throw new DeliveryFailure.Permanent(f.reason(), true);
            }
            case MESSAGE -> {
                // refused for good, but not because of the address: the address stays usable
                log.warn("Message {} refused for good ({} at {}); the address is not suppressed",
                        p.messageId(), f.reason(), f.stage());
                throw new DeliveryFailure.Permanent(f.reason(), false);
            }
            case RELAY -> {
                relayRefused(p.messageId(), f);
                throw new DeliveryFailure.Transient(List.of(f.reason(), "relay-refused"), true);
            }
            default -> {
                String reason = f.code() > 0 ? f.reason() : e instanceof MessagingException ? "connection"
                        : "error:" + (e == null ? "unknown" : e.getClass().getSimpleName());
                log.warn("Message {} deferred: {}", p.messageId(), reason);
                throw new DeliveryFailure.Transient(List.of(reason), true);
            }
        }
    }

    /** The route's catch of a transient failure: deferred with backoff, failed once the retries are used up. */
    public void deferred(Exchange ex) {
        Prepared p = ex.getProperty(PREPARED, Prepared.class);
        DeliveryFailure.Transient t = ex.getProperty(Exchange.EXCEPTION_CAUGHT, DeliveryFailure.Transient.class);
        if (t.counts()) {
            deferOrFail(p.messageId(), t.reasons(), true);
        } else {
            store.defer(p.messageId(), t.reasons(), false, clock.instant(), clock.instant());
        }
    }

    /** The route's catch of a permanent failure: bounced; the address suppressed when its mailbox was refused. */
    public void bounced(Exchange ex) {
        Prepared p = ex.getProperty(PREPARED, Prepared.class);
        DeliveryFailure.Permanent f = ex.getProperty(Exchange.EXCEPTION_CAUGHT, DeliveryFailure.Permanent.class);
        String reason = f.reasons().get(0);
        if (f.addressRefused()) {
            suppressions.suppress(EMAIL, p.address(), reason, p.messageId(), p.contactId(), ACTOR);
        }
        store.finish(p.messageId(), MessageStatus.BOUNCED, p.protection(), List.of(reason), clock.instant());
    }

    /**
     * The relay refuses the hub itself: every message would fail alike, so the operator must hear of it; the message
     * waits (nothing accepted is lost) and no patient's address is blamed.
     */
    private void relayRefused(UUID id, SmtpFailure f) {
        metrics.relayRefused(f.stage(), f.code());
        log.error("The SMTP server refused the hub itself ({} at {}): check the relay's TLS, credentials and"
                + " relaying rules; message {} deferred", f.reason(), f.stage(), id);
    }

    private void deferOrFail(UUID id, List<String> reasons, boolean counts) {
        int attempts = store.attempts(id);
        List<Duration> backoff = props.retry().backoff();
        Instant now = clock.instant();
        if (attempts >= backoff.size()) {
            List<String> all = new ArrayList<>(reasons);
            all.add("retries-exhausted");
            store.finish(id, MessageStatus.FAILED, null, all, now);
        } else {
            store.defer(id, reasons, counts, now.plus(backoff.get(attempts)), now);
        }
    }

    private static List<String> limits(Decision d) {
        return d.reasons().stream().filter(x -> "limit".equals(x.effect())).map(Decision.Reason::rule).toList();
    }

    private void block(OutboundMessage m, List<String> reasons) {
        store.finish(m.id(), MessageStatus.BLOCKED, null, reasons, clock.instant());
    }

    private static MimeMultipart alternative(String plain, String htmlBody) throws MessagingException {
        MimeMultipart alt = new MimeMultipart("alternative");
        MimeBodyPart text = new MimeBodyPart();
        text.setText(plain, "UTF-8");
        MimeBodyPart html = new MimeBodyPart();
        html.setContent(htmlBody, "text/html; charset=UTF-8");
        alt.addBodyPart(text);
        alt.addBodyPart(html);
        return alt;
    }
}
