package io.caravan.channel.sms;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.component.smpp.SmppConstants;
import org.apache.camel.component.smpp.SmppSplitter;
import org.jsmpp.extra.SessionState;
import org.jsmpp.session.Session;
import org.jsmpp.session.SessionStateListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Binds the adapter's one session again after it dropped, with exponential backoff: the first try after
 * {@code reconnectSeconds}, each failed try doubling the wait up to {@code reconnectMaxSeconds}. camel-smpp's own
 * reconnect task tries at one fixed interval for as long as the SMSC is down; it makes one try at once and no more
 * ({@link Smsc#endpointUri}: {@code maxReconnect=1}), and this is told of the session's states (camel-smpp's
 * {@code sessionStateListener}).
 *
 * <p>A try is a submit of no segments through the route {@code sms-submit}: camel-smpp's producer creates its session
 * lazily on the next exchange, and an exchange without segments binds and sends nothing. While the bind is down after
 * a drop, texts do not try the wire themselves ({@link #down}): they wait, deferred, and go once this has bound again.
 */
@Component(SmsBind.BEAN)
public class SmsBind implements SessionStateListener {

    /** The bean name camel-smpp's endpoint refers to. */
    static final String BEAN = "smsBindWatch";

    private static final Logger log = LoggerFactory.getLogger(SmsBind.class);

    private final java.util.Optional<Smsc> smsc;
    private final ProducerTemplate producer;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "caravan-sms-bind");
        t.setDaemon(true);
        return t;
    });
    /** Set by a drop or a failed bind, cleared once a session is bound: until then only this binds. */
    private volatile boolean down;
    private final AtomicBoolean scheduled = new AtomicBoolean();
    /** Failed tries since the drop: the next wait is reconnectSeconds doubled this many times, capped. */
    private volatile int failures;

    SmsBind(SmsConfig.SmscHolder smsc, ProducerTemplate producer) {
        this.smsc = smsc.smsc();
        this.producer = producer;
    }

    /** Whether the bind dropped and is not bound again yet: a text waits, deferred, rather than trying the wire. */
    public boolean down() {
        return down;
    }

    /** camel-smpp's session changed state (jsmpp's threads call this). */
    @Override
    public void onStateChange(SessionState newState, SessionState oldState, Session source) {
        if (newState.isBound()) {
            down = false;
        } else if (newState == SessionState.CLOSED) {
            if (!down) {
                log.warn("SMS: the bind to the SMSC dropped; binding again with backoff");
            }
            dropped();
        }
    }

    /** A submit failed on the connection (a bind that could not be made, a session that broke under it). */
    void dropped() {
        down = true;
        schedule();
    }

    /** The wait before the next try after {@code failures} failed ones: doubling from the first wait, capped. */
    static Duration backoff(Duration first, Duration max, int failures) {
        long ms = first.toMillis() << Math.min(failures, 20);
        return Duration.ofMillis(Math.min(Math.max(ms, first.toMillis()), max.toMillis()));
    }

    private void schedule() {
        if (smsc.isEmpty() || !scheduled.compareAndSet(false, true)) {
            return;
        }
        Smsc s = smsc.get();
        Duration wait = backoff(Duration.ofSeconds(s.settings().reconnectSeconds), s.reconnectMax(), failures);
        try {
            timer.schedule(this::attempt, wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException stopping) {
            scheduled.set(false);
        }
    }

    /** One try; {@link #scheduled} stays set until it is over, so a state change meanwhile adds no other try. */
    private void attempt() {
        if (!down) {
            scheduled.set(false);
            return;
        }
        Exchange done;
        try {
            done = producer.send("direct:sms-submit", ex -> {
                ex.setProperty(SmsSender.URI, smsc.get().endpointUri());
                ex.getMessage().setBody("");
                ex.getMessage().setHeader(SmppConstants.DATA_SPLITTER, NO_SEGMENTS);
            });
        } catch (RuntimeException e) {
            failed(e);
            return;
        }
        if (done.getException() != null) {
            failed(done.getException());
            return;
        }
        failures = 0;
        down = false;
        scheduled.set(false);
        log.info("SMS: bound to the SMSC again");
    }

    private void failed(Throwable e) {
        failures++;
        log.info("SMS: bind to the SMSC failed ({}); next try in {} s", e.getClass().getSimpleName(),
                backoff(Duration.ofSeconds(smsc.get().settings().reconnectSeconds), smsc.get().reconnectMax(),
                        failures).toSeconds());
        scheduled.set(false);
        schedule();
    }

    @jakarta.annotation.PreDestroy
    void stop() {
        timer.shutdownNow();
    }

    /** Splits any body into no segments: the exchange binds the producer's session and submits nothing. */
    private static final SmppSplitter NO_SEGMENTS = new SmppSplitter(160, 153, 0) {
        @Override
        public byte[][] split(byte[] ignored) {
            return new byte[0][];
        }
    };
}
