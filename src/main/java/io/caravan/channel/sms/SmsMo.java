package io.caravan.channel.sms;

import io.caravan.consent.ConsentHooks;
import io.caravan.contact.ContactWriter;
import io.caravan.contact.TriggerEvent;
import io.caravan.system.Ids;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.component.smpp.SmppConstants;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * MO texts from patients. STOP (a keyword or a plain-language request) opts the number out of SMS at once - every
 * contact the hub texted at it, through {@link ConsentHooks}, audited - and gets exactly one confirmation with no
 * marketing in it; HELP gets the adapter's help text; START re-subscribes a number that opted out by text; anything
 * else is kept, sealed, as an inbound text, with an {@code sms.received} event on the contact's log for workflows.
 * Replies go straight to the SMSC (through the route {@code sms-submit}, the one bind): the contact has just opted
 * out, and the one confirmation TCPA allows must not be stopped by the gate that opt-out closes.
 */
@Component
public class SmsMo {

    private static final Logger log = LoggerFactory.getLogger(SmsMo.class);
    /** The event type of a patient's text that is not a keyword (or a YES that re-subscribed nothing). */
    public static final String RECEIVED = "sms.received";
    /** TCPA: an opt-out's confirmation goes within five minutes. */
    private static final java.time.Duration REPLY_WITHIN = java.time.Duration.ofMinutes(5);
    private static final long REPLY_RETRY_MAX_MS = 30_000;
    /** How long a sender holds an answer it is submitting before another may take it. */
    private static final java.time.Duration REPLY_LEASE = java.time.Duration.ofSeconds(60);
    /** How far back a STOP is still an answer to a text, for counting it against one. */
    static final java.time.Duration COUNTED_WITHIN = java.time.Duration.ofDays(30);

