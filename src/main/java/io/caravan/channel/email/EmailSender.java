package io.caravan.channel.email;

import io.caravan.audit.Disclosures;
import io.caravan.channel.MessageStore;
import io.caravan.channel.Messages;
import io.caravan.channel.OutboundMessage;
import io.caravan.consent.ConsentService;
import io.caravan.consent.Decision;
import io.caravan.consent.DecisionRequest;
import io.caravan.consent.UnsubscribeTokens;
import io.caravan.contact.Contact;
import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeBodyPart;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import java.security.cert.X509Certificate;
import java.time.Clock;
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
import org.springframework.stereotype.Component;

/**
 * Sends one planned email (the {@code email-send} route's step): the gate decides again at this moment, the
 * strongest protection the recipient allows is chosen, the content adapts to it, and the protected message is
 * delivered (the outbox, on the embedded default), disclosed in the audit trail and its status recorded.
 *
 * <p>Protection, strongest first: S/MIME (AES-GCM) with a certificate on file, OpenPGP with a key on file. PHI content
 * goes only under one of those; without them the template's PHI-free variant goes instead, or the message is blocked
 * ({@code no-protection-available}) — never PHI in clear. PHI-free content goes encrypted when a key is on file and
 * as it is otherwise ({@code none}).
 */
@Component("emailSender")
public class EmailSender {

    private static final Logger log = LoggerFactory.getLogger(EmailSender.class);
    static final String ACTOR = "route:email-send";

    private final MessageStore store;
    private final ConsentService consents;
    private final EmailTemplates templates;
    private final RecipientKeys keys;
    private final UnsubscribeTokens unsubscribe;
    private final Disclosures disclosures;
    private final Outbox outbox;
    private final EmailProperties props;
    private final Dkim dkim;
    private final Tracking tracking;
    private final Clock clock;
    private final Session session = Session.getInstance(new Properties());

    public EmailSender(MessageStore store, ConsentService consents, EmailTemplates templates, RecipientKeys keys,
            UnsubscribeTokens unsubscribe, Disclosures disclosures, Outbox outbox, EmailProperties props, Dkim dkim,
            Tracking tracking, Clock clock) {
        this.store = store;
        this.consents = consents;
        this.templates = templates;
        this.keys = keys;
        this.unsubscribe = unsubscribe;
        this.disclosures = disclosures;
        this.outbox = outbox;
        this.props = props;
        this.dkim = dkim;
        this.tracking = tracking;
        this.clock = clock;
    }

    /** The route step: the message id travels as an exchange property, never a header. */
    public void send(Exchange ex) {
        send(ex.getProperty(Messages.MESSAGE_ID, UUID.class));
    }

    public void send(UUID id) {
        Optional<OutboundMessage> found = store.find(id);
        if (found.isEmpty() || !OutboundMessage.PLANNED.equals(found.get().status())) {
            return; // already sent or stopped by an earlier attempt
        }
        OutboundMessage m = found.get();
        try {
            deliver(m);
        } catch (MessagingException | java.io.IOException | RuntimeException e) {
            log.error("Sending message {} failed ({})", id, e.getClass().getSimpleName());
            store.finish(id, OutboundMessage.FAILED, null, List.of("error:" + e.getClass().getSimpleName()),
                    clock.instant());
        }
    }

    private void deliver(OutboundMessage m) throws MessagingException, java.io.IOException {
        Contact c = consents.requireContact(m.contactId());
        EmailTemplates.Template asked = templates.get(m.template())
                .orElseThrow(() -> new IllegalStateException("template gone"));
        Decision d = consents.decide(c, new DecisionRequest(m.purpose(), "email", asked.content(), false,
                List.of()), ACTOR, ConsentService.Stage.SEND);
        if (!d.allowed()) {
            block(m, d.denials());
            return;
        }
        if (c.email == null) {
            block(m, List.of("no-email-address"));
            return;
        }
        Optional<X509Certificate> cert = keys.smimeFor(c.id);
        Optional<PGPPublicKey> pgp = cert.isPresent() ? Optional.empty() : keys.pgpFor(c.id);
        boolean encrypted = cert.isPresent() || pgp.isPresent();
        List<String> reasons = new ArrayList<>();
        EmailTemplates.Template use = asked;
        if ("phi".equals(asked.content()) && (!encrypted || !Decision.PHI.equals(d.content()))) {
            if (asked.phiFreeVariant() == null) {
                block(m, List.of(encrypted ? "content-limited:" + String.join("+", limits(d))
                        : "no-protection-available"));
                return;
            }
            use = templates.get(asked.phiFreeVariant()).orElseThrow();
            reasons.add("phi-free-variant:" + use.name());
        }
        String protection = cert.isPresent() ? "smime" : pgp.isPresent() ? "pgp" : "none";

        Map<String, Object> model = new HashMap<>(store.data(m.id()));
        if (c.name != null) {
            model.putIfAbsent("familyName", c.name.family());
            model.putIfAbsent("givenName", c.name.given() == null || c.name.given().isEmpty() ? ""
                    : c.name.given().get(0));
        }
        String unsubscribeUrl = null;
        if ("marketing".equals(m.purpose())) {
            unsubscribeUrl = props.publicBaseUrl() + "/unsubscribe/" + unsubscribe.issue(c.id, "email", "marketing");
            model.put("unsubscribeUrl", unsubscribeUrl);
        }
        EmailTemplates.Rendered r = templates.render(use.name(), c.language, model);

        MimeMessage msg = new Dkim.StableMessage(session, "<" + m.id() + "@caravan>");
        msg.setFrom(new InternetAddress(props.from()));
        // the bare address: a display name would put the patient's name in a header no encryption covers
        msg.setRecipient(MimeMessage.RecipientType.TO, new InternetAddress(c.email));
        msg.setSubject(r.subject(), "UTF-8");
        msg.setSentDate(java.util.Date.from(clock.instant()));
        msg.setHeader("X-Caravan-Protection", protection);
        if (unsubscribeUrl != null) {
            msg.setHeader("List-Unsubscribe", "<" + unsubscribeUrl + ">");
            msg.setHeader("List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
        }
        MimeMultipart alt = alternative(r.text(), tracking.instrument(m.id(), r.html()));
        MimeBodyPart body = new MimeBodyPart();
        body.setContent(alt);
        if (cert.isPresent()) {
            MimeBodyPart enc = Encryption.smime(body, cert.get(), true);
            msg.setContent(enc.getContent(), enc.getContentType());
        } else if (pgp.isPresent()) {
            msg.setContent(Encryption.pgp(body, pgp.get()));
        } else {
            msg.setContent(alt);
        }
        msg.saveChanges();
        outbox.write(m.id(), dkim.sign(msg));
        disclosures.record(new Disclosures.Disclosure(c.id, m.purpose(), "email", c.email,
                "email " + use.name(), protection, m.id().toString(), true), ACTOR);
        store.finish(m.id(), OutboundMessage.SENT, protection, reasons, clock.instant());
    }

    private static List<String> limits(Decision d) {
        return d.reasons().stream().filter(x -> "limit".equals(x.effect())).map(Decision.Reason::rule).toList();
    }

    private void block(OutboundMessage m, List<String> reasons) {
        store.finish(m.id(), OutboundMessage.BLOCKED, null, reasons, clock.instant());
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
