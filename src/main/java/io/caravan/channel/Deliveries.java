package io.caravan.channel;

import io.caravan.audit.AuditLog;
import io.caravan.audit.Disclosures;
import io.caravan.consent.ConsentService;
import io.caravan.consent.Decision;
import io.caravan.consent.DecisionRequest;
import io.caravan.contact.Contact;
import io.caravan.system.PhiSafeLogging;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * The channel-agnostic steps of the {@code message-send} route: the gate decides again at the moment of sending
 * ({@link #gate}), the channel's route {@code direct:deliver-<channel>} delivers, and {@link #sent} records the
 * disclosure and marks the message sent in one commit of the audit trail. Everything travels as exchange properties,
 * never headers (Hawtio shows those).
 *
 * <p>What the trail costs a message here: the send-time decision's entry is queued at the gate and becomes durable
 * while the channel renders, encrypts and signs (a channel that {@linkplain Channel#awaitsDecision() says so} waits for
 * it with {@link #awaitDecision} right before the wire; for any other the gate waits), and the disclosure's entry
 * carries the message's status change with it. The only wait that is not overlapped with work is the disclosure's.
 */
@Component("deliveries")
public class Deliveries {

    private static final Logger log = LoggerFactory.getLogger(Deliveries.class);
    static final String ACTOR = "route:message-send";

    /** In: whether the message goes to its channel's route (false: blocked, or already sent by an earlier attempt). */
    public static final String DELIVER = "CaravanDeliver";
    /** For the channel's route: the send-time decision ({@link Decision}), the message and the contact. */
    public static final String DECISION = "CaravanDecision";
    public static final String MESSAGE = "CaravanMessage";
    public static final String CONTACT = "CaravanContact";
    /** The channel's route sets this (true) when it handed the message over, with the disclosure's properties. */
    public static final String DELIVERED = "CaravanDelivered";
    /** Optional, set by the channel's route: reason codes to keep on the sent message. */
    public static final String REASONS = "CaravanReasons";
    /** The reason of a message waiting in the store for its turn at its destination's rate ({@link Channel#admit}). */
    public static final String DESTINATION_RATE = "destination-rate";
    /** The reason of a message waiting in the store because its destination has all the sends it may have under way. */
    public static final String DESTINATION_BUSY = "destination-busy";
    /** How long a message waits when its channel is closed ({@link Channel#closed}) before it asks again. */
    static final java.time.Duration CLOSED_WAIT = java.time.Duration.ofMinutes(15);
    /** The send-time decision's audit entry, queued at the gate: see {@link #awaitDecision}. */
    static final String DECISION_RECORDED = "CaravanDecisionRecorded";

    private final MessageStore store;
    private final ConsentService consents;
    private final Channels channels;
    private final Clock clock;
    private final Disclosures disclosures;

    /**
     * How long a cluster node's gate holds a message for its send attempt: longer than an attempt takes (the channel's
     * connect and read timeouts, two waits on the trail of at most 10 s each), short enough that what a killed node
     * held goes from another within minutes.
     */
    static final java.time.Duration CLAIM = java.time.Duration.ofMinutes(2);

    private final boolean claims;
    /** The cluster's record of live nodes: absent on one node (a claim then lasts until it runs out). */
    private io.caravan.system.NodeLiveness liveness;

    @org.springframework.beans.factory.annotation.Autowired(required = false)
    void liveness(io.caravan.system.NodeLiveness liveness) {
        this.liveness = liveness;
    }

    public Deliveries(MessageStore store, ConsentService consents, Channels channels, Clock clock,
            Disclosures disclosures) {
        this(store, consents, channels, clock, disclosures, false, "");
    }

    @org.springframework.beans.factory.annotation.Autowired
    public Deliveries(MessageStore store, ConsentService consents, Channels channels, Clock clock,
            Disclosures disclosures,
            @org.springframework.beans.factory.annotation.Value("${caravan.cluster.enabled:false}") boolean cluster,
            @org.springframework.beans.factory.annotation.Value("${caravan.event-log.kafka.bootstrap-servers:}")
            String kafka) {
        this.store = store;
        this.consents = consents;
        this.channels = channels;
        this.clock = clock;
        this.disclosures = disclosures;
        // one node: a message reaches its gate from this node's queue only; several: a starting node hands over every
        // planned message of the shared database, and a stranded one is handed over by any node
        this.claims = cluster || (kafka != null && !kafka.isBlank());
    }

    /** Whether this node's gate claims messages (several nodes share the store). */
    public boolean claims() {
        return claims;
    }

    /** Step 1: the gate at send time; leaves {@value #DELIVER} and, when true, what the channel's route needs. */
    public void gate(Exchange ex) {
        try {
            decide(ex);
        } catch (RuntimeException e) {
            UUID id = ex.getProperty(Messages.MESSAGE_ID, UUID.class);
            if (id == null || !storeUnavailable(e)) {
                throw e;
            }
            // the database or the audit trail out of reach (a PostgreSQL restart): nothing has gone, so the message
            // waits for the retry sweep instead of failing for an operator to replay; not an attempt of its own
            ex.setProperty(DELIVER, false);
            log.warn("Sending message {} deferred: the store is unavailable ({})", id, e.getClass().getSimpleName());
            store.defer(id, List.of("store-unavailable"), false, clock.instant().plusSeconds(5), clock.instant());
        }
    }

    /**
     * Whether {@code e} says the store was out of reach rather than that the message is bad: the audit trail could not
     * record in time, a connection could not be had or broke, or the server is shutting down or restarting (SQL states
     * of class 08, and 57P01-57P03).
     */
    public static boolean storeUnavailable(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof io.caravan.audit.AuditLog.AuditUnavailable
                    || t instanceof org.springframework.dao.TransientDataAccessResourceException
                    || t instanceof org.springframework.dao.DataAccessResourceFailureException
                    || t instanceof org.springframework.dao.RecoverableDataAccessException
                    || t instanceof java.sql.SQLTransientConnectionException
                    || t instanceof java.sql.SQLRecoverableException
                    || t instanceof java.sql.SQLNonTransientConnectionException) {
                return true;
            }
            if (t instanceof java.sql.SQLException sql && sql.getSQLState() != null
                    && (sql.getSQLState().startsWith("08") || sql.getSQLState().startsWith("57P"))) {
                return true;
            }
        }
        return false;
    }

    private void decide(Exchange ex) {
        ex.setProperty(DELIVER, false);
        UUID id = ex.getProperty(Messages.MESSAGE_ID, UUID.class);
        Optional<OutboundMessage> found = store.find(id);
        if (found.isEmpty() || !(found.get().status() == MessageStatus.PLANNED
                || found.get().status() == MessageStatus.DEFERRED)) {
            return; // already sent or stopped by an earlier attempt
        }
        OutboundMessage m = found.get();
        if (!channels.require(m.channel()).sendsHere()) {
            // another node holds the channel's connection: due in the store, taken by that node's message-retry;
            // no decision yet, the holder takes it at the moment it sends
            store.park(id, clock.instant());
            return;
        }
        if (claims && !claim(id)) {
            // another attempt, here or on another node, is sending it: it is not decided or sent twice; due again
            // when that claim runs out, in case its node died before finishing (or earlier, by the sweep for the
            // claims of stopped nodes)
            store.dueAfterClaim(id, clock.instant());
            return;
        }
        Channel ch = channels.require(m.channel());
        Optional<String> closed = ch.closed(java.time.LocalDate.ofInstant(clock.instant(), java.time.ZoneOffset.UTC));
        if (closed.isPresent()) {
            store.defer(id, List.of(closed.get()), false, clock.instant().plus(CLOSED_WAIT), clock.instant());
            return;
        }
        Contact c = consents.requireContactForSend(m.contactId());
        Template t = ch.template(m.template()).orElseThrow(() -> new IllegalStateException("template gone"));
        Optional<String> address = ch.address(c);
        if (address.isPresent()) {
            Channel.Turn asking = !Boolean.TRUE.equals(ex.getProperty(Messages.BULK, Boolean.class))
                    ? Channel.Turn.PROMPT
                    : m.status() == MessageStatus.DEFERRED ? Channel.Turn.RETURNING : Channel.Turn.BULK;
            Channel.Place place = ch.enter(address.get(), asking);
            if (!place.taken()) {
                // the destination's sends under way are all taken (a slow domain): this send thread goes on to the
                // next message rather than wait with them
                store.defer(id, List.of(DESTINATION_BUSY), false, place.waitUntil(), clock.instant());
                return;
            }
            Runnable leave = place.leave();
            if (place != Channel.Place.GO) {
                ex.getExchangeExtension().addOnCompletion(new org.apache.camel.support.SynchronizationAdapter() {
                    @Override
                    public void onDone(Exchange done) {
                        leave.run();
                    }
                });
            }
            Optional<Instant> turn = ch.admit(address.get(), asking, clock.instant());
            if (turn.isPresent()) {
                leave.run();
                store.defer(id, List.of(DESTINATION_RATE), false, turn.get(), clock.instant());
                return;
            }
        }
        ConsentService.Queued q = consents.decideQueued(c, new DecisionRequest(m.purpose(), ch.name(), t.content(),
                false, List.of()), ACTOR, ConsentService.Stage.SEND);
        Decision d = q.decision();
        ex.setProperty(DECISION_RECORDED, q.recorded());
        if (!d.allowed()) {
            awaitDecision(ex);
            store.finish(id, MessageStatus.BLOCKED, null, d.denials(), clock.instant());
            return;
        }
        if (address.isEmpty()) {
            awaitDecision(ex);
            store.finish(id, MessageStatus.BLOCKED, null, List.of("no-" + ch.name() + "-address"),
                    clock.instant());
            return;
        }
        if (!ch.awaitsDecision()) {
            awaitDecision(ex);
        }
        ex.setProperty(DECISION, d);
        ex.setProperty(MESSAGE, m);
        ex.setProperty(CONTACT, c);
        // what the disclosure records; the channel's route may refine recipient, description and protection
        ex.setProperty("CaravanContactId", c.id);
        ex.setProperty("CaravanPurpose", m.purpose());
        ex.setProperty("CaravanChannel", ch.name());
        ex.setProperty(Disclosures.RECIPIENT, address.get());
        ex.setProperty(Disclosures.DESCRIPTION, ch.name() + " " + m.template());
        ex.setProperty(Disclosures.MESSAGE_ID, m.id().toString());
        ex.setProperty(DELIVER, true);
    }

    /**
     * Claims the message for this attempt: free, or held by a node the cluster has found stopped (its attempt died
     * with it, before or on the wire: what was on the wire may go twice, as when its claim runs out).
     */
    private boolean claim(UUID id) {
        String attempt = UUID.randomUUID().toString();
        Instant now = clock.instant();
        String node = liveness == null ? null : liveness.self();
        if (store.claim(id, attempt, node, now, now.plus(CLAIM))) {
            return true;
        }
        if (liveness == null) {
            return false;
        }
        Optional<MessageStore.Claim> held = store.claimOf(id, now);
        if (held.isPresent() && held.get().node() != null
                && liveness.stopped(held.get().node(), held.get().until().minus(CLAIM))
                && store.takeOver(id, held.get().attempt(), attempt, node, now.plus(CLAIM))) {
            log.info("Message {} taken over from stopped node {}", id, held.get().node());
            return true;
        }
        return false;
    }

    /**
     * After a node stopped: the messages it held claims on fall due, for a gate here to take them over (message-retry
     * calls this on every node; the takeover itself is one conditional update, so one node wins each). How many.
     */
    public int dueFromStoppedNodes() {
        if (liveness == null) {
            return 0;
        }
        Instant now = clock.instant();
        int n = 0;
        for (java.util.Map.Entry<String, Instant> node : store.claimingNodes(now).entrySet()) {
            // its oldest claim first: a live node's answer is no for all of them
            if (liveness.stopped(node.getKey(), node.getValue().minus(CLAIM))) {
                for (java.util.Map.Entry<UUID, MessageStore.Claim> c : store.claimsOf(node.getKey(), now).entrySet()) {
                    if (liveness.stopped(node.getKey(), c.getValue().until().minus(CLAIM))
                            && store.dueIfClaimedBy(c.getKey(), c.getValue().attempt(), now)) {
                        n++;
                    }
                }
            }
        }
        return n;
    }

    /**
     * For a channel's route, right before the wire: returns once the send-time decision's audit entry is durable
     * (at once if it is already), so no unaudited decision is acted on; throws when the trail could not record it,
     * and the message must then not go.
     */
    public static void awaitDecision(Exchange ex) {
        @SuppressWarnings("unchecked")
        CompletableFuture<Long> recorded = ex.getProperty(DECISION_RECORDED, CompletableFuture.class);
        if (recorded != null) {
            try {
                AuditLog.awaitDurable(recorded);
            } catch (RuntimeException e) {
                // the message stops before the wire: failed() may let it wait instead of failing it for good
                ex.setProperty(HELD_BEFORE_WIRE, true);
                throw e;
            }
        }
    }

    /** Set when the decision's entry could not be made durable: nothing of the message has gone. */
    static final String HELD_BEFORE_WIRE = "CaravanHeldBeforeWire";

    /**
     * Step 3, after the channel handed the message over: the disclosure (recipient, description, protection,
     * purpose) is recorded and the message marked sent in the same commit, once that commit is durable.
     */
    public void sent(Exchange ex) {
        OutboundMessage m = ex.getProperty(MESSAGE, OutboundMessage.class);
        @SuppressWarnings("unchecked")
        List<String> reasons = ex.getProperty(REASONS, List.of(), List.class);
        String protection = ex.getProperty(Disclosures.PROTECTION, String.class);
        // the decision's entry was queued first and the trail commits in order; waiting names a failure of its own
        awaitDecision(ex);
        Disclosures.Disclosure d = Disclosures.of(ex);
        // the send path's own name, whichever lane's route the exchange started in (send-prompt, send-bulk)
        String actor = ACTOR;
        SentRecord record = new SentRecord(m.id(), d, actor, protection, reasons, clock.instant());
        try {
            record.write();
        } catch (RuntimeException e) {
            if (!storeUnavailable(e)) {
                throw e;
            }
            // the message went: failing it would be untrue, and leaving it planned would let it go again once its
            // claim lapses - the record waits on this node until the store is back
            log.warn("Message {} went; its record waits for the store ({})", m.id(), e.getClass().getSimpleName());
            unrecorded.incrementAndGet();
            afterWire.schedule(() -> retry(record, 1), 1, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    /**
     * What {@link #sent} commits for a message that went: the disclosure and the status, in one commit of the trail
     * (or, when a stream wants {@code message.sent}, the status with its event after the disclosure).
     */
    private final class SentRecord {
        final UUID id;
        /** Built once: queued again after a failure it is the same entry, which the trail writes at most once. */
        final io.caravan.audit.AuditDraft disclosure;
        final String protection;
        final List<String> reasons;
        final java.time.Instant at;
        /**
         * The disclosure's entry, once queued. A wait that gave up (the store away longer than the trail's wait) leaves
         * it with the trail's writer, which may still commit it once the store is back: a retry waits on this entry
         * again rather than queue a second one - two would account for one message twice.
         */
        CompletableFuture<Long> entry;
        /** Whether the status commits apart from the entry, with its event (as it was when the entry was queued). */
        boolean statusApart;

        SentRecord(UUID id, Disclosures.Disclosure disclosure, String actor, String protection, List<String> reasons,
                java.time.Instant at) {
            this.id = id;
            this.disclosure = Disclosures.entry(disclosure, actor);
            this.protection = protection;
            this.reasons = reasons;
            this.at = at;
        }

        void write() {
            if (entry != null && entry.isCompletedExceptionally()) {
                if (landed()) {
                    return; // its commit landed though the writer could not say so: nothing more to write
                }
                entry = null;
            }
            if (entry == null) {
                // the status commits with its event, in the log's transaction, after the disclosure (the trail's
                // writer cannot append to the event log in its own); otherwise both in the trail's commit
                statusApart = store.logsEvent(MessageStatus.SENT);
                entry = disclosures.queue(disclosure, statusApart ? null
                        : store.finishWork(id, MessageStatus.SENT, protection, reasons, at));
            }
            disclosures.awaitQueued(entry);
            if (statusApart) {
                // conditional on the message still planned or deferred: a repeat after a lost answer changes nothing
                store.finish(id, MessageStatus.SENT, protection, reasons, at);
            }
        }

        /**
         * After the writer failed the entry: whether its commit landed all the same (the database committed but the
         * answer was lost), which shows in the status that committed with it. With the event path the status is not in
         * the entry's commit, and a failed entry is written again.
         */
        boolean landed() {
            return !statusApart && store.find(id)
                    .map(o -> o.status() != MessageStatus.PLANNED && o.status() != MessageStatus.DEFERRED)
                    .orElse(true);
        }
    }

    /** Records of messages that went while the store was out of reach, retried on this node until they commit. */
    private final java.util.concurrent.ScheduledExecutorService afterWire =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "caravan-sent-records");
                t.setDaemon(true);
                return t;
            });
    private final java.util.concurrent.atomic.AtomicInteger unrecorded =
            new java.util.concurrent.atomic.AtomicInteger();

    /** Messages that went and whose record waits for the store (a gauge for operators; 0 when all is well). */
    public int unrecorded() {
        return unrecorded.get();
    }

    private void retry(SentRecord record, int attempt) {
        try {
            record.write();
            unrecorded.decrementAndGet();
            log.info("Message {}: its record committed after {} attempts", record.id, attempt + 1);
        } catch (RuntimeException e) {
            if (!storeUnavailable(e)) {
                unrecorded.decrementAndGet();
                log.error("Message {} went but its record failed ({})", record.id, PhiSafeLogging.describe(e));
                return;
            }
            long wait = Math.min(30, 1L << Math.min(attempt, 5));
            try {
                afterWire.schedule(() -> retry(record, attempt + 1), wait, java.util.concurrent.TimeUnit.SECONDS);
            } catch (java.util.concurrent.RejectedExecutionException shuttingDown) {
                log.error("Message {} went; its record is lost with this node's shutdown", record.id);
            }
        }
    }

    @jakarta.annotation.PreDestroy
    void stopAfterWire() throws InterruptedException {
        afterWire.shutdown();
        if (!afterWire.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS)) {
            afterWire.shutdownNow();
        }
        if (unrecorded.get() > 0) {
            log.error("{} messages went but their records could not be written before the shutdown", unrecorded.get());
        }
    }

    /** A failure the channel's route did not handle itself: the message fails, named by the exception's class. */
    public void failed(Exchange ex) {
        OutboundMessage m = ex.getProperty(MESSAGE, OutboundMessage.class);
        Throwable e = ex.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        String name = e == null ? "unknown" : e.getClass().getSimpleName();
        UUID id = m != null ? m.id() : ex.getProperty(Messages.MESSAGE_ID, UUID.class);
        if (e != null && ex.getProperty(HELD_BEFORE_WIRE, false, Boolean.class) && storeUnavailable(e)) {
            // the trail was out of reach (a PostgreSQL restart) before the wire: nothing went, so the message waits
            // for the retry sweep like one deferred at the gate; a failure after the wire still fails it - sent again
            // it could go twice
            log.warn("Sending message {} deferred: the audit trail is unavailable ({})", id, name);
            store.defer(id, List.of("store-unavailable"), false, clock.instant().plusSeconds(5), clock.instant());
            return;
        }
        log.error("Sending message {} failed ({})", id, name);
        store.finish(id, MessageStatus.FAILED, null, List.of("error:" + name), clock.instant());
    }
}
