package io.caravan.channel;

import io.caravan.consent.ConsentService;
import io.caravan.consent.Decision;
import io.caravan.consent.DecisionRequest;
import io.caravan.contact.Contact;
import io.caravan.system.Ids;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.camel.ProducerTemplate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Service;

/**
 * Plans outbound messages for any registered {@link Channel}: checks the request (the channel, its template, the data
 * the template requires), takes the gate's planning decision, stores the message (blocked, or planned) and hands
 * planned ones to the send queue ({@code direct:send-queue}); {@code message-send} delivers them through
 * {@code direct:deliver-<channel>}. A planned message is
 * stored before the caller hears 202, and planned messages are handed over again after a restart: nothing accepted
 * is lost. The gate decides again at the moment of sending.
 */
@Service
public class Messages {

    private static final Logger log = LoggerFactory.getLogger(Messages.class);
    public static final String MESSAGE_ID = "CaravanMessageId";
    static final String PARKED = "CaravanParked";
    /** Which send lane the message goes in: true for the bulk lane ({@link #bulk}). */
    static final String BULK = "CaravanBulk";
    static final String SEND_QUEUE = "direct:send-queue";

    /** What a caller asks for. */
    public record Request(UUID contactId, String template, String channel, String purpose, Map<String, Object> data) {
    }

    /** A request without data its template requires (400): names the template and the missing fields. */
    public static final class MissingTemplateData extends IllegalArgumentException {
        MissingTemplateData(String template, Set<String> missing) {
            super("template " + template + " requires data: " + String.join(", ", missing));
        }
    }

    private final ConsentService consents;
    private final Channels channels;
    private final MessageStore store;
    private final ProducerTemplate producer;
    private final Clock clock;
    /** Set by Spring; absent where a test builds the service by hand (one node, no sweep). */
    @org.springframework.beans.factory.annotation.Autowired(required = false)
    private Deliveries deliveries;
    /** Set by Spring; absent where a test builds the service by hand (the sweep then takes pages regardless). */
    @org.springframework.beans.factory.annotation.Autowired(required = false)
    private SendQueue sendQueue;
    /**
     * A planned message not sent within this long on several nodes may be stranded in a stopped node's queue (one merely
     * waiting in a live node's queue is handed over a second time, and its gate's claim keeps it from going twice).
     */
    static final java.time.Duration STRANDED = java.time.Duration.ofMinutes(1);
    private volatile Instant nextStrandedSweep = Instant.MIN;
    private volatile Instant nextStoppedSweep = Instant.MIN;
    /** The cluster's record of live nodes: absent on one node. */
    private io.caravan.system.NodeLiveness liveness;
    private Set<String> lastNodes;

    @org.springframework.beans.factory.annotation.Autowired(required = false)
    void liveness(io.caravan.system.NodeLiveness liveness) {
        this.liveness = liveness;
    }

    /** Whether a node's check-in record went since the last call: the cluster recovered a node that stopped. */
    synchronized boolean nodeLeft() {
        if (liveness == null) {
            return false;
        }
        Set<String> now = liveness.nodes();
        Set<String> before = lastNodes;
        lastNodes = now;
        return before != null && !now.containsAll(before);
    }

    public Messages(ConsentService consents, Channels channels, MessageStore store, ProducerTemplate producer,
            Clock clock) {
        this.consents = consents;
        this.channels = channels;
        this.store = store;
        this.producer = producer;
        this.clock = clock;
    }

    public OutboundMessage plan(Request r, String actor) {
        return plan(Ids.next(), r, actor, false, null);
    }

    /**
     * Plans under a given id - a workflow step's idempotency key: asking again (after a crash between planning and
     * recording the step) returns the message already planned instead of a second one. The caller has just read the
     * contact (the workflow engine): it is not read again. The insert, in the decision entry's commit, finds the
     * earlier message by its key; a run again after a crash leaves one more decision entry, which is what happened.
     */
    public OutboundMessage planAs(UUID id, Request r, String actor, Contact contact) {
        if (!contact.id.equals(r.contactId())) {
            throw new IllegalArgumentException("the contact is not the request's");
        }
        try {
            return plan(id, r, actor, false, contact);
        } catch (org.springframework.dao.DuplicateKeyException e) {
            return store.find(id).orElseThrow();
        }
    }

