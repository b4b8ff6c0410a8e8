package io.caravan.channel.sms;

import jakarta.annotation.PreDestroy;
import java.io.IOException;
import io.caravan.channel.MessageStore;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.camel.component.smpp.MessageReceiverListenerImpl;
import org.apache.camel.component.smpp.SmppConfiguration;
import org.apache.camel.component.smpp.SmppConnectionFactory;
import org.apache.camel.component.smpp.SmppEndpoint;
import org.jsmpp.DefaultPDUReader;
import org.jsmpp.DefaultPDUSender;
import org.jsmpp.SynchronizedPDUSender;
import org.jsmpp.bean.BindType;
import org.jsmpp.bean.NumberingPlanIndicator;
import org.jsmpp.bean.TypeOfNumber;
import org.jsmpp.extra.SessionState;
import org.jsmpp.session.BindParameter;
import org.jsmpp.session.SMPPSession;
import org.jsmpp.session.SessionStateListener;
import org.jsmpp.util.DefaultComposer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.stereotype.Component;

/**
 * The hub's one bind to its SMSC, kept by the hub: opened as soon as this node may hold it, and opened again after a
 * drop with a wait that starts at the adapter's {@code reconnectSeconds} and doubles per failed try up to
 * {@code reconnectMaxSeconds}. camel-smpp 4.17's producer binds only on the first submit - after a start with nothing
 * to send, a patient's STOP waits at the SMSC - and re-binds at a fixed interval while holding the session's lock.
 * What goes over the bind is still camel-smpp's: the endpoint's settings and TLS connection factory, its submit_sm
 * command (this is the {@code sms-submit} route's step) and its conversion of deliver_sm PDUs into exchanges of the
 * route {@code sms-inbound}. Log lines name the adapter, never a number or a text.
 */
@Component("smscLink")
public class SmscLink implements Processor {

    private static final Logger log = LoggerFactory.getLogger(SmscLink.class);
    /** A bind that held at least this long counts as good: the next drop starts the waits afresh. */
    private static final Duration STEADY = Duration.ofSeconds(60);

