package io.caravan.channel.sms;

import io.caravan.audit.Disclosures;
import io.caravan.channel.Deliveries;
import io.caravan.channel.DeliveryFailure;
import io.caravan.channel.MessageStore;
import io.caravan.channel.MessageStatus;
import io.caravan.channel.OutboundMessage;
import io.caravan.channel.Suppressions;
import io.caravan.contact.Contact;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.camel.Exchange;
import org.apache.camel.component.smpp.SmppConstants;
import org.apache.camel.component.smpp.SmppSplitter;
import org.jsmpp.extra.NegativeResponseException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * The steps of the {@code deliver-sms} route: render and encode the text, hand it to camel-smpp, record its segments
 * for the receipts, and sort failures into permanent (the number refused: undeliverable, suppressed) and transient
 * (the SMSC down or busy: deferred, nothing lost). Never logs a number or a text.
 */
@Component("smsSender")
public class SmsSender {

    private static final Logger log = LoggerFactory.getLogger(SmsSender.class);
    static final String ACTOR = "route:deliver-sms";
    /** Exchange properties of the route: whether to submit, the encoded text, the window slot taken. */
    static final String SUBMIT = "CaravanSmsSubmit";
    static final String ENCODED = "CaravanSmsEncoded";
    static final String WINDOW = "CaravanSmsWindow";
    static final String TREATMENT = "treatment";
    static final String SMS = "sms";

    // SMPP 3.4 command_status values that say the destination itself is wrong
    private static final int ESME_RINVDSTADR = 0x0B;
    private static final int ESME_RINVDSTTON = 0x50;
    private static final int ESME_RINVDSTNPI = 0x51;
    // ... and the ones that say "not now"
    private static final int ESME_RMSGQFUL = 0x14;
    private static final int ESME_RTHROTTLED = 0x58;

    private final MessageStore store;
    private final SmsTemplates templates;
    private final Optional<Smsc> smsc;
    private final SmsSegments segments;
    private final Suppressions suppressions;
    private final SmsNumberBook book;
    private final SmsProperties props;
    private final Clock clock;
    private final Semaphore window;
    private final QuietHours quiet;
    private final SmsInbound inbound;
    /** Striped locks: the cap check and the reservation of one number happen under one lock. */
    private final Object[] stripes = new Object[64];
    /** Consecutive connection failures: how long deferred texts wait before the next try (doubling, capped). */
    private final AtomicInteger downs = new AtomicInteger();

    SmsSender(MessageStore store, SmsTemplates templates, SmsConfig.SmscHolder smsc, SmsSegments segments,
            Suppressions suppressions, SmsNumberBook book, SmsProperties props, Clock clock, SmsInbound inbound) {
        this.inbound = inbound;
        this.book = book;
        this.store = store;
        this.templates = templates;
        this.smsc = smsc.smsc();
        this.segments = segments;
        this.suppressions = suppressions;
        this.props = props;
        this.clock = clock;
        this.window = new Semaphore(this.smsc.map(Smsc::window).orElse(1));
        java.util.Map<String, QuietHours.Window> states = new java.util.HashMap<>();
        props.quietHours().states().forEach((k, v) -> states.put(k.toUpperCase(java.util.Locale.ROOT),
                QuietHours.Window.parse(v)));
        String zone = this.smsc.map(x -> x.settings().timeZone).orElse(null);
        this.quiet = new QuietHours(QuietHours.Window.parse(props.quietHours().window()), states,
                java.time.ZoneId.of(zone == null ? "UTC" : zone));
        for (int i = 0; i < stripes.length; i++) {
            stripes[i] = new Object();
        }
    }

