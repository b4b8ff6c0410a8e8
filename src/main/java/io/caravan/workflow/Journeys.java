package io.caravan.workflow;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.audit.Actions;
import io.caravan.audit.AuditDraft;
import io.caravan.channel.Messages;
import io.caravan.consent.ConsentRecord;
import io.caravan.consent.ConsentService;
import io.caravan.consent.ConsentWithdrawn;
import io.caravan.consent.Decision;
import io.caravan.consent.DecisionRequest;
import io.caravan.channel.MessageStatus;
import io.caravan.channel.OutboundMessage;
import io.caravan.contact.Contact;
import io.caravan.contact.ContactStore;
import io.caravan.contact.ContactWriter;
import io.caravan.contact.TriggerEvent;
import io.caravan.crypto.FieldCipher;
import io.caravan.eventlog.EventSubscriber;
import io.caravan.eventlog.Subscriptions;
import io.caravan.mapping.MappingProperties;
import io.caravan.system.Ids;
import java.nio.charset.StandardCharsets;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The workflow engine, driven by the {@code workflow-tick} route. Each tick it acts on the trigger events after its
 * cursor in the event log (ending journeys an event exits, starting those a trigger matches - one transaction per
 * event, which also advances the cursor: exactly once), then runs the journeys whose timer ({@code next_at})
 * is due. State lives in the database, so a restart - even after {@code kill -9} - carries on where it stopped:
 * a step's effect is recorded under the key (journey, step), and a send plans its message under an id derived from
 * that key, so a step run again after a crash finds its message instead of sending a second one. The journey's
 * place is saved when it waits or ends; steps between are repeatable (a branch decides the same, a send finds its
 * message), so a crash in between only runs them again to the same effect.
 */
@Component("journeys")
public class Journeys implements EventSubscriber {

    private static final Logger log = LoggerFactory.getLogger(Journeys.class);
    /** The engine's cursor in the event log (V20_1 carried the old inbox over to it). */
    static final String SUBSCRIBER = "workflow";
    static final JourneyStatus ACTIVE = JourneyStatus.ACTIVE;
    static final JourneyStatus COMPLETED = JourneyStatus.COMPLETED;
    static final JourneyStatus EXITED = JourneyStatus.EXITED;
    private static final int BATCH = 500;
    private static final int MAX_STEPS_PER_RUN = 64;
    private static final long TICK_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(30);

    /** A journey as stored. */
    /** {@code updatedAt}: the row's version, so two advances of one journey cannot both commit. */
    record Journey(UUID id, String workflow, UUID contactId, JourneyStatus status, String step, TriggerEvent event,
            Set<String> visited, Instant updatedAt) {
    }

    /** Another advance of the journey (another node's tick, an event's consumer) committed first: nothing to do. */
    private static final class Overtaken extends RuntimeException {
        Overtaken() {
            super(null, null, false, false);
        }
    }

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;
    private final FieldCipher cipher;
    private final WorkflowCatalog catalog;
    private final ContactStore contacts;
    private final ContactWriter writer;
    private final Messages messages;
    private final ConsentService consents;
    private final ObjectMapper json;
    private final WorkflowProperties props;
    private final ZoneId zone;
    private final Clock clock;
    private final java.util.concurrent.ExecutorService workers;
    private final Subscriptions subscriptions;
    /**
     * The event log is on Kafka: the engine reads trigger events as the consumer group {@code caravan.workflow}
     * across the nodes (EventPump), and its Quartz tick only runs the journeys that are due.
     */
    @org.springframework.beans.factory.annotation.Value("${caravan.event-log.kafka.bootstrap-servers:}")
    private String kafka;
    @org.springframework.beans.factory.annotation.Autowired
    private io.caravan.contact.LogPartitions logPartitions;