    /** One of several plans asked for together ({@link #planAllAs}): an id, the request, its contact and actor. */
    public record PlanAs(UUID id, Request request, Contact contact, String actor) {
    }

    /**
     * {@link #planAs} for a batch (a campaign's recipients): each request is checked as one plan is, the gate decides
     * for each, and each decision's entry commits with its message row as for one plan - but the entries go to the
     * trail together, so the batch waits for the trail once rather than once per message. A message already stored
     * under its id (planned before a crash) is returned as it is. The messages come back in order.
     */
    public List<OutboundMessage> planAllAs(List<PlanAs> plans) {
        Instant now = clock.instant();
        List<ConsentService.Ask> asks = new java.util.ArrayList<>(plans.size());
        List<String> actors = new java.util.ArrayList<>(plans.size());
        List<Template> templates = new java.util.ArrayList<>(plans.size());
        for (PlanAs p : plans) {
            Request r = p.request();
            if (!p.contact().id.equals(r.contactId())) {
                throw new IllegalArgumentException("the contact is not the request's");
            }
            Template t = check(r, false);
            templates.add(t);
            asks.add(new ConsentService.Ask(p.contact(), new DecisionRequest(r.purpose(), r.channel(), t.content(),
                    false, List.of())));
            actors.add(p.actor());
        }
        List<OutboundMessage> planned = new java.util.ArrayList<>(java.util.Collections.nCopies(plans.size(), null));
        List<AtomicBoolean> existed = new java.util.ArrayList<>(plans.size());
        for (int i = 0; i < plans.size(); i++) {
            existed.add(new AtomicBoolean());
        }
        List<Decision> decisions;
        try {
            decisions = consents.decideAll(asks, actors, ConsentService.Stage.PLAN, (i, decision) -> {
                PlanAs p = plans.get(i);
                Request r = p.request();
                OutboundMessage m = new OutboundMessage(p.id(), p.contact().id, r.channel(), r.purpose(),
                        templates.get(i).name(), decision.allowed() ? MessageStatus.PLANNED : MessageStatus.BLOCKED,
                        null, decision.allowed() ? List.of() : decision.denials(), now, now);
                planned.set(i, m);
                return store.insertWork(m, r.data() == null ? Map.of() : r.data(), p.actor(), true,
                        existed.get(i));
            });
        } catch (io.caravan.audit.AuditLog.AuditUnavailable e) {
            // some of the batch may have committed: those planned now go, as every stored plan must; the caller finds
            // them planned when it asks again, and the rest are planned then
            for (int i = 0; i < plans.size(); i++) {
                if (planned.get(i) != null && !existed.get(i).get() && store.find(plans.get(i).id())
                        .filter(m -> m.status() == MessageStatus.PLANNED).isPresent()) {
                    handOver(plans.get(i).id(), true);
                }
            }
            throw e;
        }
        List<OutboundMessage> out = new java.util.ArrayList<>(plans.size());
        for (int i = 0; i < plans.size(); i++) {
            if (existed.get(i).get()) {
                out.add(store.find(plans.get(i).id()).orElseThrow());
            } else {
                if (decisions.get(i).allowed()) {
                    handOver(plans.get(i).id(), true);
                }
                out.add(planned.get(i));
            }
        }
        return out;
    }

    /**
     * The hub's own messages (a portal code): templates for {@code any} purpose, sent under the purpose of the message
     * they serve, through the same gate, protection and audit as every other.
     */
    public OutboundMessage planSystem(Request r, String actor) {
        return plan(Ids.next(), r, actor, true, null);
    }