    private final ConsentHooks hooks;
    private final SmsNumberBook book;
    private final Optional<Smsc> smsc;
    private final ProducerTemplate producer;
    private final ContactWriter writer;
    private final Clock clock;
    private final SmsReplyQueue queue;
    private final SmsBind bind;
    private final TransactionTemplate tx;
    private final io.caravan.channel.MessageEvents events;
    private final ScheduledExecutorService replies = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "sms-keyword-replies");
        t.setDaemon(true);
        return t;
    });

    SmsMo(ConsentHooks hooks, SmsNumberBook book, SmsConfig.SmscHolder smsc, ProducerTemplate producer,
            ContactWriter writer, Clock clock, SmsReplyQueue queue, SmsBind bind, TransactionTemplate tx,
            io.caravan.channel.MessageEvents events) {
        this.events = events;
        this.queue = queue;
        this.tx = tx;
        this.bind = bind;
        this.hooks = hooks;
        this.writer = writer;
        this.book = book;
        this.smsc = smsc.smsc();
        this.producer = producer;
        this.clock = clock;
    }

    /** A text from {@code source} (SMPP digits of the sender's number). Never logs either. */
    public SmsKeywords.Request received(String source, String text) {
        if (source == null || smsc.isEmpty()) {
            return SmsKeywords.Request.NONE;
        }
        String number = source.startsWith("+") ? source : "+" + source;
        SmsKeywords.Request r = SmsKeywords.recognise(text);
        Instant now = clock.instant();
        List<UUID> contacts = book.contacts(number);
        AdapterTexts texts = new AdapterTexts(smsc.get());
        switch (r) {
            case STOP -> {
                // a repeated STOP is not confirmed again; its consent records are written again, which is harmless
                answerIf(() -> optOut(number, now), () -> contacts.forEach(c -> hooks.smsOptOut(c,
                        "sms text (opt-out request) via " + smsc.get().id())), number, texts.stop(), now);
            }
            case START -> {
                boolean was = answerIf(() -> book.optIn(number), () -> contacts.forEach(c -> hooks.smsOptIn(c,
                        "sms text START via " + smsc.get().id(), now)), number, texts.start(), now);
                if (!was) {
                    // a YES from a number that never opted out answers a question a text asked ("reply YES to
                    // confirm"): a reply for workflows like any other
                    recordInbound(number, contacts, text, "start", now);
                }
            }
            case HELP -> reply(number, texts.help());
            case NONE -> recordInbound(number, contacts, text, "none", now);
        }
        log.info("SMS from a patient: {} ({} contact(s) at the number)", r, contacts.size());
        return r;
    }

    /**
     * The number's opt-out; when it is new, it is counted against the last text submitted to the number (a campaign's
     * unsubscribed figure), with its {@code message.unsubscribed} event, in the opt-out's transaction: a STOP the SMSC
     * delivers again counts nothing more. Texts older than {@link #COUNTED_WITHIN} are not what the patient answered.
     * True when the opt-out is new.
     */
    private boolean optOut(String number, Instant now) {
        if (!book.optOut(number, now)) {
            return false;
        }
        book.lastSent(number, now.minus(COUNTED_WITHIN)).ifPresent(m -> events.logged(m, SmsChannel.UNSUBSCRIBED,
                now, () -> book.unsubscribed(m, number, now)));
        return true;
    }

    /**
     * A text that is not a keyword, kept sealed, and an {@value #RECEIVED} event on the log of each contact texted at
     * the number, committed together, so a workflow can trigger or exit on it. The event carries only what may be
     * logged and streamed: the keyword class, the id of the sealed text and the adapter - never the words or the
     * number. A number the hub never texted is nobody's: its text is kept without an event.
     */
    private void recordInbound(String number, List<UUID> contacts, String text, String keyword, Instant now) {
        String body = text == null ? "" : text;
        boolean logged = false;
        for (UUID c : contacts) {
            UUID textId = Ids.next();
            TriggerEvent event = new TriggerEvent(Ids.next(), RECEIVED, now.atOffset(ZoneOffset.UTC),
                    new TriggerEvent.Source("sms:" + smsc.get().id(), null, "sms-inbound/" + textId),
                    Map.of("keyword", keyword, "inboundText", textId.toString(), "adapter", smsc.get().id()));
            logged |= writer.appendEvent(c, event, (conn, survivor) -> book.inbound(conn, textId, number, survivor,
                    body, now)).isPresent();
        }
        if (!logged) {
            book.inbound(number, null, body, now);
        }
    }

    /**
     * A keyword's answer: kept in {@code sms_reply} first (a restart must not lose STOP's one confirmation, which TCPA
     * wants within five minutes), then sent off camel-smpp's PDU thread (a synchronous submit there would hold the
     * thread that reads the bind) and tried again until it goes - an SMSC that is throttling or rebinding must not
     * swallow it. One sender thread keeps one number's answers in order (STOP's confirmation before START's).
     */
    private void reply(String number, String text) {
        Instant now = clock.instant();
        queue.add(number, book.mac(number), text, now, now.plus(REPLY_WITHIN));
        queue.flush();
        sendSoon();
    }

    /**
     * STOP's and START's answer: kept only when {@code change} changed the number's state, in the same transaction,
     * so a keyword the SMSC delivers again is not answered twice; then the contacts' consent records, then one flush
     * of both before the SMSC hears back. True when the state changed.
     */
    private boolean answerIf(java.util.function.BooleanSupplier change, Runnable consents, String number, String text,
            Instant now) {
        boolean changed = Boolean.TRUE.equals(tx.execute(s -> {
            boolean c = change.getAsBoolean();
            if (c) {
                queue.add(number, book.mac(number), text, now, now.plus(REPLY_WITHIN));
            }
            return c;
        }));
        consents.run();
        queue.flush();
        if (changed) {
            sendSoon();
        }
        return changed;
    }

    private void sendSoon() {
        try {
            replies.execute(this::sendWaiting);
        } catch (java.util.concurrent.RejectedExecutionException stopping) {
            log.info("SMS keyword reply kept: the hub is stopping, it goes after the restart");
        }
    }

    /**
     * Sends the waiting answers that are due, oldest first; a number whose answer failed or is not due yet sends
     * nothing more this round. Only on the node holding the bind.
     */
    private void sendWaiting() {
        if (!bind.held()) {
            return;
        }
        try {
            Instant now = clock.instant();
            java.util.Set<String> wait = new java.util.HashSet<>();
            for (SmsReplyQueue.Reply r : queue.waiting(200)) {
                if (wait.contains(r.numberMac())) {
                    continue;
                }
                if (now.isAfter(r.deadline())) {
                    queue.done(r.id());
                    log.warn("SMS keyword reply not sent after {} attempts: given up", r.attempts());
                    continue;
                }
                if (r.due().isAfter(now) || !queue.take(r, now.plus(REPLY_LEASE))) {
                    wait.add(r.numberMac());
                    continue;
                }
                String failed = submit(r.number(), r.text());
                if (failed == null) {
                    queue.done(r.id());
                    continue;
                }
                wait.add(r.numberMac());
                long ms = Math.min(REPLY_RETRY_MAX_MS, 500L << Math.min(r.attempts() + 1, 6));
                queue.later(r.id(), r.attempts() + 1, now.plusMillis(ms));
                log.info("SMS keyword reply not sent ({}): again in {} ms", failed, ms);
            }
        } catch (RuntimeException e) {
            log.warn("SMS keyword replies: a round failed ({}); the next tries again",
                    io.caravan.system.PhiSafeLogging.describe(e));
        }
    }

    /** One submit of a reply; null when the SMSC took it, else what failed (a class name, never the text). */
    private String submit(String number, String text) {
        SmsText.Encoded e = SmsText.encode(text);
        try {
            org.apache.camel.Exchange done = producer.send("direct:sms-submit", ex -> {
                ex.getMessage().setBody(text);
                ex.getMessage().setHeader(SmppConstants.DEST_ADDR, SmsNumbers.destination(number));
                ex.getMessage().setHeader(SmppConstants.DATA_CODING, e.alphabet().dataCoding);
                ex.getMessage().setHeader(SmppConstants.ALPHABET, e.alphabet().dataCoding);
                ex.getMessage().setHeader(SmppConstants.DATA_SPLITTER, new SmsSender.Presplit(e));
                ex.getMessage().setHeader(SmppConstants.REGISTERED_DELIVERY, (byte) 0);
            });
            return done.getException() == null ? null : done.getException().getClass().getSimpleName();
        } catch (RuntimeException ex) {
            return ex.getClass().getSimpleName();
        }
    }

    /** Answers left waiting by a stop or a crash, and retries: every two seconds. */
    @jakarta.annotation.PostConstruct
    void start() {
        if (smsc.isPresent()) {
            replies.scheduleWithFixedDelay(this::sendWaiting, 2, 2, TimeUnit.SECONDS);
        }
    }

    @jakarta.annotation.PreDestroy
    void stop() {
        replies.shutdownNow();
    }

    /** The adapter's keyword answers (CTIA: program name, support, frequency, rates, how to opt out). */
    record AdapterTexts(Smsc smsc) {
        String program() {
            return smsc.settings().program == null ? "Caravan" : smsc.settings().program;
        }

        String help() {
            var s = smsc.settings();
            return s.helpText != null ? s.helpText : program() + ": " + s.frequency + ". Msg & data rates may apply."
                    + (s.support == null ? "" : " Help: " + s.support + ".") + " Reply STOP to opt out.";
        }

        String stop() {
            var s = smsc.settings();
            return s.stopText != null ? s.stopText : program() + ": you are unsubscribed and will receive no more"
                    + " texts. Reply START to resubscribe.";
        }

        String start() {
            var s = smsc.settings();
            return s.startText != null ? s.startText : program() + ": you are resubscribed. " + s.frequency
                    + ". Msg & data rates may apply. Reply HELP for help, STOP to opt out.";
        }
    }
}
