package io.caravan.channel.email;

import io.caravan.audit.AuditDraft;
import io.caravan.audit.AuditLog;
import io.caravan.channel.MessageStore;
import io.caravan.channel.OutboundMessage;
import jakarta.mail.BodyPart;
import jakarta.mail.Message;
import jakarta.mail.MessagingException;
import jakarta.mail.Multipart;
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
 * mailbox, polled by the {@code email-bounces} route: {@code failed} with a 5.x.x status bounces the message and
 * suppresses the address; {@code delivered} marks it delivered; {@code delayed} changes nothing. The message is found
 * by its stable Message-ID ({@code <id@caravan>}) in the returned headers. Anything else in the mailbox is ignored.
 * Nothing from the report (addresses, text) is logged.
 */
@Component("emailBounces")
public class Bounces {

    private static final Logger log = LoggerFactory.getLogger(Bounces.class);
    private static final Pattern OUR_ID = Pattern.compile("<([0-9a-fA-F-]{36})@caravan>");
    private static final Pattern FIELD = Pattern.compile("(?im)^([A-Za-z-]+):[ \\t]*(.*)$");

    /** One recipient's part of a report. */
    record Recipient(String address, String action, String status) {
    }

    /** A parsed report: the message it is about and what happened per recipient. */
    record Report(UUID messageId, List<Recipient> recipients) {
    }

    private final MessageStore store;
    private final Suppressions suppressions;
    private final AuditLog audit;
    private final Clock clock;

    public Bounces(MessageStore store, Suppressions suppressions, AuditLog audit, Clock clock) {
        this.store = store;
        this.suppressions = suppressions;
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
        for (Recipient rc : r.recipients()) {
            String action = rc.action().toLowerCase(Locale.ROOT);
            if ("failed".equals(action) && rc.status().startsWith("5")) {
                if (rc.address() != null) {
                    suppressions.suppress(rc.address(), "dsn:" + rc.status(), r.messageId());
                }
                if (store.report(r.messageId(), OutboundMessage.BOUNCED, "dsn:" + rc.status(), clock.instant())) {
                    audit.appendAndWait(AuditDraft.of("route:email-bounces", "email.bounced")
                            .contact(store.find(r.messageId()).map(OutboundMessage::contactId).orElse(null))
                            .channel("email").outcome("dsn:" + rc.status())
                            .detail("messageId", r.messageId().toString()));
                }
                log.info("Message {} bounced (DSN {}); the address is suppressed", r.messageId(), rc.status());
            } else if ("delivered".equals(action)) {
                store.report(r.messageId(), OutboundMessage.DELIVERED, null, clock.instant());
            }
        }
    }

    /** A delivery status report about one of our messages, or empty. */
    static Optional<Report> parse(Message m) throws MessagingException, IOException {
        if (!m.isMimeType("multipart/report")) {
            return Optional.empty();
        }
        Multipart mp = (Multipart) m.getContent();
        String status = null;
        UUID about = null;
        for (int i = 0; i < mp.getCount(); i++) {
            BodyPart p = mp.getBodyPart(i);
            String raw = raw(p);
            if (p.isMimeType("message/delivery-status")) {
                status = raw;
            } else if (p.isMimeType("text/rfc822-headers") || p.isMimeType("message/rfc822")
                    || p.isMimeType("message/rfc822-headers")) {
                Matcher id = OUR_ID.matcher(raw);
                if (id.find()) {
                    about = UUID.fromString(id.group(1));
                }
            }
        }
        if (status == null || about == null) {
            return Optional.empty();
        }
        // per-message fields, then one block per recipient, separated by blank lines
        List<Recipient> recipients = new ArrayList<>();
        for (String block : status.replace("\r\n", "\n").split("\n\\s*\n")) {
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

    private static String raw(BodyPart p) throws MessagingException, IOException {
        // the part's own bytes: message/delivery-status may be parsed into an object by the mail library
        try (InputStream in = p.getInputStream()) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            in.transferTo(out);
            return out.toString(StandardCharsets.ISO_8859_1);
        }
    }
}
