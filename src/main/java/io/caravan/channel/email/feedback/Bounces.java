package io.caravan.channel.email.feedback;

import io.caravan.audit.AuditDraft;
import io.caravan.audit.AuditLog;
import io.caravan.channel.MessageStore;
import io.caravan.channel.MessageStatus;
import io.caravan.channel.OutboundMessage;
import io.caravan.channel.Suppressions;
import io.caravan.contact.ContactStore;
import jakarta.mail.BodyPart;
import jakarta.mail.Message;
import jakarta.mail.MessagingException;
import jakarta.mail.Multipart;
import jakarta.mail.internet.InternetHeaders;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.camel.Exchange;
import org.apache.camel.component.mail.MailMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Delivery status notifications (RFC 3464 {@code multipart/report; report-type=delivery-status}) from the bounce
 * mailbox, polled by the {@code email-bounces} route. Anyone can mail the bounce address, so a report counts only
 * when it is about a message this hub sent - found by that message's own Message-ID ({@code <id@caravan>}, a random
 * UUID) in the returned headers' {@code Message-ID} field, else the report's {@code Original-Envelope-Id}, else the
 * report's own {@code In-Reply-To} / {@code References} - and only for that message's recipient: a recipient block
 * naming another address is ignored. For the recipient, {@code failed} with a 5.1.x mailbox status bounces the
 * message and suppresses the address; another 5.x.x bounces the message alone; {@code delivered} marks it
 * delivered; {@code delayed} changes nothing. Nothing from the report (addresses, text) is logged.
 */
@Component("emailBounces")
public class Bounces {

    private static final Logger log = LoggerFactory.getLogger(Bounces.class);
    static final String ACTOR = "route:email-bounces";
    private static final Pattern OUR_ID = Pattern.compile("^<([0-9a-fA-F-]{36})@caravan>$");
    private static final Pattern ANY_OF_OURS = Pattern.compile("<([0-9a-fA-F-]{36})@caravan>");
    private static final Pattern FIELD = Pattern.compile("(?im)^([A-Za-z-]+):[ \\t]*(.*)$");

    /** One recipient's part of a report. */
    record Recipient(String address, String action, String status) {
    }

    /** A parsed report: the message it is about and what happened per recipient. */
    record Report(UUID messageId, List<Recipient> recipients) {
    }

    private final MessageStore store;
    private final Suppressions suppressions;
    private final ContactStore contacts;
    private final AuditLog audit;
    private final Clock clock;

    public Bounces(MessageStore store, Suppressions suppressions, ContactStore contacts, AuditLog audit,
            Clock clock) {
        this.store = store;
        this.suppressions = suppressions;
        this.contacts = contacts;
        this.audit = audit;
        this.clock = clock;
    }

    /** The route's step. */
    public void process(Exchange ex) throws MessagingException, IOException {
        MailMessage mail = ex.getIn(MailMessage.class);
        Message m = mail != null ? mail.getOriginalMessage() : ex.getIn().getBody(Message.class);
        if (m == null) {
            return;
        }
        Optional<Report> r = parse(m);
        if (r.isEmpty()) {
            log.info("Bounce mailbox: a message that is not a delivery report about our mail was ignored");
            return;
        }
        apply(r.get());
    }

    void apply(Report r) {
        Optional<OutboundMessage> sent = store.find(r.messageId()).filter(m -> "email".equals(m.channel()));
        if (sent.isEmpty()) {
            log.warn("Bounce mailbox: a delivery report about a message this hub did not send was ignored");
            return;
        }
        // the address the message went to is the contact's; a report naming any other address proves nothing
        String address = contacts.findById(sent.get().contactId()).map(c -> c.email).orElse(null);
        for (Recipient rc : r.recipients()) {
            if (address == null || rc.address() == null || !same(address, rc.address())) {
                log.warn("Bounce mailbox: a delivery report about message {} names a recipient it was not sent to;"
                        + " ignored", r.messageId());
                continue;
            }
            String action = rc.action().toLowerCase(Locale.ROOT);
            if ("failed".equals(action) && rc.status().startsWith("5")) {
                String reason = "dsn:" + rc.status();
                boolean mailbox = mailboxRefused(rc.status());
                if (store.report(r.messageId(), MessageStatus.BOUNCED, reason, clock.instant())) {
                    audit.appendAndWait(AuditDraft.of(ACTOR, "email.bounced").contact(sent.get().contactId())
                            .channel("email").outcome(reason).detail("messageId", r.messageId().toString()));
                }
                if (mailbox) {
                    suppressions.suppress("email", address, reason, r.messageId(), sent.get().contactId(), ACTOR);
                }
                log.info("Message {} bounced (DSN {}){}", r.messageId(), rc.status(),
                        mailbox ? "; the address is suppressed" : "");
            } else if ("delivered".equals(action)) {
                store.report(r.messageId(), MessageStatus.DELIVERED, null, clock.instant());
            }
        }
    }

