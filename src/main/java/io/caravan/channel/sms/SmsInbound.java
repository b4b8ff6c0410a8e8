package io.caravan.channel.sms;

import io.caravan.channel.MessageStore;
import io.caravan.channel.OutboundMessage;
import io.caravan.consent.ConsentService;
import io.caravan.contact.Contact;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import org.apache.camel.Exchange;
import org.apache.camel.component.smpp.SmppConstants;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

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
    private final SmsSuppressions suppressions;
    private final ConsentService consents;
    private final Optional<Smsc> smsc;
    private final SmsMo mo;
    private final Clock clock;

    SmsInbound(SmsSegments segments, MessageStore store, SmsSuppressions suppressions, ConsentService consents,
            SmsConfig.SmscHolder smsc, SmsMo mo, Clock clock) {
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
        if (smscId == null || smsc.isEmpty()) {
            return;
        }
        String outcome = switch (state) {
            case "DELIVRD" -> OutboundMessage.DELIVERED;
            case "EXPIRED" -> OutboundMessage.EXPIRED;
            case "UNDELIV", "REJECTD", "DELETED", "UNKNOWN" -> OutboundMessage.UNDELIVERABLE;
            default -> null; // ACCEPTD, ENROUTE: not final
        };
        if (outcome == null) {
            return;
        }
        boolean permanent = "REJECTD".equals(state) || "UNDELIV".equals(state)
                && smsc.get().settings().permanentErrors.contains(errorCode(error));
        Optional<SmsSegments.Reported> done = segments.receipt(smsc.get().id(), smscId,
                permanent ? "refused" : outcome);
        if (done.isEmpty()) {
            return;
        }
        List<String> outcomes = done.get().outcomes();
        String status;
        String reason = null;
        if (outcomes.stream().allMatch(OutboundMessage.DELIVERED::equals)) {
            status = OutboundMessage.DELIVERED;
        } else if (outcomes.contains("refused") || outcomes.contains(OutboundMessage.UNDELIVERABLE)) {
            status = OutboundMessage.UNDELIVERABLE;
            reason = "receipt:" + state + (error == null ? "" : ":" + error);
        } else {
            status = OutboundMessage.EXPIRED;
            reason = "receipt:EXPIRED";
        }
        store.report(done.get().messageId(), status, reason, clock.instant());
        if (outcomes.contains("refused")) {
            store.find(done.get().messageId()).ifPresent(m -> {
                Contact c = consents.requireContact(m.contactId());
                if (c.phone != null) {
                    suppressions.suppress(c.phone, "receipt:" + state, m.id(), m.contactId(), ACTOR);
                }
            });
        }
        log.debug("SMS message {} reported {}", done.get().messageId(), status);
    }

    private static Integer errorCode(String error) {
        try {
            return error == null ? null : Integer.valueOf(error.trim());
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