    /**
     * Step 1: the text, rendered and encoded; camel-smpp's headers for it (destination, data coding, the segments as
     * encoded here). {@value #SUBMIT} false when the message ended here (a suppressed number, a text over its
     * template's segment cap).
     */
    public void prepare(Exchange ex) throws DeliveryFailure {
        ex.setProperty(SUBMIT, false);
        OutboundMessage m = ex.getProperty(Deliveries.MESSAGE, OutboundMessage.class);
        Contact c = ex.getProperty(Deliveries.CONTACT, Contact.class);
        String number = ex.getProperty(Disclosures.RECIPIENT, String.class);
        if (smsc.isEmpty()) {
            throw new DeliveryFailure.Transient(List.of("no-smsc"), false);
        }
        if (suppressions.suppressed(SMS, number)) {
            store.finish(m.id(), MessageStatus.BLOCKED, null, List.of("sms-number-suppressed"), clock.instant());
            return;
        }
        if (book.optedOut(number)) {
            // the number texted STOP: its contacts' opt-outs are recorded too, this also covers a contact whose
            // number changed to it since
            store.finish(m.id(), MessageStatus.BLOCKED, null, List.of("sms-number-opted-out"), clock.instant());
            return;
        }
        SmsTemplates.Template t = templates.get(m.template()).orElseThrow(() -> new IllegalStateException(
                "template gone"));
        Map<String, Object> model = store.data(m.id());
        String text = templates.render(m.template(), c.language, model);
        SmsText.Encoded e = SmsText.encode(text);
        if (e.segmentCount() > t.maxSegments()) {
            store.finish(m.id(), MessageStatus.FAILED, null, List.of(e.alphabet().code, "segments:"
                    + e.segmentCount(), "over-segment-cap:" + t.maxSegments()), clock.instant());
            return;
        }
        Instant now = clock.instant();
        if (TREATMENT.equals(m.purpose()) && text.codePointCount(0, text.length()) > 160) {
            // the FCC's healthcare exemption covers treatment texts of 160 characters at most
            store.finish(m.id(), MessageStatus.FAILED, null, List.of("treatment-over-160"), now);
            return;
        }
        Optional<Instant> open = quiet.waitUntil(now, c, number);
        if (open.isPresent()) {
            store.defer(m.id(), List.of("quiet-hours"), false, open.get(), now);
            return;
        }
        // the send-time decision's entry became durable while this thread read and rendered: nothing below acts on
        // the decision before it is (the reservation included, so a trail that cannot record leaves none behind)
        Deliveries.awaitDecision(ex);
        // before the submit: a STOP may come back from the number before the submit's response has been handled,
        // so the contact is known at the number; a treatment text also takes its slot under the caps
        if (TREATMENT.equals(m.purpose())) {
            synchronized (stripes[Math.floorMod(number.hashCode(), stripes.length)]) {
                Optional<Instant> capped = capped(number, now);
                if (capped.isPresent()) {
                    store.defer(m.id(), List.of("treatment-cap"), false, capped.get(), now);
                    return;
                }
                book.beforeSubmit(number, m.contactId(), m.id(), m.purpose(), now);
            }
        } else {
            book.texted(number, m.contactId());
        }
        try {
            window.acquire();
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            throw new DeliveryFailure.Transient(List.of("interrupted"), false);
        }
        ex.setProperty(WINDOW, true);
        smsc.get().pace();
        ex.setProperty(ENCODED, e);
        // camel-smpp reads these headers; they go again right after the submit (Hawtio shows headers)
        ex.getMessage().setBody(text);
        ex.getMessage().setHeader(SmppConstants.DEST_ADDR, SmsNumbers.destination(number));
        ex.getMessage().setHeader(SmppConstants.DATA_CODING, e.alphabet().dataCoding);
        ex.getMessage().setHeader(SmppConstants.ALPHABET, e.alphabet().dataCoding);
        ex.getMessage().setHeader(SmppConstants.DATA_SPLITTER, new Presplit(e));
        ex.setProperty(SUBMIT, true);
    }

    /**
     * When the next treatment text may go to the number under the per-day and per-week caps; empty: now. Texts of
     * other purposes do not count (marketing has its own caps in the workflow engine).
     */
    private Optional<Instant> capped(String number, Instant now) {
        Instant wait = null;
        // one read for both windows: the day's texts are the week's latest
        List<Instant> week = book.sentSince(number, TREATMENT, now.minus(Duration.ofDays(7)));
        Instant dayAgo = now.minus(Duration.ofDays(1));
        List<Instant> day = week.stream().filter(t -> t.isAfter(dayAgo)).toList();
        if (day.size() >= props.treatmentCap().perDay()) {
            wait = day.get(day.size() - props.treatmentCap().perDay()).plus(Duration.ofDays(1));
        }
        if (week.size() >= props.treatmentCap().perWeek()) {
            Instant w = week.get(week.size() - props.treatmentCap().perWeek()).plus(Duration.ofDays(7));
            wait = wait == null || w.isAfter(wait) ? w : wait;
        }
        return Optional.ofNullable(wait);
    }

    /** Step 2 when camel-smpp threw: a typed failure the route's doCatch acts on. Never names the number. */
    public void classify(Exchange ex) throws DeliveryFailure {
        Throwable e = ex.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        for (Throwable x = e; x != null; x = x.getCause()) {
            if (x instanceof DeliveryFailure f) {
                throw f;
            }
            if (x instanceof NegativeResponseException n) {
                int s = n.getCommandStatus();
                String code = "smpp:0x" + Integer.toHexString(s);
                if (s == ESME_RINVDSTADR || s == ESME_RINVDSTTON || s == ESME_RINVDSTNPI) {
                    throw new DeliveryFailure.Permanent(code, true);
                }
                // a throttled or full SMSC: try again soon, it does not count against the text
                throw new DeliveryFailure.Transient(List.of(code), s != ESME_RMSGQFUL && s != ESME_RTHROTTLED);
            }
        }
        boolean connection = false;
        for (Throwable x = e; x != null; x = x.getCause()) {
            connection |= x instanceof IOException || x instanceof IllegalStateException
                    || x.getClass().getName().startsWith("org.jsmpp");
        }
        log.warn("SMS submit failed ({}): the text waits, deferred", e == null ? "unknown" : e.getClass().getSimpleName());
        throw new DeliveryFailure.Transient(List.of(connection ? "connection" : "smsc-error"), false);
    }