    private OutboundMessage plan(UUID id, Request r, String actor, boolean system, Contact read) {
        Template t = check(r, system);
        Contact c = read != null ? read : consents.requireContactForSend(r.contactId());
        Instant now = clock.instant();
        Map<String, Object> data = r.data() == null ? Map.of() : r.data();
        AtomicReference<OutboundMessage> planned = new AtomicReference<>();
        AtomicBoolean existed = new AtomicBoolean();
        // a portal code is awaited by someone at the portal, whatever the purpose of the message it opens
        boolean bulk = !system && bulk(r.purpose());
        // the decision's entry and the message row commit in one transaction of the audit trail (one durable write,
        // grouped with other planners'), and the message is sealed before the trail's writer sees it
        Decision d = consents.decide(c, new DecisionRequest(r.purpose(), r.channel(), t.content(), false, List.of()),
                actor, ConsentService.Stage.PLAN, decision -> {
                    OutboundMessage m = new OutboundMessage(id, c.id, r.channel(), r.purpose(), t.name(),
                            decision.allowed() ? MessageStatus.PLANNED : MessageStatus.BLOCKED, null,
                            decision.allowed() ? List.of() : decision.denials(), now, now);
                    planned.set(m);
                    return store.insertWork(m, data, actor, bulk, existed);
                });
        if (existed.get()) {
            throw new org.springframework.dao.DuplicateKeyException("a message with this id is planned already");
        }
        if (d.allowed()) {
            handOver(id, bulk);
        }
        return planned.get();
    }

    /** The request's checks before any decision: channel, template, purpose, content class, required data. */
    private Template check(Request r, boolean system) {
        if (r.contactId() == null || r.template() == null || r.channel() == null || r.purpose() == null) {
            throw new IllegalArgumentException("contactId, template, channel and purpose are required");
        }
        Channel channel = channels.require(r.channel());
        Template t = channel.template(r.template()).orElseThrow(() -> new IllegalArgumentException(
                "no template " + r.template() + " for channel " + channel.name()));
        if (Template.ANY_PURPOSE.equals(t.purpose()) && !system) {
            throw new IllegalArgumentException("template " + t.name() + " is the hub's own");
        }
        if (!t.purpose().equals(r.purpose()) && !Template.ANY_PURPOSE.equals(t.purpose())) {
            throw new IllegalArgumentException("template " + t.name() + " is for purpose " + t.purpose());
        }
        if (!channel.contentClasses().contains(t.content())) {
            throw new IllegalArgumentException("template " + t.name() + " has " + t.content()
                    + " content, which channel " + channel.name() + " cannot carry");
        }
        Set<String> missing = missing(t, r.data());
        if (!missing.isEmpty()) {
            throw new MissingTemplateData(t.name(), missing);
        }
        return t;
    }

    /**
     * Plans a run of messages (a bulk send) exactly as {@link #plan(Request, String)} plans each, but their decisions'
     * entries and message rows go to the trail together: one durable wait for the run instead of one per message.
     * Every request is checked before any is planned (a bad one fails the run, nothing planned); each planned one is
     * handed to the send queue once the run is durable. Returns the messages in the requests' order.
     */
    public List<OutboundMessage> planAll(List<Request> requests, String actor) {
        List<Template> templates = new java.util.ArrayList<>(requests.size());
        List<ConsentService.Ask> asks = new java.util.ArrayList<>(requests.size());
        for (Request r : requests) {
            Template t = check(r, false);
            templates.add(t);
            asks.add(new ConsentService.Ask(consents.requireContactForSend(r.contactId()),
                    new DecisionRequest(r.purpose(), r.channel(), t.content(), false, List.of())));
        }
        Instant now = clock.instant();
        OutboundMessage[] planned = new OutboundMessage[requests.size()];
        AtomicBoolean unused = new AtomicBoolean();
        List<Decision> ds = consents.decideAllWithWork(asks, actor, ConsentService.Stage.PLAN, (i, decision) -> {
            Request r = requests.get(i);
            OutboundMessage m = new OutboundMessage(Ids.next(), asks.get(i).contact().id, r.channel(), r.purpose(),
                    templates.get(i).name(), decision.allowed() ? MessageStatus.PLANNED : MessageStatus.BLOCKED, null,
                    decision.allowed() ? List.of() : decision.denials(), now, now);
            planned[i] = m;
            // fresh ids: no earlier message to find under them
            return store.insertWork(m, r.data() == null ? Map.of() : r.data(), actor, true, unused);
        });
        List<UUID> allowed = new java.util.ArrayList<>();
        for (int i = 0; i < planned.length; i++) {
            if (ds.get(i).allowed()) {
                allowed.add(planned[i].id());
            }
        }
        handOverAll(allowed, true);
        return List.of(planned);
    }