    private final Optional<Smsc> smsc;
    private final ObjectProvider<CamelContext> camel;
    private final MessageStore store;
    private final Clock clock;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "caravan-smsc-link");
        t.setDaemon(true);
        return t;
    });
    private final SessionStateListener onChange = this::changed;

    // guarded by this
    private boolean wanted;
    private int failures;
    private long boundAt;
    private ScheduledFuture<?> next;
    private MessageReceiverListenerImpl receiver;
    private volatile SmppEndpoint endpoint;
    /** The bound session, or null. */
    private volatile SMPPSession session;

    SmscLink(SmsConfig.SmscHolder smsc, ObjectProvider<CamelContext> camel, MessageStore store, Clock clock) {
        this.smsc = smsc.smsc();
        this.camel = camel;
        this.store = store;
        this.clock = clock;
    }

    /** Keep a bind open from now on (this node holds the SMSC). */
    public synchronized void open() {
        if (smsc.isEmpty() || wanted) {
            return;
        }
        wanted = true;
        failures = 0;
        schedule(Duration.ZERO);
    }

    /** Unbind and stay unbound (the bind moved to another node, or the hub stops). */
    public void close() {
        SMPPSession s;
        synchronized (this) {
            wanted = false;
            if (next != null) {
                next.cancel(false);
                next = null;
            }
            s = session;
            session = null;
        }
        if (s != null) {
            s.removeSessionStateListener(onChange);
            // an SMSC that does not answer the unbind holds a stopping hub for the whole transaction timer (10 s)
            s.setTransactionTimer(2000);
            s.unbindAndClose();
            log.info("SMS: unbound from SMSC {}", smsc.get().id());
        }
    }

    /** The route's submit step: camel-smpp's command for the exchange, over the bind; fails fast without one. */
    @Override
    public void process(Exchange ex) throws Exception {
        SMPPSession s = session;
        if (s == null || !s.getSessionState().isBound()) {
            throw new IOException("not bound to the SMSC");
        }
        endpoint().getBinding().createSmppCommand(s, ex).execute(ex);
    }

    private void schedule(Duration wait) {
        if (next != null) {
            next.cancel(false);
        }
        next = timer.schedule(this::bind, wait.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The doubling wait after {@code n} failed tries in a row. */
    static Duration backoff(Duration first, Duration max, int n) {
        long ms = first.toMillis() << Math.min(Math.max(n - 1, 0), 20);
        return Duration.ofMillis(Math.min(ms, max.toMillis()));
    }

    private void bind() {
        Smsc c = smsc.get();
        CamelContext ctx = camel.getObject();
        synchronized (this) {
            if (!wanted || session != null) {
                return;
            }
            if (!ctx.isStarted()) {
                // deliver_sm PDUs go to the route sms-inbound: bind once it runs
                schedule(Duration.ofMillis(500));
                return;
            }
        }
        SMPPSession s = null;
        try {
            SmppEndpoint e = endpoint();
            SmppConfiguration conf = e.getConfiguration();
            s = new SMPPSession(new SynchronizedPDUSender(new DefaultPDUSender(new DefaultComposer())),
                    new DefaultPDUReader(), SmppConnectionFactory.getInstance(conf));
            s.setEnquireLinkTimer(conf.getEnquireLinkTimer());
            s.setTransactionTimer(conf.getTransactionTimer());
            s.setPduProcessorDegree(conf.getPduProcessorDegree());
            s.setQueueCapacity(conf.getPduProcessorQueueCapacity());
            BindType type = BindType.BIND_TX;
            if ("transceiver".equals(c.settings().bindType)) {
                s.setMessageReceiverListener(receiver(e));
                type = BindType.BIND_TRX;
            }
            s.connectAndBind(conf.getHost(), conf.getPort(), new BindParameter(type, conf.getSystemId(),
                    conf.getPassword(), conf.getSystemType(), TypeOfNumber.valueOf(conf.getTypeOfNumber()),
                    NumberingPlanIndicator.valueOf(conf.getNumberingPlanIndicator()), "",
                    conf.getInterfaceVersionByte()), conf.getTransactionTimer());
            synchronized (this) {
                if (!wanted) {
                    s.unbindAndClose();
                    return;
                }
                session = s;
                boundAt = System.nanoTime();
                s.addSessionStateListener(onChange);
            }
            if (!s.getSessionState().isBound()) {
                // dropped between the bind response and the listener: that change was not seen
                changed(SessionState.CLOSED, SessionState.BOUND_TRX, s);
                return;
            }
            log.info("SMS: bound to SMSC {} ({})", c.id(), type == BindType.BIND_TRX ? "transceiver" : "transmitter");
        } catch (Exception x) {
            if (s != null) {
                s.close();
            }
            retry(c, x);
            return;
        }
        try {
            // texts that waited for the SMSC go now, not at the end of their doubling wait
            int waiting = store.dueNow(SmsSender.SMS, "connection", clock.instant());
            if (waiting > 0) {
                log.info("SMS: {} texts that waited for SMSC {} are due", waiting, c.id());
            }
        } catch (RuntimeException x) {
            log.warn("SMS: texts waiting for SMSC {} go at their own time ({})", c.id(), x.getClass().getSimpleName());
        }
    }

    private synchronized void retry(Smsc c, Exception x) {
        if (!wanted) {
            return;
        }
        failures++;
        Duration wait = backoff(c.reconnectFirst(), c.reconnectMax(), failures);
        // the exception's message can carry the host, never PHI; its class is enough to go on
        log.warn("SMS: could not bind to SMSC {} ({}); next try in {} s", c.id(), x.getClass().getSimpleName(),
                wait.toSeconds());
        schedule(wait);
    }

    private void changed(SessionState now, SessionState before, org.jsmpp.session.Session source) {
        if (now != SessionState.UNBOUND && now != SessionState.CLOSED) {
            return;
        }
        Duration wait;
        synchronized (this) {
            if (source != session) {
                return;
            }
            session = null;
            boolean steady = System.nanoTime() - boundAt >= STEADY.toNanos();
            failures = steady ? 1 : failures + 1;
            wait = backoff(smsc.get().reconnectFirst(), smsc.get().reconnectMax(), failures);
            if (wanted) {
                schedule(wait);
            }
        }
        source.removeSessionStateListener(onChange);
        try {
            // closing from the session's own thread can wait on it: the timer closes it
            timer.execute(source::close);
        } catch (java.util.concurrent.RejectedExecutionException stopping) {
            source.close();
        }
        log.warn("SMS: the bind to SMSC {} was lost ({}); binding again in {} s", smsc.get().id(), now,
                wait.toSeconds());
    }

    private SmppEndpoint endpoint() {
        SmppEndpoint e = endpoint;
        if (e == null) {
            e = camel.getObject().getEndpoint(smsc.get().endpointUri(), SmppEndpoint.class);
            endpoint = e;
        }
        return e;
    }

    private synchronized MessageReceiverListenerImpl receiver(SmppEndpoint e) throws Exception {
        if (receiver == null) {
            receiver = new MessageReceiverListenerImpl(e, Smsc.INBOUND_ROUTE);
        }
        return receiver;
    }

    @PreDestroy
    void shutdown() {
        close();
        timer.shutdownNow();
    }
}