    /** Step 3: submitted; the segments recorded for their receipts, the disclosure's properties set. */
    public void submitted(Exchange ex) {
        OutboundMessage m = ex.getProperty(Deliveries.MESSAGE, OutboundMessage.class);
        SmsText.Encoded e = ex.getProperty(ENCODED, SmsText.Encoded.class);
        @SuppressWarnings("unchecked")
        List<String> ids = ex.getMessage().getHeader(SmppConstants.ID, List.class);
        downs.set(0);
        String number = ex.getProperty(Disclosures.RECIPIENT, String.class);
        segments.submitted(smsc.get().id(), m.id(), number == null ? null : book.mac(number),
                ids == null ? List.of() : ids, clock.instant());
        if (ids != null && !ids.isEmpty()) {
            // once message-send has committed the text as sent (its exchange is done), receipts that overtook it
            // are applied at once
            List<String> segmentIds = List.copyOf(ids);
            ex.getExchangeExtension().addOnCompletion(new org.apache.camel.support.SynchronizationAdapter() {
                @Override
                public void onDone(Exchange done) {
                    inbound.textDone(segmentIds);
                }
            });
        }
        ex.setProperty(Disclosures.DESCRIPTION, "sms " + m.template());
        ex.setProperty(Disclosures.PROTECTION, "none");
        ex.setProperty(Deliveries.REASONS, List.of(e.alphabet().code, "segments:" + e.segmentCount()));
        ex.setProperty(Deliveries.DELIVERED, true);
    }

    /** Always, after the submit: the window slot back, camel-smpp's headers (the number) gone, the body too. */
    public void cleanUp(Exchange ex) {
        if (Boolean.TRUE.equals(ex.removeProperty(WINDOW))) {
            window.release();
        }
        ex.getMessage().removeHeaders("CamelSmpp*");
        ex.getMessage().setBody(null);
    }

    /** The route's catch of a transient failure: the text waits, deferred; nothing accepted is dropped. */
    public void deferred(Exchange ex) {
        OutboundMessage m = ex.getProperty(Deliveries.MESSAGE, OutboundMessage.class);
        DeliveryFailure.Transient t = ex.getProperty(Exchange.EXCEPTION_CAUGHT, DeliveryFailure.Transient.class);
        Instant now = clock.instant();
        book.release(m.id());
        if (t.counts()) {
            int attempts = store.attempts(m.id());
            List<Duration> backoff = props.backoff();
            if (attempts >= backoff.size()) {
                List<String> all = new ArrayList<>(t.reasons());
                all.add("retries-exhausted");
                store.finish(m.id(), MessageStatus.FAILED, null, all, now);
            } else {
                store.defer(m.id(), t.reasons(), true, now.plus(backoff.get(attempts)), now);
            }
            return;
        }
        // the SMSC is down or busy: every text waits alike, doubling up to the adapter's reconnect cap
        int n = Math.min(downs.incrementAndGet(), 16);
        Duration cap = smsc.map(Smsc::reconnectMax).orElse(Duration.ofMinutes(1));
        Duration wait = Duration.ofMillis(Math.min(cap.toMillis(), 500L << Math.min(n, 10)));
        store.defer(m.id(), t.reasons(), false, now.plus(wait), now);
    }

    /** The route's catch of a permanent failure: undeliverable; the number suppressed when it was refused. */
    public void undeliverable(Exchange ex) {
        OutboundMessage m = ex.getProperty(Deliveries.MESSAGE, OutboundMessage.class);
        DeliveryFailure.Permanent f = ex.getProperty(Exchange.EXCEPTION_CAUGHT, DeliveryFailure.Permanent.class);
        String reason = f.reasons().get(0);
        book.release(m.id());
        if (f.addressRefused()) {
            suppressions.suppress(SMS, ex.getProperty(Disclosures.RECIPIENT, String.class), reason, m.id(),
                    m.contactId(), ACTOR);
        }
        store.finish(m.id(), MessageStatus.UNDELIVERABLE, null, List.of(reason), clock.instant());
    }

    /** camel-smpp's splitter, replaced: the segments as {@link SmsText} encoded them (GSM 03.38, UDH, no split pairs). */
    static final class Presplit extends SmppSplitter {
        private final SmsText.Encoded encoded;

        Presplit(SmsText.Encoded encoded) {
            super(160, 153, 0);
            this.encoded = encoded;
        }

        @Override
        public byte[][] split(byte[] ignored) {
            return encoded.segments().toArray(new byte[0][]);
        }
    }
}