    /**
     * Into the send queue; false when it stayed full for the route's offer timeout. The message is stored already,
     * so a full queue parks it in the store instead of holding up the planner (a workflow's timers, an API call):
     * planning runs at its own pace and sending drains at its own.
     */
    private boolean handOver(UUID id, boolean bulk) {
        org.apache.camel.Exchange ex = producer.send(SEND_QUEUE, e -> {
            e.setProperty(MESSAGE_ID, id);
            e.setProperty(BULK, bulk);
        });
        if (ex.getException() != null) {
            // the route is stopping or gone: the message waits in the store all the same
            store.park(id, clock.instant());
            return false;
        }
        return !Boolean.TRUE.equals(ex.getProperty(PARKED));
    }

    /** The template's required fields the data lacks (absent or null), in the template's order. */
    static Set<String> missing(Template t, Map<String, Object> data) {
        Set<String> missing = new LinkedHashSet<>();
        for (String f : t.requires()) {
            if (data == null || data.get(f) == null) {
                missing.add(f);
            }
        }
        return missing;
    }

    /** Whether a person (not a machine) opened / clicked the message, as far as its channel can tell. */
    /** How many of these messages, all sent on {@code channel}, a person opened / clicked. */
    public long engagedCount(String channel, java.util.Collection<UUID> messageIds, String what) {
        if (messageIds.isEmpty()) {
            return 0;
        }
        return channels.find(channel).map(ch -> ch.engagedCount(messageIds, what)).orElse(0L);
    }

    /** How many of these messages only machines opened / clicked (a report's bot figures); 0 where none can tell. */
    public long machineCount(String channel, java.util.Collection<UUID> messageIds, String what) {
        if (messageIds.isEmpty()) {
            return 0;
        }
        return channels.find(channel).map(ch -> ch.machineCount(messageIds, what)).orElse(0L);
    }

    /**
     * When the contact's messages of {@code purpose} since {@code since} were created, oldest first - blocked ones
     * left out, since they never reached the patient (a workflow's frequency cap counts these).
     */
    public List<Instant> createdSince(UUID contactId, String purpose, Instant since) {
        return store.createdSince(contactId, purpose, since);
    }

    public boolean engaged(UUID messageId, String what) {
        return store.find(messageId).flatMap(m -> channels.find(m.channel()))
                .map(ch -> ch.engaged(messageId, what)).orElse(false);
    }

    /** The send-queue route's catch: the send queue stayed full, the message waits in the store, due now. */
    public void parked(org.apache.camel.Exchange ex) {
        store.park(ex.getProperty(MESSAGE_ID, UUID.class), clock.instant());
        ex.setProperty(PARKED, true);
    }