    public Journeys(JdbcTemplate jdbc, TransactionTemplate tx, FieldCipher cipher, WorkflowCatalog catalog,
            ContactStore contacts, ContactWriter writer, Messages messages,
            ConsentService consents, ObjectMapper json,
            WorkflowProperties props, MappingProperties mapping, Clock clock, Subscriptions subscriptions) {
        this.subscriptions = subscriptions;
        this.jdbc = jdbc;
        this.tx = tx;
        this.cipher = cipher;
        this.catalog = catalog;
        this.contacts = contacts;
        this.writer = writer;
        this.messages = messages;
        this.consents = consents;
        this.json = json;
        this.props = props;
        this.zone = ZoneId.of(mapping.timeZone());
        this.clock = clock;
        java.util.concurrent.atomic.AtomicInteger k = new java.util.concurrent.atomic.AtomicInteger();
        this.workers = java.util.concurrent.Executors.newFixedThreadPool(props.workers(), r -> {
            Thread t = new Thread(r, "caravan-journey-" + k.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * The route's step. Rounds of: the trigger events waiting (a cancellation beats a reminder due in the same
     * round), then one batch of due journeys - again at once while there was work (up to 30 seconds, then the next
     * tick), so a journey falling due while a batch runs waits for that batch, not for the next tick.
     */
    public int tick() {
        long until = System.nanoTime() + TICK_NANOS;
        int n = 0;
        int round;
        do {
            round = consumerGroup() ? 0 : events();
            round += due();
            n += round;
        } while (round > 0 && System.nanoTime() < until && !Thread.currentThread().isInterrupted());
        return n;
    }

    /** The trigger events after the engine's cursor, each in the transaction that advances it (README "Event log"). */
    private int events() {
        return subscriptions.poll(this);
    }

    @Override
    public String subscriberName() {
        return SUBSCRIBER;
    }

    /**
     * On a database event log the Quartz tick polls the engine: events and due journeys in one loop, on one node of a
     * cluster at a time. With the log on Kafka the events are the consumer group's, read on whichever node holds each
     * partition.
     */
    @Override
    public boolean pumped() {
        return consumerGroup();
    }

    private boolean consumerGroup() {
        return kafka != null && !kafka.isBlank();
    }

    private int due() {
        List<UUID> due = jdbc.queryForList("SELECT id FROM journey WHERE status = ? AND next_at <= ? ORDER BY next_at"
                + " LIMIT " + BATCH, UUID.class, ACTIVE.value(), Timestamp.from(clock.instant()));
        // journeys are independent: several run at once, so their sends' durable audit waits overlap
        List<java.util.concurrent.Future<?>> running = new ArrayList<>();
        for (UUID j : due) {
            // a timer, not a request: the store as it is will do (ContactWriter.asStored); the send gate still waits
            running.add(workers.submit(() -> io.caravan.contact.ContactWriter.asStored(() -> {
                advanceOrRetryLater(j);
                return null;
            })));
        }
        for (java.util.concurrent.Future<?> f : running) {
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (java.util.concurrent.ExecutionException e) {
                // advanceOrRetryLater handles its own failures
            }
        }
        return due.size();
    }

    private void advanceOrRetryLater(UUID j) {
        try {
            advance(j);
        } catch (Overtaken done) {
            log.debug("Journey {}: another advance of the same step committed first", j);
        } catch (RuntimeException ex) {
            // a database restart (or the trail out of reach) passes in seconds: the step is tried again soon after;
            // anything else waits a minute
            boolean unavailable = io.caravan.channel.Deliveries.storeUnavailable(ex);
            int wait = unavailable ? 5 : 60;
            if (unavailable) {
                log.warn("Journey {} waits at a step: the store is unavailable ({}); it is retried in {} s", j,
                        ex.getClass().getSimpleName(), wait);
            } else {
                log.error("Journey {} failed at a step ({}); it is retried in {} s", j,
                        io.caravan.system.PhiSafeLogging.describe(ex), wait);
            }
            try {
                jdbc.update("UPDATE journey SET next_at = ? WHERE id = ?",
                        Timestamp.from(clock.instant().plusSeconds(wait)), j);
            } catch (RuntimeException stillDown) {
                // its next_at stands: the journey is due already and is taken again on a later tick
            }
        }
    }

    @jakarta.annotation.PreDestroy
    void stopWorkers() {
        workers.shutdownNow();
    }

    // ---- events ---------------------------------------------------------------------------------------------------

    /**
     * A run of events in one transaction (one cursor move and one commit for the run): starting and ending journeys
     * only writes rows, so a run that fails is rolled back whole and handled again one event at a time.
     */
    @Override
    public boolean batches() {
        return true;
    }

    /** Events no workflow starts or exits on are not opened: neither their owner nor the journeys are looked up. */
    @Override
    public boolean wants(String type) {
        return TriggerEvent.trigger(type) && catalog.listensTo(type);
    }

    @Override
    public void onEvent(ContactStore.LoggedEvent logged) {
        if (!wants(logged.type())) {
            // a retry of an event no workflow starts or exits on (any more): nothing to look up
            return;
        }
        // the contact that holds the event now: a merge (A40) since it was read moved it to the survivor
        Optional<UUID> owner = contacts.eventOwner(logged.contactId(), logged.event().id());
        if (owner.isEmpty()) {
            return;
        }
        TriggerEvent event = logged.event();
        List<Journey> active = active(owner.get());
        List<WorkflowDefinition> triggered = catalog.all().values().stream()
                .filter(w -> w.trigger.event.contains(event.type())).toList();
        if (active.isEmpty() && triggered.isEmpty()) {
            // most events start and end nothing: the contact is not read (nor decrypted) for them
            return;
        }
        Optional<Contact> found = contacts.findForSend(owner.get());
        if (found.isEmpty()) {
            return;
        }
        Contact c = found.get();
        if (!c.id.equals(owner.get())) {
            active = active(c.id); // merged into another since the event's owner was read
        }
        Map<String, Object> contact = contactMap(c);
        Instant now = clock.instant();
        for (Journey j : active) {
            WorkflowDefinition w = catalog.get(j.workflow()).orElse(null);
            if (w == null) {
                continue;
            }
            for (WorkflowDefinition.Exit x : w.exits) {
                if (x.event.equals(event.type()) && holds(x.when, contact, event, j.event(), j.id())) {
                    if (x.retarget != null) {
                        jdbc.update("UPDATE journey SET step = ?, next_at = ?, event = ?, key_id = ?, visited = '',"
                                + " updated_at = ? WHERE id = ?", x.retarget, Timestamp.from(now),
                                seal(j.id(), event), cipher.activeKeyId(), Timestamp.from(now), j.id());
                        jdbc.update("DELETE FROM journey_step WHERE journey_id = ? AND outcome = 'waited'", j.id());
                    } else {
                        end(j.id(), EXITED, x.reason, now);
                    }
                    break;
                }
            }
        }
        for (WorkflowDefinition w : triggered) {
            if (holds(w.trigger.when, contact, event, event, null)) {
                start(w, c.id, event, now, contact);
            }
        }
    }

    /**
     * An opt-out or a revocation ends at once the contact's journeys that can no longer send anything: the gate is
     * asked for the journey's purpose and channel with PHI-free content (the least a message can carry), and a
     * journey blocked even so is exited with the gate's reasons - as its next send would have been. A journey that may
     * still send carries on; the gate decides again at every send.
     */
    @org.springframework.context.event.EventListener
    public void consentWithdrawn(ConsentWithdrawn e) {
        Optional<Contact> c = contacts.findById(e.contactId());
        if (c.isEmpty()) {
            return;
        }
        Instant now = clock.instant();
        for (Journey j : active(e.contactId())) {
            WorkflowDefinition w = catalog.get(j.workflow()).orElse(null);
            if (w == null || !limits(e.purpose(), w.purpose) || !limits(e.channel(), w.channel)) {
                continue;
            }
            Decision d = consents.decide(c.get(), new DecisionRequest(w.purpose, w.channel, Decision.PHI_FREE, false,
                    List.of()), "workflow:" + w.id, ConsentService.Stage.PLAN);
            if (!d.allowed()) {
                end(j.id(), EXITED, blocked(d.denials()), now);
            }
        }
    }

    /** The reason a journey the gate blocked ends with; the columns hold 200 characters: a long list is cut. */
    private static String blocked(List<String> reasons) {
        String r = "blocked:" + String.join("+", reasons);
        return r.length() > 200 ? r.substring(0, 200) : r;
    }

    private static boolean limits(String withdrawn, String journeys) {
        return ConsentRecord.ANY.equals(withdrawn) || withdrawn.equals(journeys);
    }

    /** Enters a contact into a workflow, unless it is already in it and the workflow does not allow re-entry. */
    private void start(WorkflowDefinition w, UUID contactId, TriggerEvent event, Instant now) {
        start(w, contactId, event, now, null);
    }

    /**
     * The same; given the contact as the trigger saw it, a workflow that begins by waiting (for a birthday, a day
     * before an appointment) gets its timer and the wait's step record at once, as its first run would have written
     * them: otherwise every new journey is loaded, decrypted and run by the tick only to learn when it is due.
     */
    private void start(WorkflowDefinition w, UUID contactId, TriggerEvent event, Instant now,
            Map<String, Object> contact) {
        // the status is checked here, not in the WHERE: a plan H2 made on an empty table could otherwise pick the
        // status index and scan every active journey for each event
        if (!w.reentry && jdbc.queryForList("SELECT status FROM journey WHERE contact_id = ? AND workflow_id = ?",
                String.class, contactId, w.id).contains(ACTIVE.value())) {
            return;
        }
        UUID id = Ids.next();
        WorkflowDefinition.Step first = w.steps.get(0);
        Instant nextAt = now;
        if (contact != null && "wait".equals(first.kind())) {
            try {
                Instant due = due(first.wait, facts(contact, event, event, Map.<String, UUID>of()), now);
                nextAt = due.isAfter(now) ? due : now;
            } catch (RuntimeException noTime) {
                // left due now: the tick's run ends the journey saying why, or tries again, as for any journey
            }
        }
        jdbc.update("INSERT INTO journey (id, workflow_id, contact_id, status, step, next_at, key_id, event, visited,"
                + " started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?)", id, w.id, contactId, ACTIVE.value(),
                first.id, Timestamp.from(nextAt), cipher.activeKeyId(), seal(id, event), Timestamp.from(now),
                Timestamp.from(now));
        if (nextAt.isAfter(now)) {
            new StepRecord(id, first.id, w.id, "waited", null, Timestamp.from(now)).insert(jdbc);
        }
    }

    // ---- steps ----------------------------------------------------------------------------------------------------

    /**
     * What one run of a journey decided: the step records and the journey's new place, written together in one
     * transaction when the run stops (a wait's record and its timer are never apart). Sends and contact updates
     * commit on their own as they happen - each is repeatable, so a crash before this commit only runs them again to
     * the same effect.
     */
    /** A journey_step row, in the insert's column order. */
    private record StepRecord(UUID journeyId, String step, String workflow, String outcome, UUID messageId,
            Timestamp at) {
        void bind(java.sql.PreparedStatement ps) throws java.sql.SQLException {
            ps.setObject(1, journeyId);
            ps.setString(2, step);
            ps.setString(3, workflow);
            ps.setString(4, outcome);
            ps.setObject(5, messageId);
            ps.setTimestamp(6, at);
        }

        void insert(JdbcTemplate jdbc) {
            jdbc.update(INSERT_STEP, this::bind);
        }
    }

    private static final String INSERT_STEP = "INSERT INTO journey_step (journey_id, step, workflow_id, outcome,"
            + " message_id, at) VALUES (?, ?, ?, ?, ?, ?)";

    private static final class Run {
        final UUID id;
        final String workflow;
        final Instant now;
        final List<StepRecord> records = new ArrayList<>();
        String step;
        Instant nextAt;
        JourneyStatus status = ACTIVE;
        String reason;
        Runnable then;

        Run(UUID id, String workflow, Instant now) {
            this.id = id;
            this.workflow = workflow;
            this.now = now;
        }

        void record(String step, String outcome, UUID messageId) {
            records.add(new StepRecord(id, step, workflow, outcome, messageId, Timestamp.from(now)));
        }

        /** Stops at step {@code at}: active and waiting until {@code next}, or ended with the status and reason. */
        void stop(String at, Instant next, JourneyStatus endStatus, String endReason) {
            step = at;
            nextAt = next;
            status = endStatus;
            reason = endReason;
        }
    }

    /** Runs a due journey's steps until it waits or ends, then stores what the run did in one transaction. */
    void advance(UUID id) {
        Journey j = load(id).orElse(null);
        if (j == null || j.status() != ACTIVE) {
            return;
        }
        Instant now = clock.instant();
        if (consumerGroup() && subscriptions.behind(SUBSCRIBER, j.contactId(), logPartitions.of(j.contactId()))) {
            // the consumer holding the contact's partition has not read all of its events yet: a cancellation logged
            // before this step fell due must still end the journey first, as on one node where events come first
            jdbc.update("UPDATE journey SET next_at = ? WHERE id = ? AND status = ?",
                    Timestamp.from(now.plusSeconds(1)), id, ACTIVE.value());
            return;
        }
        WorkflowDefinition w = catalog.get(j.workflow()).orElse(null);
        // the send path's read: the gate at send time finds this contact decrypted already
        Optional<Contact> found = contacts.findForSend(j.contactId());
        Run run = new Run(id, j.workflow(), now);
        Set<String> visited = new LinkedHashSet<>(j.visited());
        if (w == null || found.isEmpty()) {
            run.stop(j.step(), null, EXITED, w == null ? "workflow-removed" : "contact-gone");
        } else {
            steps(w, j, found.get(), visited, run);
        }
        tx.executeWithoutResult(t -> {
            // the row first, on the version read: a concurrent advance waits for this one's row lock and then finds
            // the version moved (and the other way round), instead of failing on the step records' key
            if (jdbc.update("UPDATE journey SET step = ?, visited = ?, next_at = ?, status = ?, reason = ?,"
                    + " updated_at = ? WHERE id = ? AND status = ? AND updated_at = ?", run.step,
                    String.join(",", visited), run.nextAt == null ? null : Timestamp.from(run.nextAt),
                    run.status.value(), run.reason, Timestamp.from(now), id, ACTIVE.value(),
                    Timestamp.from(j.updatedAt())) == 0) {
                throw new Overtaken();
            }
            if (!run.records.isEmpty()) {
                jdbc.batchUpdate(INSERT_STEP, run.records, run.records.size(), (ps, r) -> r.bind(ps));
            }
            if (run.then != null) {
                run.then.run();
            }
        });
    }

    private void steps(WorkflowDefinition w, Journey j, Contact found, Set<String> visited, Run run) {
        UUID id = j.id();
        Instant now = run.now;
        Map<String, UUID> done = done(id);
        Contact person = found;
        Map<String, Object> contact = contactMap(person);
        String current = j.step();
        for (int guard = 0; guard < MAX_STEPS_PER_RUN; guard++) {
            WorkflowDefinition.Step s = step(w, current);
            if (s == null) {
                run.stop(current, null, COMPLETED, "completed");
                return;
            }
            if (visited.contains(s.id)) {
                // the catalog refuses cycles; a re-targeted or edited workflow must still never repeat a step
                run.stop(current, null, EXITED, "step-repeated:" + s.id);
                return;
            }
            Conditions.Facts facts = facts(contact, j.event(), j.event(), done);
            String next = following(w, s);
            boolean doneBefore = done.containsKey(s.id);
            switch (s.kind()) {
                case "wait" -> {
                    if (!doneBefore) {
                        Instant due;
                        try {
                            due = due(s.wait, facts, now);
                        } catch (IllegalArgumentException noTime) {
                            // the time to wait for is not in the data (a discharge without its time, an appointment
                            // without a start): waiting again a minute later finds it no more - the journey ends,
                            // saying why, instead of failing every minute
                            log.warn("Journey {} ends at wait step {}: {}", id, s.id, noTime.getMessage());
                            run.stop(s.id, null, EXITED, "wait-time-missing:" + s.id);
                            return;
                        }
                        run.record(s.id, "waited", null);
                        if (due.isAfter(now)) {
                            run.stop(s.id, due, ACTIVE, null);
                            return;
                        }
                    }
                }
                case "send" -> {
                    Instant later = postponed(w, person.id, now);
                    if (later != null) {
                        run.stop(s.id, later, ACTIVE, null);
                        return;
                    }
                    UUID messageId = UUID.nameUUIDFromBytes(("journey:" + id + ":" + s.id)
                            .getBytes(StandardCharsets.UTF_8));
                    Map<String, Object> data = new LinkedHashMap<>();
                    s.send.data.forEach((k, v) -> data.put(k, Conditions.evaluate(Conditions.compile(v), facts)));
                    OutboundMessage m = messages.planAs(messageId, new Messages.Request(person.id, s.send.template,
                            s.send.channel != null ? s.send.channel : w.channel, w.purpose, data),
                            "workflow:" + w.id, person);
                    boolean blocked = m.status() == MessageStatus.BLOCKED;
                    String reason = blocked ? blocked(m.reasons()) : "sent";
                    if (!doneBefore) {
                        run.record(s.id, reason, messageId);
                    }
                    if (blocked) {
                        // the gate said no (no authorization, an opt-out, a revocation): nothing further goes
                        visited.add(s.id);
                        run.stop(s.id, null, EXITED, reason);
                        return;
                    }
                }
                case "update" -> {
                    if (!doneBefore) {
                        // repeatable: after a crash before the record, setting the same values again changes nothing
                        Optional<Contact> after = update(w, s, id, person.id, facts);
                        if (after.isPresent()) {
                            person = after.get();
                            contact = contactMap(person);
                        }
                        run.record(s.id, "updated", null);
                    }
                }
                case "branch" -> {
                    next = s.branch.otherwise;
                    for (WorkflowDefinition.Case k : s.branch.cases) {
                        if (Conditions.test(Conditions.compile(k.condition), facts)) {
                            next = k.then;
                            break;
                        }
                    }
                    if (!doneBefore) {
                        run.record(s.id, "branched:" + next, null);
                    }
                }
                case "goto" -> {
                    if (s.go.workflow != null) {
                        if (!doneBefore) {
                            run.record(s.id, "goto:" + s.go.workflow, null);
                        }
                        visited.add(s.id);
                        run.stop(s.id, null, COMPLETED, "goto:" + s.go.workflow);
                        WorkflowDefinition target = catalog.get(s.go.workflow).orElseThrow();
                        UUID contactId = person.id;
                        run.then = () -> start(target, contactId, j.event(), now);
                        return;
                    }
                    next = s.go.step;
                    if (!doneBefore) {
                        run.record(s.id, "goto:" + next, null);
                    }
                }
                case "exit" -> {
                    if (!doneBefore) {
                        run.record(s.id, "exit:" + s.exit.reason, null);
                    }
                    visited.add(s.id);
                    run.stop(s.id, null, COMPLETED, s.exit.reason);
                    return;
                }
                default -> {
                    run.stop(s.id, null, EXITED, "unsupported-step:" + s.kind());
                    return;
                }
            }
            visited.add(s.id);
            current = next;
        }
        // a long run of steps without a wait: keep the place and carry on at the next tick
        run.stop(current, now, ACTIVE, null);
    }

    /**
     * An update step: attributes set (from expressions) or cleared, tags added or removed - through the contact
     * writer, with an audit entry that names what changed but not the values.
     */
    private Optional<Contact> update(WorkflowDefinition w, WorkflowDefinition.Step s, UUID journey, UUID contactId,
            Conditions.Facts facts) {
        WorkflowDefinition.Update u = s.update;
        Map<String, Object> values = new LinkedHashMap<>();
        u.set.forEach((k, v) -> values.put(k, attributeValue(s.id, k,
                Conditions.evaluate(Conditions.compile(v), facts))));
        AuditDraft entry = AuditDraft.of("workflow:" + w.id, Actions.CONTACT_UPDATED).outcome("updated")
                .detail("journey", journey.toString()).detail("step", s.id)
                .detail("attributes", List.copyOf(values.keySet())).detail("cleared", u.clear)
                .detail("tagged", u.tag).detail("untagged", u.untag);
        return writer.amend(contactId, x -> apply(u, values, x), entry);
    }

    /** Applies an update to a contact; true when it changed. Tags are the sorted list attribute {@code tags}. */
    static boolean apply(WorkflowDefinition.Update u, Map<String, Object> values, Contact c) {
        boolean changed = false;
        for (Map.Entry<String, Object> e : values.entrySet()) {
            changed |= e.getValue() == null ? c.attributes.remove(e.getKey()) != null
                    : !java.util.Objects.equals(c.attributes.put(e.getKey(), e.getValue()), e.getValue());
        }
        for (String k : u.clear) {
            changed |= c.attributes.remove(k) != null;
        }
        if (!u.tag.isEmpty() || !u.untag.isEmpty()) {
            Set<String> tags = new java.util.TreeSet<>();
            if (c.attributes.get(WorkflowCatalog.TAGS) instanceof Collection<?> t) {
                t.forEach(x -> tags.add(String.valueOf(x)));
            }
            boolean tagsChanged = tags.addAll(u.tag) | tags.removeAll(u.untag);
            if (tagsChanged) {
                if (tags.isEmpty()) {
                    c.attributes.remove(WorkflowCatalog.TAGS);
                } else {
                    c.attributes.put(WorkflowCatalog.TAGS, new ArrayList<>(tags));
                }
                changed = true;
            }
        }
        return changed;
    }

    /** What an attribute may hold: text, a number, a truth value (times and dates as ISO text); null clears it. */
    private static Object attributeValue(String step, String name, Object v) {
        if (v == null || v instanceof String || v instanceof Number || v instanceof Boolean) {
            return v;
        }
        if (v instanceof java.time.temporal.TemporalAccessor || v instanceof Character) {
            return v.toString();
        }
        // names the step and attribute, never the value
        throw new IllegalArgumentException("step " + step + ": the value for attribute " + name
                + " is not a text, number, truth value or time");
    }

    /** When a wait ends: after a duration, or at a time from the data shifted by an offset, at a local time of day. */
    private Instant due(WorkflowDefinition.Wait wait, Conditions.Facts facts, Instant now) {
        if (wait.duration != null) {
            return now.plus(Durations.parse(wait.duration));
        }
        Instant t = Conditions.Facts.instant(Conditions.evaluate(Conditions.compile(wait.until), facts));
        if (wait.offset != null) {
            t = t.plus(Durations.parse(wait.offset));
        }
        if (wait.at != null) {
            t = t.atZone(zone).toLocalDate().atTime(LocalTime.parse(wait.at)).atZone(zone).toInstant();
        }
        return t;
    }

    /**
     * Frequency cap and quiet hours: when a send may not go now, the time it may; null when it may go now. The cap
     * counts every message of the workflow's purpose to the contact, across workflows and channels.
     */
    private Instant postponed(WorkflowDefinition w, UUID contactId, Instant now) {
        WorkflowProperties.Cap cap = props.frequencyCap().get(w.purpose);
        if (cap != null) {
            for (Map.Entry<Duration, Integer> limit : cap.limits().entrySet()) {
                List<Instant> recent = messages.createdSince(contactId, w.purpose, now.minus(limit.getKey()));
                if (recent.size() >= limit.getValue()) {
                    // the oldest counted message leaves the window then
                    return recent.get(recent.size() - limit.getValue()).plus(limit.getKey()).plusSeconds(1);
                }
            }
        }
        WorkflowProperties.QuietHours q = props.quietHours().get(w.channel);
        if (q != null) {
            LocalTime local = now.atZone(zone).toLocalTime();
            boolean quiet = q.from().isAfter(q.to()) ? !local.isBefore(q.from()) || local.isBefore(q.to())
                    : !local.isBefore(q.from()) && local.isBefore(q.to());
            if (quiet) {
                var end = now.atZone(zone).toLocalDate().atTime(q.to()).atZone(zone);
                return (end.toInstant().isAfter(now) ? end : end.plusDays(1)).toInstant();
            }
        }
        return null;
    }

    // ---- state ----------------------------------------------------------------------------------------------------

    private static WorkflowDefinition.Step step(WorkflowDefinition w, String id) {
        return id == null ? null : w.steps.stream().filter(s -> s.id.equals(id)).findFirst().orElse(null);
    }

    /** The step after {@code s} in file order, or null at the end. */
    private static String following(WorkflowDefinition w, WorkflowDefinition.Step s) {
        int i = w.steps.indexOf(s);
        return i + 1 < w.steps.size() ? w.steps.get(i + 1).id : null;
    }

    /**
     * The steps this journey has already done, each with the message it sent (null for other steps); a re-targeted
     * journey's waits are cleared to wait again.
     */
    private Map<String, UUID> done(UUID journey) {
        Map<String, UUID> out = new java.util.HashMap<>();
        jdbc.query("SELECT step, message_id FROM journey_step WHERE journey_id = ?", rs -> {
            out.put(rs.getString(1), rs.getObject(2, UUID.class));
        }, journey);
        return out;
    }

    private void end(UUID id, JourneyStatus status, String reason, Instant now) {
        jdbc.update("UPDATE journey SET status = ?, reason = ?, next_at = NULL, updated_at = ? WHERE id = ?"
                + " AND status = ?", status.value(), reason, Timestamp.from(now), id, ACTIVE.value());
    }

    /** A contact's active journeys (by the contact index alone, see {@link #start}). */
    private List<Journey> active(UUID contactId) {
        List<Journey> out = new ArrayList<>();
        jdbc.query("SELECT " + COLUMNS + " FROM journey WHERE contact_id = ?", rs -> {
                    if (ACTIVE.value().equals(rs.getString(4))) {
                        out.add(row(rs));
                    }
                }, contactId);
        return out;
    }

    private Optional<Journey> load(UUID id) {
        return jdbc.query("SELECT " + COLUMNS + " FROM journey WHERE id = ?", (rs, i) -> row(rs), id).stream()
                .findFirst();
    }

    /** What {@link #row} reads, in its order. */
    private static final String COLUMNS = "id, workflow_id, contact_id, status, step, key_id, event, visited, updated_at";

    private Journey row(java.sql.ResultSet rs) throws java.sql.SQLException {
        UUID id = rs.getObject(1, UUID.class);
        String visited = rs.getString(8);
        return new Journey(id, rs.getString(2), rs.getObject(3, UUID.class), JourneyStatus.of(rs.getString(4)),
                rs.getString(5),
                readEvent(cipher.open(rs.getString(6), rs.getBytes(7), "journey:" + id)),
                visited == null || visited.isEmpty() ? Set.of() : new HashSet<>(Arrays.asList(visited.split(","))),
                rs.getTimestamp(9).toInstant());
    }

    private byte[] seal(UUID journeyId, TriggerEvent event) {
        try {
            return cipher.seal(json.writeValueAsBytes(event), "journey:" + journeyId);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot write an event", e);
        }
    }

    private TriggerEvent readEvent(byte[] bytes) {
        try {
            return json.readValue(bytes, TriggerEvent.class);
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot read an event", e);
        }
    }

    // ---- facts ----------------------------------------------------------------------------------------------------

    /** A condition that cannot be evaluated for this data (a value of the wrong kind) does not hold. */
    private boolean holds(String when, Map<String, Object> contact, TriggerEvent event, TriggerEvent journeyEvent,
            UUID journeyId) {
        try {
            return when == null || Conditions.test(Conditions.compile(when), facts(contact, event, journeyEvent,
                    journeyId));
        } catch (IllegalArgumentException e) {
            log.warn("A workflow condition could not be evaluated for event {} ({}); it does not hold", event.id(),
                    e.getMessage());
            return false;
        }
    }

    private Conditions.Facts facts(Map<String, Object> contact, TriggerEvent event, TriggerEvent journeyEvent,
            UUID journeyId) {
        return facts(contact, event, journeyEvent, step -> journeyId == null ? null : jdbc.queryForList(
                "SELECT message_id FROM journey_step WHERE journey_id = ? AND step = ? AND message_id IS NOT NULL",
                UUID.class, journeyId, step).stream().findFirst().orElse(null));
    }

    private Conditions.Facts facts(Map<String, Object> contact, TriggerEvent event, TriggerEvent journeyEvent,
            Map<String, UUID> done) {
        return facts(contact, event, journeyEvent, done::get);
    }

    /** @param messageOf the message a step of the journey sent, or null */
    private Conditions.Facts facts(Map<String, Object> contact, TriggerEvent event, TriggerEvent journeyEvent,
            java.util.function.Function<String, UUID> messageOf) {
        Map<String, Object> e = eventMap(event);
        Map<String, Object> je = journeyEvent == event ? e : eventMap(journeyEvent);
        Set<String> codes = new HashSet<>(codes(event));
        codes.addAll(codes(journeyEvent));
        if (contact.get("attributes") instanceof Map<?, ?> a && a.get("codes") instanceof Collection<?> cs) {
            cs.forEach(x -> codes.add(String.valueOf(x)));
        }
        return new Conditions.Facts(contact, e, je, clock.instant(), zone, Collections.unmodifiableSet(codes),
                (step, what) -> {
                    UUID m = messageOf.apply(step);
                    return m != null && messages.engaged(m, what);
                });
    }

    /** Diagnosis and result codes an event carries (data {@code codes}: a list or one). */
    private static List<String> codes(TriggerEvent e) {
        Object v = e == null || e.data() == null ? null : e.data().get("codes");
        List<String> out = new ArrayList<>();
        if (v instanceof Collection<?> c) {
            c.forEach(x -> out.add(String.valueOf(x)));
        } else if (v != null) {
            out.add(String.valueOf(v));
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> contactMap(Contact c) {
        return Collections.unmodifiableMap(json.convertValue(c, Map.class));
    }

    private static Map<String, Object> eventMap(TriggerEvent e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", e.type());
        m.put("occurredAt", e.occurredAt() == null ? null : e.occurredAt().toString());
        m.put("data", e.data() == null ? Map.of() : Collections.unmodifiableMap(e.data()));
        return Collections.unmodifiableMap(m);
    }
}
