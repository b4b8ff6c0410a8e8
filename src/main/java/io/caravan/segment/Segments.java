package io.caravan.segment;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.contact.ContactWriter;
import io.caravan.contact.TriggerEvent;
import io.caravan.crypto.FieldCipher;
import io.caravan.mapping.MappingProperties;
import io.caravan.system.Ids;
import io.caravan.system.Problems;
import io.caravan.workflow.Conditions;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.event.EventListener;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.expression.Expression;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Segments and their membership. Evaluation reads the {@link AttributeIndex} in memory only. Membership is kept in
 * {@code segment_member}: the index subscriber re-tests a contact's segments after each of its events, and a new or
 * changed definition is evaluated over everyone; each change of membership raises {@code segment.entered} or
 * {@code segment.exited} on the event log (data {@code segment}: the id), in the transaction that records it, so
 * workflows can start or end journeys on them. A segment's first evaluation is its baseline: its members at that
 * moment raise no events (a new segment over a million contacts would otherwise start a million journeys at once).
 */
@Service
public class Segments implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(Segments.class);
    public static final String ENTERED = "segment.entered";
    public static final String EXITED = "segment.exited";
    private static final int BATCH = 500;

    /** A definition with where it comes from. */
    public record Defined(SegmentDefinition definition, String source) {
    }

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;
    private final FieldCipher cipher;
    private final ContactWriter writer;
    private final SegmentCatalog catalog;
    private final AttributeIndex index;
    private final SegmentProperties props;
    private final ObjectMapper json;
    private final Clock clock;
    private final ZoneId zone;
    private final ObjectProvider<SegmentFacts.Outside> outside;
    private final io.caravan.contact.ContactStore contacts;
    /** Membership changes one at a time: a contact's re-test and a full evaluation never interleave. */
    private final ReentrantLock membership = new ReentrantLock();
    private final Map<String, SegmentDefinition> stored = new ConcurrentHashMap<>();
    private volatile boolean running;
    /** Several nodes (profile cluster, or the event log on Kafka): each refreshes its index from the others' rows. */
    private final boolean severalNodes;
    private final IndexRefresh refresh;
    private volatile io.caravan.system.Worker refresher;

    public Segments(JdbcTemplate jdbc, TransactionTemplate tx, FieldCipher cipher, ContactWriter writer,
            SegmentCatalog catalog, AttributeIndex index, SegmentProperties props, ObjectMapper json, Clock clock,
            MappingProperties mapping, ObjectProvider<SegmentFacts.Outside> outside,
            io.caravan.contact.ContactStore contacts,
            @org.springframework.beans.factory.annotation.Value("${caravan.cluster.enabled:false}") boolean cluster,
            @org.springframework.beans.factory.annotation.Value("${caravan.event-log.kafka.bootstrap-servers:}")
            String kafka) {
        this.contacts = contacts;
        this.severalNodes = severalNodes(cluster, kafka);
        this.refresh = new IndexRefresh(jdbc, index, this::open, props.refreshOverlap());
        this.jdbc = jdbc;
        this.tx = tx;
        this.cipher = cipher;
        this.writer = writer;
        this.catalog = catalog;
        this.index = index;
        this.props = props;
        this.json = json;
        this.clock = clock;
        this.zone = ZoneId.of(mapping.timeZone());
        this.outside = outside;
    }

    /** Whether the hub runs as one of several nodes on one database (README "Several nodes"). */
    static boolean severalNodes(boolean cluster, String kafkaBootstrapServers) {
        return cluster || (kafkaBootstrapServers != null && !kafkaBootstrapServers.isBlank());
    }

    // ---- start: the index from its sealed rows ------------------------------------------------------------------

    /** Reads the sealed index rows into memory before the event pump (which keeps them current) starts. */
    @Override
    public void start() {
        long t0 = System.nanoTime();
        long[] highest = {0};
        jdbc.query("SELECT contact_id, key_id, payload, change_seq FROM segment_attribute", rs -> {
            UUID id = rs.getObject(1, UUID.class);
            long change = rs.getLong(4);
            highest[0] = Math.max(highest[0], change);
            index.put(id, open(id, rs.getString(2), rs.getBytes(3)), change);
        });
        refresh.loaded(highest[0]);
        readDefinitions(null);
        running = true;
        log.info("Attribute index loaded: {} contacts in {} ms", index.size(),
                (System.nanoTime() - t0) / 1_000_000);
    }

    /**
     * Contacts on file without an index row (a hub upgraded to segments, or a row lost) are indexed from their record
     * and their events, once, on a background thread; then changed segments are evaluated.
     */
    @EventListener(ApplicationReadyEvent.class)
    void ready() {
        backfiller = io.caravan.system.Worker.start("caravan-segment-backfill", true, () -> {
            try {
                int n = backfill();
                if (n > 0) {
                    log.info("Attribute index backfilled: {} contacts", n);
                }
                evaluateChanged();
            } catch (RuntimeException e) {
                log.error("Segment start-up work failed ({}); it runs again at the next start",
                        e.getClass().getSimpleName());
            }
        });
    }

    private volatile io.caravan.system.Worker backfiller;

    /** On several nodes, from ready: the other nodes' index rows and segment definitions, every refresh-interval. */
    @EventListener(ApplicationReadyEvent.class)
    void refreshFromOtherNodes() {
        if (!severalNodes) {
            return;
        }
        long every = props.refreshInterval().toMillis();
        refresher = io.caravan.system.Worker.start("caravan-segment-refresh", true, () -> {
            boolean failing = false;
            while (running) {
                try {
                    refresh();
                    if (failing) {
                        log.info("Segment index refresh works again");
                        failing = false;
                    }
                } catch (RuntimeException e) {
                    // the database away for a moment: the next read takes up from the same watermark (one line per
                    // outage, not one a second)
                    if (!failing) {
                        log.warn("Segment index refresh failed ({}); trying again every {} ms",
                                e.getClass().getSimpleName(), every);
                        failing = true;
                    }
                }
                try {
                    Thread.sleep(every);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
    }

    /** One read of the rows and definitions other nodes changed. */
    void refresh() {
        IndexRefresh.Result r = refresh.refresh();
        if (r.full() || r.put() > 0 || r.removed() > 0) {
            log.debug("Segment index refreshed: {} changes read, {} rows put, {} removed{}", r.read(), r.put(),
                    r.removed(), r.full() ? " (full pass)" : "");
        }
        if (r.full()) {
            // tombstones only bridge the moments between reads; a node away for an hour has been restarted
            jdbc.update("DELETE FROM segment_attribute_gone WHERE gone_at < ?",
                    Timestamp.from(clock.instant().minus(java.time.Duration.ofHours(1))));
        }
        readDefinitions(null);
    }

    /** Reads the API's definitions (all, or the one named {@code id}) into memory; the last one read, or null. */
    private SegmentDefinition readDefinitions(String id) {
        SegmentDefinition[] last = {null};
        jdbc.query("SELECT id, description, purpose, expression FROM segment_definition"
                + (id == null ? "" : " WHERE id = ?"), rs -> {
                    SegmentDefinition d = new SegmentDefinition(rs.getString(1), rs.getString(2), rs.getString(3),
                            rs.getString(4));
                    stored.put(d.id, d);
                    last[0] = d;
                }, id == null ? new Object[0] : new Object[] {id});
        return last[0];
    }

    /** Indexes every contact the index does not hold; how many. Each in a transaction, as the subscriber does. */
    int backfill() {
        int n = 0;
        UUID after = null;
        List<UUID> page;
        do {
            page = contacts.contactIds(after, 1000);
            for (UUID id : page) {
                if (!running || Thread.currentThread().isInterrupted()) {
                    return n;
                }
                if (index.contains(id)) {
                    continue;
                }
                Boolean done;
                try {
                    done = tx.execute(st -> {
                        hold();
                        // the subscriber may have indexed it meanwhile
                        if (stored(id) != null) {
                            return false;
                        }
                        Optional<io.caravan.contact.Contact> c = contacts.findById(id);
                        if (c.isEmpty() || !c.get().id.equals(id)) {
                            return false;
                        }
                        IndexedAttributes a = IndexedAttributes.after(null, c.get(), null);
                        for (TriggerEvent e : contacts.events(id)) {
                            a = IndexedAttributes.after(a, c.get(), e);
                        }
                        indexed(id, null, a);
                        return true;
                    });
                } catch (IllegalStateException e) {
                    if (!(e.getCause() instanceof DuplicateKeyException)) {
                        throw e;
                    }
                    // another node of a cluster, backfilling at the same start, stored this contact's row first:
                    // its row stands, and this node's memory takes it in
                    IndexedAttributes theirs = stored(id);
                    if (theirs != null) {
                        index.put(id, theirs);
                    }
                    done = false;
                }
                n += Boolean.TRUE.equals(done) ? 1 : 0;
            }
            after = page.isEmpty() ? after : page.get(page.size() - 1);
        } while (page.size() == 1000);
        return n;
    }

    /** Segments whose definition changed since their membership was evaluated are evaluated again. */
    void evaluateChanged() {
        Map<String, String> evaluated = new java.util.HashMap<>();
        jdbc.query("SELECT segment_id, expression FROM segment_state", rs -> {
            evaluated.put(rs.getString(1), rs.getString(2));
        });
        for (Defined d : all()) {
            if (!d.definition().when.equals(evaluated.get(d.definition().id))) {
                try {
                    reevaluate(d.definition());
                } catch (DuplicateKeyException e) {
                    // another node of a cluster evaluated it at the same start and committed first; its membership
                    // (and its events, in the same transactions) stand, this node's were rolled back
                    log.info("Segment {} was evaluated by another node meanwhile", d.definition().id);
                }
            }
        }
    }

    @Override
    public void stop() {
        running = false;
        if (backfiller != null) {
            // not interrupted first: it works inside H2, which closes its file on an interrupt
            backfiller.stop(java.time.Duration.ofSeconds(10), false);
        }
        if (refresher != null) {
            refresher.stop(java.time.Duration.ofSeconds(10), false);
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    /** After the contact writer, before the event pump ({@code Integer.MIN_VALUE + 1100}). */
    @Override
    public int getPhase() {
        return Integer.MIN_VALUE + 1050;
    }

    // ---- definitions ----------------------------------------------------------------------------------------------

    public List<Defined> all() {
        List<Defined> out = new ArrayList<>();
        catalog.files().values().forEach(d -> out.add(new Defined(d, "file")));
        stored.values().stream().filter(d -> !catalog.files().containsKey(d.id))
                .sorted(java.util.Comparator.comparing(d -> d.id)).forEach(d -> out.add(new Defined(d, "api")));
        return out;
    }

    public Optional<Defined> find(String id) {
        SegmentDefinition f = catalog.files().get(id);
        if (f != null) {
            return Optional.of(new Defined(f, "file"));
        }
        SegmentDefinition d = stored.get(id);
        if (d == null && severalNodes) {
            // defined through another node's API since this node's last refresh (a campaign started there, run
            // here by the campaigns' singleton a moment later)
            d = readDefinitions(id);
        }
        return Optional.ofNullable(d).map(x -> new Defined(x, "api"));
    }

    /**
     * Defines or redefines a segment through the API, checked as a file's is, then evaluates it over everyone.
     * Returns whether it was new. A segment of a file cannot be changed here (its file is the source of truth).
     */
    public boolean define(SegmentDefinition d) {
        catalog.require(d);
        if (catalog.files().containsKey(d.id)) {
            throw new Problems.Conflict("segment " + d.id + " is defined in a file");
        }
        Instant now = clock.instant();
        boolean created = tx.execute(st -> {
            int n = jdbc.update("UPDATE segment_definition SET description = ?, purpose = ?, expression = ?,"
                    + " updated_at = ? WHERE id = ?", d.description, d.purpose, d.when, Timestamp.from(now), d.id);
            if (n == 0) {
                jdbc.update("INSERT INTO segment_definition (id, description, purpose, expression, updated_at)"
                        + " VALUES (?, ?, ?, ?, ?)", d.id, d.description, d.purpose, d.when, Timestamp.from(now));
            }
            return n == 0;
        });
        stored.put(d.id, d);
        reevaluate(d);
        return created;
    }

    // ---- evaluation ---------------------------------------------------------------------------------------------

    LocalDate today() {
        return LocalDate.ofInstant(clock.instant(), zone);
    }

    private SegmentFacts.Outside outside() {
        SegmentFacts.Outside o = outsideBean;
        if (o == null) {
            // resolved once it exists: asking the bean factory for every event the index reads cost about a tenth of
            // the index's time
            o = outside.getIfAvailable();
            outsideBean = o;
        }
        return o == null ? SegmentFacts.Outside.NONE : o.fresh();
    }

    private volatile SegmentFacts.Outside outsideBean;

    /** How many contacts the expression selects now. */
    public long count(String when) {
        return index.evaluate(Conditions.compile(when), today(), outside(), props.threads(), id -> {
        });
    }

    /** The count and up to {@code caravan.segments.sample} contact ids the expression selects now. */
    public Map<String, Object> preview(String when, String purpose) {
        List<SegmentCatalog.Problem> p = catalog.checkExpression(when, purpose == null ? "treatment" : purpose);
        if (!p.isEmpty()) {
            throw new SegmentCatalog.Invalid(p);
        }
        Set<UUID> sample = ConcurrentHashMap.newKeySet();
        int max = props.sample();
        long n = index.evaluate(Conditions.compile(when), today(), outside(), props.threads(), id -> {
            if (sample.size() < max) {
                sample.add(id);
            }
        });
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("count", n);
        out.put("sample", sample.stream().limit(max).map(UUID::toString).sorted().toList());
        return out;
    }

    /**
     * The segment's members now, evaluated on the index, handed to {@code each} one at a time on the calling thread,
     * in index order (a campaign snapshots its recipients this way). Returns how many.
     */
    public long members(String segmentId, Consumer<UUID> each) {
        SegmentDefinition d = find(segmentId).orElseThrow(() -> new Problems.NotFound("no segment " + segmentId))
                .definition();
        return index.evaluate(Conditions.compile(d.when), today(), outside(), 1, each);
    }

    /**
     * Evaluates a segment over everyone and records the difference to its stored membership, raising the events
     * (none on its first evaluation: the baseline). Idempotent: after a crash half-way it is run again at start.
     */
    public void reevaluate(SegmentDefinition d) {
        membership.lock();
        try {
            long t0 = System.nanoTime();
            boolean baseline = jdbc.queryForList("SELECT segment_id FROM segment_state WHERE segment_id = ?",
                    String.class, d.id).isEmpty();
            Set<UUID> now = ConcurrentHashMap.newKeySet();
            index.evaluate(Conditions.compile(d.when), today(), outside(), props.threads(), now::add);
            Set<UUID> before = new HashSet<>();
            jdbc.query("SELECT contact_id FROM segment_member WHERE segment_id = ?", rs -> {
                before.add(rs.getObject(1, UUID.class));
            }, d.id);
            List<UUID> entered = now.stream().filter(id -> !before.contains(id)).toList();
            List<UUID> exited = before.stream().filter(id -> !now.contains(id)).toList();
            Instant at = clock.instant();
            for (int i = 0; i < entered.size(); i += BATCH) {
                List<UUID> chunk = entered.subList(i, Math.min(entered.size(), i + BATCH));
                tx.executeWithoutResult(st -> changed(d.id, chunk, List.of(), at, !baseline));
            }
            for (int i = 0; i < exited.size(); i += BATCH) {
                List<UUID> chunk = exited.subList(i, Math.min(exited.size(), i + BATCH));
                tx.executeWithoutResult(st -> changed(d.id, List.of(), chunk, at, !baseline));
            }
            tx.executeWithoutResult(st -> {
                if (jdbc.update("UPDATE segment_state SET expression = ?, evaluated_at = ? WHERE segment_id = ?",
                        d.when, Timestamp.from(at), d.id) == 0) {
                    jdbc.update("INSERT INTO segment_state (segment_id, expression, evaluated_at) VALUES (?, ?, ?)",
                            d.id, d.when, Timestamp.from(at));
                }
            });
            log.info("Segment {} evaluated: {} members, {} entered, {} exited{} in {} ms", d.id, now.size(),
                    entered.size(), exited.size(), baseline ? " (baseline, no events)" : "",
                    (System.nanoTime() - t0) / 1_000_000);
        } finally {
            membership.unlock();
        }
    }

    /** Records membership changes and (unless a baseline) raises their events, in the caller's transaction. */
    private void changed(String segment, List<UUID> entered, List<UUID> exited, Instant at, boolean events) {
        if (!entered.isEmpty()) {
            jdbc.batchUpdate("INSERT INTO segment_member (segment_id, contact_id, since) VALUES (?, ?, ?)", entered,
                    entered.size(), (ps, id) -> {
                        ps.setString(1, segment);
                        ps.setObject(2, id);
                        ps.setTimestamp(3, Timestamp.from(at));
                    });
        }
        if (!exited.isEmpty()) {
            jdbc.batchUpdate("DELETE FROM segment_member WHERE segment_id = ? AND contact_id = ?", exited,
                    exited.size(), (ps, id) -> {
                        ps.setString(1, segment);
                        ps.setObject(2, id);
                    });
        }
        if (events) {
            List<Map.Entry<UUID, TriggerEvent>> raised = new ArrayList<>();
            OffsetDateTime when = at.atZone(zone).toOffsetDateTime();
            entered.forEach(id -> raised.add(Map.entry(id, event(ENTERED, segment, when))));
            exited.forEach(id -> raised.add(Map.entry(id, event(EXITED, segment, when))));
            writer.appendEvents(raised);
        }
    }

    private static TriggerEvent event(String type, String segment, OffsetDateTime at) {
        return new TriggerEvent(Ids.next(), type, at, new TriggerEvent.Source("segment", null, "segment/" + segment),
                Map.of("segment", segment));
    }

    // ---- one contact, from the index subscriber -------------------------------------------------------------------

    /**
     * In the index subscriber's transaction: the contact's new attributes are stored sealed and put in memory (taken
     * back if the transaction rolls back), and each evaluated segment is tested again for it. The membership lock is
     * taken first - before this transaction writes anything, so a full evaluation holding it never waits for this
     * one's row locks - and held until the transaction ends.
     */
    void indexed(UUID contactId, IndexedAttributes before, IndexedAttributes after) {
        hold();
        Run run = run();
        // most events leave the row as it was (a day's facts, codes already known): nothing to seal and write, but
        // the segments are still evaluated - engagement and journey facts live outside the row. On several nodes the
        // row is written all the same: its new change number is what brings a lagging node's memory up to date
        if (severalNodes || !after.equals(before) || !index.contains(contactId)) {
            stored(contactId, before, after, run);
        }
        evaluate(contactId, run);
    }

    private void stored(UUID contactId, IndexedAttributes before, IndexedAttributes after, Run run) {
        long prior = index.version(contactId);
        index.put(contactId, after, storeRow(contactId, after));
        // a run of events may touch one contact several times: a rollback puts back what it held before the first
        if (run.touched.add(contactId)) {
            TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {
                @Override
                public void afterCompletion(int status) {
                    if (status != STATUS_COMMITTED) {
                        if (before == null) {
                            index.remove(contactId);
                        } else {
                            index.put(contactId, before, Math.max(prior, 0));
                        }
                    }
                }
            });
        }
    }

    private void evaluate(UUID contactId, Run run) {
        Set<String> evaluated = evaluated(run);
        if (evaluated.isEmpty()) {
            return;
        }
        Set<String> memberOf = run.members.get(contactId);
        if (memberOf == null) {
            memberOf = new HashSet<>(jdbc.queryForList(
                    "SELECT segment_id FROM segment_member WHERE contact_id = ?", String.class, contactId));
            if (!severalNodes) {
                run.members.put(contactId, memberOf);
            }
        }
        LocalDate today = today();
        SegmentFacts.Outside o = run.outside;
        Instant at = clock.instant();
        for (Defined d : all()) {
            String id = d.definition().id;
            if (!evaluated.contains(id)) {
                continue;
            }
            boolean is = index.matches(Conditions.compile(d.definition().when), contactId, today, o);
            if (is && !memberOf.contains(id)) {
                changed(id, List.of(contactId), List.of(), at, true);
                memberOf.add(id);
            } else if (!is && memberOf.contains(id)) {
                changed(id, List.of(), List.of(contactId), at, true);
                memberOf.remove(id);
            }
        }
    }

    /** The segments evaluated so far (those whose membership is kept), read once a run with the run's outside facts. */
    private Set<String> evaluated(Run run) {
        if (run.evaluated == null) {
            run.evaluated = new HashSet<>(jdbc.queryForList("SELECT segment_id FROM segment_state", String.class));
            run.outside = outside();
        }
        return run.evaluated;
    }

    /** A contact merged into another: forgotten by the index and its segments, without events (it is gone). */
    void forget(UUID contactId) {
        hold();
        if (jdbc.update("DELETE FROM segment_attribute WHERE contact_id = ?", contactId) > 0 && severalNodes) {
            jdbc.update("INSERT INTO segment_attribute_gone (change_seq, contact_id, gone_at)"
                    + " VALUES (nextval('segment_attribute_change'), ?, ?)", contactId,
                    Timestamp.from(clock.instant()));
        }
        jdbc.update("DELETE FROM segment_member WHERE contact_id = ?", contactId);
        run().members.put(contactId, new HashSet<>());
        TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {
            @Override
            public void afterCompletion(int status) {
                if (status == STATUS_COMMITTED) {
                    index.remove(contactId);
                }
            }
        });
    }

    /**
     * What the index subscriber's transaction - a run of events - has read and touched so far: a resource bound to
     * it, gone when it ends. The evaluated segments and the journey and engagement facts are read once per run, not
     * once per event (each fact is a set over every contact): the membership lock held for the run keeps the former
     * still, and the engagement an event of the run reports was recorded before the run was read.
     */
    private static final class Run {
        final Set<UUID> touched = new HashSet<>();
        /**
         * The segments each contact of the run belongs to, on one node: read once (for a run's contacts together, see
         * {@link #readMemberships}) and kept as the run changes them. Only this run changes them while it holds the
         * membership lock (a merge deletes only the merged-away record's, which is no longer read once it commits).
         */
        final Map<UUID, Set<String>> members = new java.util.HashMap<>();
        Set<String> evaluated;
        SegmentFacts.Outside outside;
    }

    private Run run() {
        Run r = (Run) TransactionSynchronizationManager.getResource(RUN);
        if (r == null) {
            r = new Run();
            TransactionSynchronizationManager.bindResource(RUN, r);
            TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {
                @Override
                public void afterCompletion(int status) {
                    TransactionSynchronizationManager.unbindResourceIfPossible(RUN);
                }
            });
        }
        return r;
    }

    private static final Object RUN = new Object();

    /** Takes the membership lock for the rest of the current transaction (once per transaction). */
    private void hold() {
        if (membership.isHeldByCurrentThread()) {
            return;
        }
        membership.lock();
        TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {
            @Override
            public void afterCompletion(int status) {
                membership.unlock();
            }
        });
    }

    /**
     * In the index subscriber's transaction, before a run's events: the segments these contacts belong to, in one
     * query for the run instead of one for each event. Takes the membership lock first, as {@link #indexed} does, so
     * what is read stays true for the run.
     */
    void readMemberships(java.util.Collection<UUID> contactIds) {
        hold();
        Run run = run();
        if (severalNodes || evaluated(run).isEmpty()) {
            // on several nodes another node's evaluation can change them meanwhile: read at each event
            return;
        }
        List<UUID> unread = contactIds.stream().distinct().filter(id -> !run.members.containsKey(id)).toList();
        for (int i = 0; i < unread.size(); i += BATCH) {
            List<UUID> chunk = unread.subList(i, Math.min(unread.size(), i + BATCH));
            chunk.forEach(id -> run.members.put(id, new HashSet<>()));
            jdbc.query("SELECT contact_id, segment_id FROM segment_member WHERE contact_id IN ("
                    + "?,".repeat(chunk.size() - 1) + "?)", rs -> {
                        run.members.get(rs.getObject(1, UUID.class)).add(rs.getString(2));
                    }, chunk.toArray());
        }
    }

    /**
     * The contact's attributes as the index holds them, or null. On one node from memory when it holds the contact:
     * every change of a row is this process's and reaches memory in its transaction, so the row need not be read and
     * decrypted. From the row when memory does not hold it (never indexed, or taken out by a merge that has not
     * committed or rolled back: the row keeps its history), and always on several nodes (another node may have
     * written it since this node's last refresh).
     */
    IndexedAttributes current(UUID contactId) {
        if (severalNodes) {
            return stored(contactId);
        }
        IndexedAttributes held = index.attributes(contactId);
        return held != null ? held : stored(contactId);
    }

    /** The contact's attributes as stored, or null. */
    IndexedAttributes stored(UUID contactId) {
        return jdbc.query("SELECT key_id, payload FROM segment_attribute WHERE contact_id = ?",
                (rs, n) -> open(contactId, rs.getString(1), rs.getBytes(2)), contactId).stream().findFirst()
                .orElse(null);
    }

    /**
     * Stores the row; the number of its change (on several nodes, from the sequence the other nodes read by; 0 on one
     * node, which nobody else reads after).
     */
    private long storeRow(UUID contactId, IndexedAttributes a) {
        byte[] sealed;
        try {
            sealed = cipher.seal(json.writeValueAsBytes(a), aad(contactId));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot write index attributes", e);
        }
        Timestamp now = Timestamp.from(clock.instant());
        if (severalNodes) {
            return storeNumberedRow(contactId, sealed, now);
        }
        if (jdbc.update("UPDATE segment_attribute SET key_id = ?, payload = ?, updated_at = ? WHERE contact_id = ?",
                cipher.activeKeyId(), sealed, now, contactId) == 0) {
            try {
                jdbc.update("INSERT INTO segment_attribute (contact_id, key_id, payload, updated_at) VALUES (?, ?, ?, ?)",
                        contactId, cipher.activeKeyId(), sealed, now);
            } catch (DuplicateKeyException e) {
                throw new IllegalStateException("index row written concurrently", e);
            }
        }
        return 0;
    }

    private long storeNumberedRow(UUID contactId, byte[] sealed, Timestamp now) {
        long change = jdbc.queryForObject("SELECT nextval('segment_attribute_change')", Long.class);
        if (jdbc.update("UPDATE segment_attribute SET key_id = ?, payload = ?, updated_at = ?, change_seq = ?"
                + " WHERE contact_id = ?", cipher.activeKeyId(), sealed, now, change, contactId) == 0) {
            try {
                jdbc.update("INSERT INTO segment_attribute (contact_id, key_id, payload, updated_at, change_seq)"
                        + " VALUES (?, ?, ?, ?, ?)", contactId, cipher.activeKeyId(), sealed, now, change);
            } catch (DuplicateKeyException e) {
                throw new IllegalStateException("index row written concurrently", e);
            }
        }
        return change;
    }

    private IndexedAttributes open(UUID contactId, String keyId, byte[] payload) {
        try {
            return json.readValue(cipher.open(keyId, payload, aad(contactId)), IndexedAttributes.class);
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot read index attributes", e);
        }
    }

    private static String aad(UUID contactId) {
        return "segment-attribute:" + contactId;
    }
}