    /**
     * Deferred messages whose wait is over, and planned ones parked while the queue was full, go (back) into the send
     * queue - until it is full again (the message-retry route's step).
     */
    public int resumeDue() {
        int n = 0;
        List<UUID> due;
        if (deliveries != null && deliveries.claims() && clock.instant().isAfter(nextStrandedSweep)) {
            nextStrandedSweep = clock.instant().plusSeconds(30);
            int stranded = store.dueIfStranded(clock.instant().minus(STRANDED), clock.instant());
            if (stranded > 0) {
                log.info("{} planned messages not sent for {} are handed over again (a node that held them stopped,"
                        + " or is slow: the gate's claim sends each once)", stranded, STRANDED);
            }
        }
        if (deliveries != null && deliveries.claims() && clock.instant().isAfter(nextStoppedSweep)) {
            nextStoppedSweep = clock.instant().plusSeconds(5);
            int taken = deliveries.dueFromStoppedNodes();
            if (taken > 0) {
                log.info("{} messages claimed by a node that stopped are handed over", taken);
            }
            if (nodeLeft()) {
                // what the node held in its send queue is stranded now, not in a minute; a message merely waiting
                // in a live node's queue is handed over twice and sent once (the gate's claim)
                int stranded = store.dueIfStranded(clock.instant().minusSeconds(5), clock.instant());
                log.info("A node left the cluster: {} planned messages not yet sent are handed over again", stranded);
            }
        }
        // the prompt lane first, and a full lane stops only its own hand-over
        for (boolean bulk : new boolean[] {false, true}) {
            while (true) {
                // no more than the lane's queue has room for: what is leased goes into the queue now
                int take = sendQueue == null ? MessageStore.TAKE : Math.min(MessageStore.TAKE, sendQueue.room(bulk));
                if (take == 0) {
                    break;
                }
                // a channel another node sends for (its connection held there) is left for that node's message-retry
                due = store.takeDue(clock.instant(), java.time.Duration.ofMinutes(10), channels.elsewhere(), bulk,
                        take);
                int went = handOverAll(due, bulk);
                n += went;
                if (went < due.size() || due.size() < take) {
                    break;
                }
            }
        }
        return n;
    }

    /**
     * The lane of a message planned on its own: marketing goes in the bulk lane, with batches; everything else (an
     * appointment reminder, a pre-op instruction, a result notice) in the prompt lane.
     */
    static boolean bulk(String purpose) {
        return "marketing".equals(purpose);
    }

    /**
     * Hands a lane's messages over in order until its queue is full; the rest wait in the store, due now. How many
     * went.
     */
    private int handOverAll(List<UUID> ids, boolean bulk) {
        for (int i = 0; i < ids.size(); i++) {
            if (!handOver(ids.get(i), bulk)) {
                ids.subList(i + 1, ids.size()).forEach(id -> store.park(id, clock.instant()));
                return i;
            }
        }
        return ids.size();
    }

    /** See {@link MessageStore#countsBy}: an actor's messages by status, and blocked ones by reasons. */
    public Map<String, Long> countsBy(String actor) {
        return store.countsBy(actor);
    }

    /** The message, if it was planned (a campaign finding what it planned before a crash). */
    public java.util.Optional<OutboundMessage> find(UUID id) {
        return store.find(id);
    }

    /** The messages of these ids that were planned (a campaign's batch, finding what it planned before a crash). */
    public Map<UUID, OutboundMessage> findAll(java.util.Collection<UUID> ids) {
        return store.findAll(ids);
    }

    /**
     * Contacts who engaged: {@code opened} / {@code clicked} (by a person, on any channel that tracks it), or
     * {@code bounced} (a message refused for good). Read once per segment evaluation.
     */
    public Set<UUID> engagedContacts(String what) {
        if ("bounced".equals(what)) {
            return store.contactsWithStatus(MessageStatus.BOUNCED);
        }
        Set<UUID> out = new java.util.HashSet<>();
        channels.names().forEach(n -> channels.find(n).ifPresent(c -> out.addAll(c.engagedContacts(what))));
        return out;
    }

    /**
     * Planned messages of an earlier run (the hub stopped before sending them) go out now, a page at a time by the
     * same hand-over as parked ones: a million planned are not a million ids in memory.
     */
    @EventListener(ApplicationReadyEvent.class)
    void resumePlanned() {
        int planned = store.plannedDueNow(clock.instant());
        if (planned > 0) {
            log.info("Sending {} messages planned before the last stop", planned);
            // what the queues cannot take now, the message-retry route hands over
            resumeDue();
        }
    }
}