    /** RFC 3463 5.1.x is about the recipient's address, except 5.1.7 and 5.1.8 (the sender's). */
    static boolean mailboxRefused(String status) {
        return status.startsWith("5.1.") && !status.equals("5.1.7") && !status.equals("5.1.8");
    }

    private static boolean same(String a, String b) {
        return a.trim().equalsIgnoreCase(b.trim());
    }

    /** A delivery status report about one of our messages, or empty. */
    static Optional<Report> parse(Message m) throws MessagingException, IOException {
        if (!m.isMimeType("multipart/report")) {
            return Optional.empty();
        }
        Multipart mp = (Multipart) m.getContent();
        String status = null;
        UUID returned = null;
        for (int i = 0; i < mp.getCount(); i++) {
            BodyPart p = mp.getBodyPart(i);
            String raw = raw(p);
            if (p.isMimeType("message/delivery-status")) {
                status = raw;
            } else if (p.isMimeType("text/rfc822-headers") || p.isMimeType("message/rfc822")
                    || p.isMimeType("message/rfc822-headers")) {
                // the returned message's own Message-ID field, not any id quoted somewhere in its headers
                String[] ids = new InternetHeaders(new ByteArrayInputStream(raw.getBytes(StandardCharsets.ISO_8859_1)))
                        .getHeader("Message-ID");
                if (ids != null && ids.length == 1) {
                    returned = ours(ids[0]);
                }
            }
        }
        if (status == null) {
            return Optional.empty();
        }
        String[] blocks = status.replace("\r\n", "\n").split("\n\\s*\n");
        UUID about = returned;
        if (about == null) {
            about = ours(field(blocks[0], "original-envelope-id"));
        }
        if (about == null) {
            about = ours(m.getHeader("In-Reply-To"));
        }
        if (about == null) {
            String[] refs = m.getHeader("References");
            if (refs != null) {
                Matcher any = ANY_OF_OURS.matcher(String.join(" ", refs));
                if (any.find()) {
                    about = UUID.fromString(any.group(1));
                }
            }
        }
        if (about == null) {
            return Optional.empty();
        }
        // per-message fields, then one block per recipient, separated by blank lines
        List<Recipient> recipients = new ArrayList<>();
        for (String block : blocks) {
            String address = null;
            String action = null;
            String code = null;
            Matcher f = FIELD.matcher(block);
            while (f.find()) {
                String name = f.group(1).toLowerCase(Locale.ROOT);
                String value = f.group(2).trim();
                switch (name) {
                    case "final-recipient", "original-recipient" -> {
                        if (address == null || "final-recipient".equals(name)) {
                            address = value.contains(";") ? value.substring(value.indexOf(';') + 1).trim() : value;
                        }
                    }
                    case "action" -> action = value;
                    case "status" -> code = value.split("\\s")[0];
                    default -> {
                    }
                }
            }
            if (action != null && code != null) {
                recipients.add(new Recipient(address, action, code));
            }
        }
        return recipients.isEmpty() ? Optional.empty() : Optional.of(new Report(about, recipients));
    }

    private static String field(String block, String name) {
        Matcher f = FIELD.matcher(block);
        while (f.find()) {
            if (f.group(1).equalsIgnoreCase(name)) {
                return f.group(2).trim();
            }
        }
        return null;
    }

    /** Our UUID when the value is exactly one of our Message-IDs. */
    private static UUID ours(String value) {
        if (value == null) {
            return null;
        }
        Matcher id = OUR_ID.matcher(value.trim());
        return id.matches() ? UUID.fromString(id.group(1)) : null;
    }

    private static UUID ours(String[] values) {
        return values == null || values.length != 1 ? null : ours(values[0]);
    }

    private static String raw(BodyPart p) throws MessagingException, IOException {
        // the part's own bytes: message/delivery-status may be parsed into an object by the mail library
        try (InputStream in = p.getInputStream()) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            in.transferTo(out);
            return out.toString(StandardCharsets.ISO_8859_1);
        }
    }
}
