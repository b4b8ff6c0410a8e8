package io.caravan.contact;

import io.caravan.audit.Actions;
import io.caravan.audit.AuditDraft;
import io.caravan.audit.AuditLog;
import io.caravan.crypto.FieldCipher;
import io.caravan.system.GroupCommitter;
import io.caravan.system.HubProperties;
import io.caravan.system.Ids;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * The one writer of contacts, identifiers, events and inbound messages: group commit.
 *
 * <p>Receiving threads submit fully prepared messages and wait; this thread takes whatever has queued up (one message
 * on an idle hub, dozens under load), reconciles them against the store in a handful of set-based statements, and
 * commits them in one transaction. Each submitter's future completes only after that commit, so an ACK never precedes
 * durability, and the dedupe key is committed with the data it guards. A batch that fails is retried one message at a
 * time so one bad message cannot fail its neighbours.
 */
@Component
public class ContactWriter implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(ContactWriter.class);
    private static final int MAX_BATCH = 256;
    private static final int MAX_APPLY_BATCH = 2000;
    private static final int IN_CHUNK = 200;
    private static final long CHECKPOINT_MILLIS = 10_000;
    static final String IDENTIFIER_DOMAIN = "identifier";
    private static final HexFormat HEX = HexFormat.of();

    /** What happened to a submitted message. */
    public enum Outcome { PROCESSED, DUPLICATE, IGNORED, FAILED_STORED }

    /** The caller's statements that commit with an event it appends ({@link #appendEvent}). */
    public interface RowsWithEvent {
        void write(Connection c, UUID contactId) throws SQLException;
    }

    /**
     * Rows of another package keyed by contact that follow an A40 merge to the survivor, in the merge's transaction
     * (consent records, which must be re-MACed for their new contact rather than re-pointed by a bare UPDATE).
     */
    public interface MergeFollower {
        /** {@code mergedInto}: merged-away contact id to survivor id. */
        void merged(Connection c, Map<UUID, UUID> mergedInto) throws SQLException;
    }

    private record Journaled(long seq, InboundMessage message) {
    }

    private final DataSource dataSource;
    private final FieldCipher cipher;
    private final StoreProperties props;
    private final Path journalDir;
    /** The sources that read a journaled message again after a crash, by the kind recorded with it. */
    private final ObjectProvider<IntakeSource> sources;
    private final ObjectProvider<MergeFollower> mergeFollowers;
    private final AuditLog audit;
    private final LogPartitions logPartitions;
    /** How far ahead of its receipt a message's event time is still trusted to order changes. */
    private final java.time.Duration maxFutureSkew;
    /** One queue per writer; a patient's messages always go to the same one, so they are applied in order. */
    private GroupCommitter<InboundMessage, Outcome> writers;
    /** Journal mode: applies what the journal holds to the database, in large groups, behind the ACKs. */
    private GroupCommitter<Journaled, Void> applier;
    private final ReentrantLock appliedLock = new ReentrantLock();
    private final Condition appliedAdvanced = appliedLock.newCondition();
    private volatile long appliedSeq;
    private volatile boolean running;
    private Journal journal;
    /** The applier thread's checkpoint schedule. */
    private long lastCheckpoint;
    private long checkpointed;

    /** Whether a reader wants {@code contact.changed} entries (see {@link LoggedKinds}); decided at start. */
    private final ObjectProvider<LoggedKinds> loggedKinds;
    private volatile boolean logChanges;

    public ContactWriter(DataSource dataSource, FieldCipher cipher, StoreProperties props, HubProperties hub,
            ObjectProvider<IntakeSource> sources, AuditLog audit, ObjectProvider<MergeFollower> mergeFollowers,
            LogPartitions logPartitions) {
        this(dataSource, cipher, props, hub, sources, audit, mergeFollowers, logPartitions, null);
    }

    @org.springframework.beans.factory.annotation.Autowired
    public ContactWriter(DataSource dataSource, FieldCipher cipher, StoreProperties props, HubProperties hub,
            ObjectProvider<IntakeSource> sources, AuditLog audit, ObjectProvider<MergeFollower> mergeFollowers,
            LogPartitions logPartitions, ObjectProvider<LoggedKinds> loggedKinds) {
        this.loggedKinds = loggedKinds;
        this.dataSource = dataSource;
        this.cipher = cipher;
        this.props = props;
        this.journalDir = props.journal().dir() != null ? props.journal().dir() : hub.dataDir().resolve("journal");
        this.sources = sources;
        this.mergeFollowers = mergeFollowers;
        this.audit = audit;
        this.logPartitions = logPartitions;
        this.maxFutureSkew = props.maxFutureSkew();
    }

    /** Queues a message; the future completes once it is durable (journaled, or committed to the database). */
    public CompletableFuture<Outcome> submit(InboundMessage message) {
        GroupCommitter<InboundMessage, Outcome> w = writers;
        if (!running || w == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("contact store is not running"));
        }
        return w.submit(message);
    }

    /** Set while a thread acts for the event log's readers: see {@link #asStored}. */
    private static final ThreadLocal<Boolean> AS_STORED = new ThreadLocal<>();

    /**
     * Runs {@code work} reading the store as it is, without {@link #awaitVisible}'s wait: for what acts on events
     * already in the log (an event commits with the contact change that raised it, so the store holds at least what
     * the event says) and on timers. Waiting there for everything journaled meanwhile stalled every subscriber behind
     * the applier under a heavy feed, and failed their events after 10 s ("store is behind the journal").
     */
    public static <T> T asStored(java.util.function.Supplier<T> work) {
        Boolean before = AS_STORED.get();
        AS_STORED.set(Boolean.TRUE);
        try {
            return work.get();
        } finally {
            if (before == null) {
                AS_STORED.remove();
            } else {
                AS_STORED.set(before);
            }
        }
    }

    /** Whether this thread reads the store as it is ({@link #asStored}). */
    public static boolean readsAsStored() {
        return Boolean.TRUE.equals(AS_STORED.get());
    }

    /**
     * Read-your-writes for the API: waits until everything acknowledged before this call is in the database. Free
     * without the journal (an ACK then already means committed); with it, the applier lags by milliseconds.
     */
    public void awaitVisible() {
        if (journal == null || readsAsStored()) {
            return;
        }
        long target = journal.lastSeq();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        appliedLock.lock();
        try {
            while (appliedSeq < target) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new IllegalStateException("store is behind the journal");
                }
                appliedAdvanced.awaitNanos(left);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            appliedLock.unlock();
        }
    }

    /**
     * By the patient's first identifier, so one patient's messages share a writer and keep their order. The writer is
     * the one that owns the identifier's event-log partition ({@link #homePartition}; writer i owns the partitions
     * p with p mod writers = i), where a contact it creates gets its id: so a writer appends to its own partitions'
     * head rows, and group commits of different writers do not wait for each other's commit there.
     */
    private Object partitionKey(InboundMessage m) {
        // GroupCommitter picks queue floorMod(key.hashCode(), writers): an Integer's hash is its value
        int home = homePartition(m.mapped());
        return home >= 0 ? home : logPartitions.ofKey(m.id().toString());
    }

    /** The log partition of the message's first identifier, or -1 when it names none. */
    private int homePartition(ChangeRecord m) {
        return m != null && !m.patch().identifiers.isEmpty()
                ? logPartitions.ofKey(m.patch().identifiers.get(0).key()) : -1;
    }

    /**
     * A new contact's id, drawn in the message's home partition: its events then go to the partition whose writer
     * the patient's messages are routed to. Only the random bits of a time-ordered id are varied (each candidate is
     * as unique as the first); ids are not meant to be guessed or to carry anything.
     */
    private UUID newContactId(ChangeRecord m) {
        UUID id = Ids.next();
        int home = homePartition(m);
        if (home < 0 || logPartitions.count() == 1) {
            return id;
        }
        for (long k = 0; k < 1 << 20; k++) {
            UUID candidate = new UUID(id.getMostSignificantBits(), id.getLeastSignificantBits() ^ k);
            if (logPartitions.of(candidate) == home) {
                return candidate;
            }
        }
        return id;
    }

    /**
     * A change the hub itself makes to a contact (a workflow's {@code update} step): the contact is read and locked,
     * changed, sealed and written in one transaction with its audit entry, so it cannot interleave with a feed's batch
     * (which locks the same row) and no change is lost. Follows merges to the survivor. Returns the contact as
     * written, or empty when there is no such contact; when {@code change} says nothing changed, nothing is written.
     */
    public java.util.Optional<Contact> amend(UUID contactId, java.util.function.Predicate<Contact> change,
            AuditDraft entry) {
        awaitVisible();
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                UUID id = contactId;
                for (int hop = 0; hop < 8; hop++) {
                    try (PreparedStatement ps = c.prepareStatement(
                            "SELECT key_id, payload, merged_into FROM contact WHERE id = ? FOR UPDATE")) {
                        ps.setObject(1, id);
                        try (ResultSet rs = ps.executeQuery()) {
                            if (!rs.next()) {
                                c.rollback();
                                return java.util.Optional.empty();
                            }
                            UUID merged = rs.getObject(3, UUID.class);
                            if (merged != null) {
                                id = merged;
                                continue;
                            }
                            ContactJson.Stored s = ContactJson.read(cipher.open(rs.getString(1), rs.getBytes(2),
                                    id.toString()), ContactJson.Stored.class);
                            Contact contact = s.contact();
                            if (!change.test(contact)) {
                                c.rollback();
                                return java.util.Optional.of(contact);
                            }
                            Instant now = Instant.now();
                            contact.updatedAt = now;
                            try (PreparedStatement upd = c.prepareStatement("UPDATE contact SET key_id = ?,"
                                    + " payload = ?, version = version + 1, updated_at = ? WHERE id = ?")) {
                                upd.setString(1, cipher.activeKeyId());
                                upd.setBytes(2, cipher.seal(ContactJson.write(new ContactJson.Stored(contact,
                                        s.asOf())), id.toString()));
                                upd.setTimestamp(3, Timestamp.from(now));
                                upd.setObject(4, id);
                                upd.executeUpdate();
                            }
                            audit.writeOutbox(c, List.of(entry.contact(id)));
                            c.commit();
                            audit.outboxWritten();
                            return java.util.Optional.of(contact);
                        }
                    }
                }
                c.rollback();
                return java.util.Optional.empty();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new IllegalStateException("contact store unavailable (" + safe(e) + ")", e);
        }
    }

    /**
     * An event the hub itself observed about a contact (a text the patient sent back, say), appended to the contact's
     * partition of the event log in one transaction with {@code work} - the caller's own rows, such as the sealed
     * record the event points at - so neither exists without the other. Follows merges to the survivor; the event's
     * position is taken under the partition's head lock, as a feed's events are. Returns the contact the event was
     * logged under, or empty when there is no such contact (then nothing, {@code work} included, is written).
     */
    public java.util.Optional<UUID> appendEvent(UUID contactId, TriggerEvent event, RowsWithEvent work) {
        awaitVisible();
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                UUID id = contactId;
                for (int hop = 0; hop < 8 && id != null; hop++) {
                    UUID merged;
                    try (PreparedStatement ps = c.prepareStatement("SELECT merged_into FROM contact WHERE id = ?")) {
                        ps.setObject(1, id);
                        try (ResultSet rs = ps.executeQuery()) {
                            if (!rs.next()) {
                                break;
                            }
                            merged = rs.getObject(1, UUID.class);
                        }
                    }
                    if (merged == null) {
                        work.write(c, id);
                        appendToLog(c, List.of(new EventRow(event.id(), id, event.type(), null, cipher.activeKeyId(),
                                ContactStore.sealEvent(cipher, event), Timestamp.from(Instant.now()))));
                        c.commit();
                        return java.util.Optional.of(id);
                    }
                    id = merged;
                }
                c.rollback();
                return java.util.Optional.empty();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new IllegalStateException("contact store unavailable (" + safe(e) + ")", e);
        }
    }

    /**
     * Events the hub itself raises about contacts (a segment's {@code segment.entered}), appended to the event log
     * in the caller's Spring transaction (an event-log subscriber's, which moves its cursor in the same commit): both
     * commit, or neither. The partitions' head rows are taken as a feed's group takes them, so positions stay in
     * commit order. Each pair is (contact id, event).
     */
    public void appendEvents(List<Map.Entry<UUID, TriggerEvent>> events) {
        if (events.isEmpty()) {
            return;
        }
        Timestamp now = Timestamp.from(Instant.now());
        List<EventRow> rows = new ArrayList<>(events.size());
        for (Map.Entry<UUID, TriggerEvent> e : events) {
            rows.add(new EventRow(e.getValue().id(), e.getKey(), e.getValue().type(), null, cipher.activeKeyId(),
                    ContactStore.sealEvent(cipher, e.getValue()), now));
        }
        Connection c = org.springframework.jdbc.datasource.DataSourceUtils.getConnection(dataSource);
        try {
            appendToLog(c, rows);
        } catch (SQLException e) {
            throw new IllegalStateException("event log unavailable (" + safe(e) + ")", e);
        } finally {
            org.springframework.jdbc.datasource.DataSourceUtils.releaseConnection(c, dataSource);
        }
    }

    /** The blind index under which an identifier is looked up. */
    public String identifierIndex(Identifier id) {
        return cipher.blindIndex(IDENTIFIER_DOMAIN, id.key());
    }

    private static Outcome outcomeOf(InboundMessage m) {
        return switch (m.status()) {
            case PROCESSED -> Outcome.PROCESSED;
            case IGNORED -> Outcome.IGNORED;
            case FAILED -> Outcome.FAILED_STORED;
        };
    }

    // ---- direct mode: group commit to the database, ACK after commit (PostgreSQL) ----------------------------

    /**
     * One group in one transaction; a failed group is rolled back and the writer retries its messages one at a time
     * (see {@link GroupCommitter}), so one bad message cannot fail its neighbours.
     */
    private void commit(List<GroupCommitter.Item<InboundMessage, Outcome>> batch) throws SQLException {
        Connection c;
        try {
            c = dataSource.getConnection();
        } catch (SQLException e) {
            log.error("Store unavailable ({})", safe(e));
            throw new GroupCommitter.Unavailable(e);
        }
        try (c) {
            c.setAutoCommit(false);
            try {
                List<Written> written = new ArrayList<>();
                List<Outcome> outcomes = apply(c, batch.stream().map(GroupCommitter.Item::value).toList(), written);
                c.commit();
                seed(written);
                audit.outboxWritten();
                for (int i = 0; i < batch.size(); i++) {
                    batch.get(i).complete(outcomes.get(i));
                }
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        }
    }

    // ---- journal mode: group write to the journal, ACK, then apply in large transactions (embedded H2) -------

    private void journalGroup(List<GroupCommitter.Item<InboundMessage, Outcome>> batch) throws IOException {
        List<Journal.Entry> written = journal.append(batch.stream().map(p -> Journal.Entry.of(p.value())).toList());
        for (int i = 0; i < batch.size(); i++) {
            InboundMessage m = batch.get(i).value();
            // waits for room: when the database falls behind, journal writes (and so ACKs) wait, memory does not fill
            applier.submit(new Journaled(written.get(i).seq(), m));
            batch.get(i).complete(outcomeOf(m));
        }
    }

    /** The applier's step: the journal still holds these, so a failure is retried after a pause, never skipped. */
    private void applyGroup(List<GroupCommitter.Item<Journaled, Void>> group) throws InterruptedException {
        List<Journaled> batch = group.stream().map(GroupCommitter.Item::value).toList();
        while (true) {
            try {
                applyJournaled(new ArrayList<>(batch));
                group.forEach(j -> j.complete(null));
                return;
            } catch (RuntimeException | SQLException e) {
                log.error("Applying journaled messages failed ({}); retrying", e.getClass().getSimpleName());
                Thread.sleep(1000);
            }
        }
    }

    /** Between the applier's groups: a checkpoint every {@value #CHECKPOINT_MILLIS} ms while messages are applied. */
    private void checkpointWhenDue() {
        if (appliedSeq > checkpointed && System.currentTimeMillis() - lastCheckpoint > CHECKPOINT_MILLIS) {
            try {
                checkpointed = checkpoint();
            } catch (SQLException | IOException e) {
                log.error("Journal checkpoint failed ({}); will retry", e.getClass().getSimpleName());
            }
            lastCheckpoint = System.currentTimeMillis();
        }
    }

    /** Applies journaled messages in one transaction together with the new applied sequence. */
    private void applyJournaled(List<Journaled> batch) throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                List<Written> written = new ArrayList<>();
                apply(c, batch.stream().map(Journaled::message).toList(), written);
                setAppliedSeq(c, batch.get(batch.size() - 1).seq());
                c.commit();
                seed(written);
                audit.outboxWritten();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                if (batch.size() == 1) {
                    // a message the store refuses: keep it as failed so the feed is not blocked
                    log.error("Store refused a journaled message ({}: {})", e.getClass().getSimpleName(), safe(e));
                    InboundMessage m = batch.get(0).message;
                    // the message type is the sender's MSH-9, which may itself be what the store refused (longer
                    // than its column): cut to fit, or this record fails too and the applier retries it forever
                    String type = m.messageType().length() > 16 ? m.messageType().substring(0, 16) : m.messageType();
                    apply(c, List.of(new InboundMessage(m.id(), m.sourceKind(), null, m.feed(), type,
                            InboundMessage.Status.FAILED, "store", null, m.keyId(), m.sealedRaw(), null, null,
                            m.receivedAt())), new ArrayList<>());
                    setAppliedSeq(c, batch.get(0).seq());
                    c.commit();
                } else {
                    for (Journaled j : batch) {
                        applyJournaled(new ArrayList<>(List.of(j)));
                    }
                    return;
                }
            }
        }
        advanceApplied(batch.get(batch.size() - 1).seq());
    }

    private void advanceApplied(long seq) {
        appliedLock.lock();
        try {
            appliedSeq = Math.max(appliedSeq, seq);
            appliedAdvanced.signalAll();
        } finally {
            appliedLock.unlock();
        }
    }

    private static void setAppliedSeq(Connection c, long seq) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE journal_state SET applied_seq = ? WHERE id = 1")) {
            ps.setLong(1, seq);
            ps.executeUpdate();
        }
    }

    /** Makes the database durable up to now, then drops the journal segments it no longer needs. */
    private long checkpoint() throws SQLException, IOException {
        long seq = appliedSeq;
        boolean drop = journal.hasSegmentsThrough(seq);
        try (Connection c = dataSource.getConnection(); java.sql.Statement s = c.createStatement()) {
            // CHECKPOINT writes everything committed to the file; SYNC also forces it to the disk. Synced only when
            // journal segments are to be dropped: until then the journal holds every applied message, and a sync
            // every 10 s (a flush of all H2 wrote since) stalled the journal's own per-group flushes behind it
            s.execute(props.journal().fsync() && drop ? "CHECKPOINT SYNC" : "CHECKPOINT");
        }
        if (drop) {
            journal.deleteThrough(seq);
        }
        return seq;
    }

    private void recover() throws SQLException, IOException {
        long applied;
        try (Connection c = dataSource.getConnection(); java.sql.Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT applied_seq FROM journal_state WHERE id = 1")) {
            rs.next();
            applied = rs.getLong(1);
        }
        journal = new Journal(journalDir, props.journal().fsync(), applied);
        appliedSeq = applied;
        List<Journal.Entry> pending = journal.unappliedAtOpen();
        if (pending.isEmpty()) {
            return;
        }
        log.info("Re-applying {} journaled messages after an unclean stop", pending.size());
        List<Journaled> batch = new ArrayList<>();
        for (Journal.Entry e : pending) {
            InboundMessage journaled = e.message();
            InboundMessage full = journaled.status() == InboundMessage.Status.PROCESSED ? readAgain(journaled)
                    : journaled;
            batch.add(new Journaled(e.seq(), full));
            if (batch.size() == 500) {
                applyJournaled(batch);
                batch = new ArrayList<>();
            }
        }
        if (!batch.isEmpty()) {
            applyJournaled(batch);
        }
        checkpoint();
    }

    /**
     * A journaled message read again from its sealed raw bytes by the source of its kind, keeping its ids, so applying
     * it is the same as the first time. A message no source can read (its kind is not installed, or reading it threw)
     * is kept as failed, unmapped, for replay: recovery must finish, or the hub would never start.
     */
    private InboundMessage readAgain(InboundMessage j) {
        IntakeSource source = IntakeSource.find(sources, j.sourceKind());
        if (source == null) {
            log.warn("No intake source of kind {} to read journaled message {} again: kept as failed, for replay",
                    IntakeSource.safe(j.sourceKind()), j.id());
            return j.failedUnmapped("source:unknown");
        }
        try {
            SourceMessage read = source.read(cipher.open(j.keyId(), j.sealedRaw(), j.id().toString()),
                    j.receivedAt());
            return InboundMessage.of(j.id(), j.sourceKind(), j.dedupeKey(), read, j.keyId(), j.sealedRaw(),
                    j.eventId() != null ? j.eventId() : Ids.next(), j.receivedAt(), cipher);
        } catch (RuntimeException e) {
            log.error("Intake source {} could not read journaled message {} again ({}): kept as failed, for replay",
                    IntakeSource.safe(j.sourceKind()), j.id(), e.getClass().getName());
            return j.failedUnmapped("source:error");
        }
    }

    /** A message's change to a contact's fields, for a {@code contact.changed} entry in the log. */
    private record Change(InboundMessage message, UUID contactId, java.time.OffsetDateTime at, List<String> fields) {
    }

    /**
     * The contact's fields as the API names them, by value, to tell which a message changed. Copies of the mutable
     * ones: applying the message changes the contact in place.
     */
    private static Map<String, Object> fields(Contact c) {
        Map<String, Object> f = new HashMap<>();
        f.put("identifiers", List.copyOf(c.identifiers));
        f.put("name", c.name);
        f.put("birthDate", c.birthDate);
        f.put("gender", c.gender);
        f.put("email", c.email);
        f.put("phone", c.phone);
        f.put("language", c.language);
        f.put("address", c.address);
        f.put("restrictions", List.copyOf(c.restrictions));
        f.put("attributes", new HashMap<>(c.attributes));
        return f;
    }

    private static List<String> changed(Map<String, Object> before, Map<String, Object> after) {
        return after.keySet().stream().filter(k -> !java.util.Objects.equals(before.get(k), after.get(k))).sorted()
                .toList();
    }

    /**
     * The {@code contact.changed} entry: the names of the fields the message changed, never their values (a stream
     * reads the contact as it is when it publishes, through its allow-list or the de-identifier). Sealed here, on the
     * writer's thread: only hubs with a stream that asks for contact changes pay for it.
     */
    private EventRow changeRow(Change ch, Timestamp nowTs) {
        TriggerEvent e = new TriggerEvent(Ids.next(), TriggerEvent.CONTACT_CHANGED, ch.at(),
                new TriggerEvent.Source(ch.message().mapped().feed(), ch.message().mapped().sourceRef(), null),
                Map.of("fields", ch.fields()));
        return new EventRow(e.id(), ch.contactId(), e.type(), ch.message().id(), cipher.activeKeyId(),
                ContactStore.sealEvent(cipher, e), nowTs);
    }

    /** SQL errors name constraints and columns, not values, since every PHI value is sealed. */
    private static String safe(Exception e) {
        String m = e.getMessage();
        return m == null ? "" : m.lines().findFirst().orElse("").replaceAll("'[^']*'", "'…'");
    }

    /**
     * A contact as this writer committed it, at its new version: the event-log readers that read it next (the segment
     * index, the workflow engine) take it from ContactStore instead of decrypting and parsing the row again.
     * The writer builds its contacts afresh for each group and never touches them after the commit.
     */
    private record Written(UUID id, long version, Contact contact) {
    }

    /** Set by Spring (the store reads through this writer, so it comes after it); absent in tests built by hand. */
    private ObjectProvider<ContactStore> store;

    @org.springframework.beans.factory.annotation.Autowired(required = false)
    void store(ObjectProvider<ContactStore> store) {
        this.store = store;
    }

    /** After the commit: a failure here must not send a committed group down the rollback path. */
    private void seed(List<Written> written) {
        try {
            ContactStore s = store == null ? null : store.getIfAvailable();
            if (s != null) {
                written.forEach(w -> s.seed(w.id(), w.version(), w.contact()));
            }
        } catch (RuntimeException e) {
            log.warn("Committed contacts not handed to the readers ({}); they read them from the store",
                    e.getClass().getSimpleName());
        }
    }

    private List<Outcome> apply(Connection c, List<InboundMessage> batch, List<Written> written)
            throws SQLException {
        Instant now = Instant.now();
        Timestamp nowTs = Timestamp.from(now);
        // 1. duplicates: already committed, or earlier in this batch
        Set<String> keys = new HashSet<>();
        for (InboundMessage m : batch) {
            if (m.dedupeKey() != null && m.status() != InboundMessage.Status.FAILED) {
                keys.add(m.dedupeKey());
            }
        }
        Set<String> seen = selectExisting(c, "SELECT dedupe_key FROM inbound_message WHERE dedupe_key IN ", keys);

        // 2. identifiers and the contacts they point at; each identifier's blind index is computed once a batch
        Map<String, String> memo = new HashMap<>();
        java.util.function.Function<Identifier, String> index =
                i -> memo.computeIfAbsent(i.key(), k -> cipher.blindIndex(IDENTIFIER_DOMAIN, k));
        Set<String> indexes = new HashSet<>();
        for (InboundMessage in : batch) {
            ChangeRecord m = in.mapped();
            if (m != null) {
                m.patch().identifiers.forEach(i -> indexes.add(index.apply(i)));
                m.mergeFrom().forEach(i -> indexes.add(index.apply(i)));
            }
        }
        Map<String, UUID> owners = new HashMap<>();
        Map<UUID, Working> contacts = new HashMap<>();
        loadOwnersAndContacts(c, indexes, owners, contacts);

        Map<String, UUID> newIdentifiers = new LinkedHashMap<>();
        Map<String, UUID> movedIdentifiers = new LinkedHashMap<>();
        Map<UUID, UUID> mergedEvents = new LinkedHashMap<>();
        List<EventRow> events = new ArrayList<>();
        List<InboundRow> inbound = new ArrayList<>();
        List<Outcome> outcomes = new ArrayList<>(batch.size());
        List<AuditDraft> consentChanges = new ArrayList<>();

        for (InboundMessage in : batch) {
            boolean counts = in.status() != InboundMessage.Status.FAILED;
            if (counts && in.dedupeKey() != null && !seen.add(in.dedupeKey())) {
                outcomes.add(Outcome.DUPLICATE);
                continue;
            }
            UUID contactId = null;
            List<String> warnings = new ArrayList<>();
            if (in.status() == InboundMessage.Status.PROCESSED) {
                ChangeRecord m = in.mapped();
                warnings.addAll(m.warnings());
                List<String> before = new ArrayList<>();
                Working w = resolve(m, index, owners, contacts, newIdentifiers, movedIdentifiers, mergedEvents, now,
                        warnings, before);
                contactId = w.contact.id;
                Instant ordering = orderingTime(m.eventTime().toInstant(), in.receivedAt(), warnings);
                if (w.asOf != null && w.asOf.isAfter(now.plus(maxFutureSkew))) {
                    // a watermark set by a future-dated message before the skew rule: it would freeze the contact
                    w.asOf = null;
                    w.dirty = true;
                }
                if (!m.mergeFrom().isEmpty() && !before.equals(w.contact.restrictions)) {
                    consentChanges.add(restrictionChange(in, w.contact, before));
                }
                Map<String, Object> fieldsBefore = null;
                Change change = null;
                if (m.demographics()) {
                    before = m.patch().restrictions.isEmpty() ? null : new ArrayList<>(w.contact.restrictions);
                    fieldsBefore = logChanges ? fields(w.contact) : null;
                    ContactUpdates.Applied applied = ContactUpdates.applyDemographics(w.contact, m.patch(), ordering,
                            w.asOf);
                    if (applied.changed()) {
                        w.dirty = true;
                        if (fieldsBefore != null) {
                            change = new Change(in, contactId, m.eventTime(), changed(fieldsBefore,
                                    fields(w.contact)));
                        }
                        if (before != null && !before.equals(w.contact.restrictions)) {
                            consentChanges.add(restrictionChange(in, w.contact, before));
                        }
                    }
                    if (!java.util.Objects.equals(applied.asOf(), w.asOf)) {
                        w.asOf = applied.asOf();
                        w.dirty = true;
                    }
                }
                events.add(new EventRow(in.eventId(), contactId, m.eventType(), in.id(), in.keyId(), in.sealedEvent(),
                        nowTs));
                if (change != null && !change.fields().isEmpty()) {
                    // after the trigger event: the change is what the message that raised it did
                    events.add(changeRow(change, nowTs));
                }
            }
            byte[] dedupe = counts && in.dedupeKey() != null ? HEX.parseHex(in.dedupeKey()) : null;
            if (!warnings.isEmpty()) {
                // codes and HL7 locations only: the inbound message id leads an operator to the sealed message
                log.warn("Inbound message {}: {}", in.id(), String.join("; ", warnings));
            }
            inbound.add(new InboundRow(in.id(), dedupe, in.feed(), in.messageType(), in.status().dbValue(),
                    in.errorCode(), contactId, in.keyId(), in.sealedRaw(), Timestamp.from(in.receivedAt()),
                    warnings.isEmpty() ? null : cut(String.join("; ", warnings), 1000),
                    in.controlId() == null ? null : cut(in.controlId(), 199), in.errorLocation(), in.replayOf(),
                    in.sourceKind()));
            outcomes.add(outcomeOf(in));
        }

        // 3. write: contacts, identifiers, events, inbound messages
        try (PreparedStatement ins = c.prepareStatement(
                "INSERT INTO contact (id, merged_into, key_id, payload, version, created_at, updated_at)"
                        + " VALUES (?, ?, ?, ?, 1, ?, ?)");
                PreparedStatement upd = c.prepareStatement(
                        "UPDATE contact SET merged_into = ?, key_id = ?, payload = ?, version = version + 1,"
                                + " updated_at = ? WHERE id = ?")) {
            boolean anyIns = false;
            boolean anyUpd = false;
            for (Working w : contacts.values()) {
                if (!w.dirty && !w.created) {
                    continue;
                }
                if (w.dirty) {
                    w.contact.updatedAt = now;
                }
                byte[] sealed = cipher.seal(ContactJson.write(new ContactJson.Stored(w.contact, w.asOf)),
                        w.contact.id.toString());
                if (w.mergedInto == null) {
                    written.add(new Written(w.contact.id, w.created ? 1 : w.version + 1, w.contact));
                }
                if (w.created) {
                    ins.setObject(1, w.contact.id);
                    ins.setObject(2, w.mergedInto);
                    ins.setString(3, cipher.activeKeyId());
                    ins.setBytes(4, sealed);
                    ins.setTimestamp(5, nowTs);
                    ins.setTimestamp(6, nowTs);
                    ins.addBatch();
                    anyIns = true;
                } else {
                    upd.setObject(1, w.mergedInto);
                    upd.setString(2, cipher.activeKeyId());
                    upd.setBytes(3, sealed);
                    upd.setTimestamp(4, nowTs);
                    upd.setObject(5, w.contact.id);
                    upd.addBatch();
                    anyUpd = true;
                }
            }
            if (anyIns) {
                ins.executeBatch();
            }
            if (anyUpd) {
                upd.executeBatch();
            }
        }
        if (!newIdentifiers.isEmpty()) {
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO contact_identifier (blind_index, contact_id) VALUES (?, ?)")) {
                for (Map.Entry<String, UUID> e : newIdentifiers.entrySet()) {
                    ps.setBytes(1, HEX.parseHex(e.getKey()));
                    ps.setObject(2, e.getValue());
                    ps.addBatch();
                }
                ps.executeBatch();
            }
        }
        if (!movedIdentifiers.isEmpty()) {
            try (PreparedStatement ps = c.prepareStatement(
                    "UPDATE contact_identifier SET contact_id = ? WHERE blind_index = ?")) {
                for (Map.Entry<String, UUID> e : movedIdentifiers.entrySet()) {
                    ps.setObject(1, e.getValue());
                    ps.setBytes(2, HEX.parseHex(e.getKey()));
                    ps.addBatch();
                }
                ps.executeBatch();
            }
        }
        if (!mergedEvents.isEmpty()) {
            try (PreparedStatement ps = c.prepareStatement(
                    "UPDATE trigger_event SET contact_id = ? WHERE contact_id = ?")) {
                for (Map.Entry<UUID, UUID> e : mergedEvents.entrySet()) {
                    ps.setObject(1, e.getValue());
                    ps.setObject(2, e.getKey());
                    ps.addBatch();
                }
                ps.executeBatch();
            }
        }
        if (!events.isEmpty() && !mergedEvents.isEmpty()) {
            // an event of a record merged later in this same batch belongs to the survivor, like its stored events
            events.replaceAll(row -> {
                UUID to = row.contactId();
                for (int hop = 0; hop < 16 && mergedEvents.containsKey(to); hop++) {
                    to = mergedEvents.get(to);
                }
                return row.withContact(to);
            });
        }
        if (!mergedEvents.isEmpty()) {
            // consent records follow the merge like events, so the survivor's decisions see them
            for (MergeFollower f : mergeFollowers.orderedStream().toList()) {
                f.merged(c, mergedEvents);
            }
        }
        audit.writeOutbox(c, consentChanges);
        if (!inbound.isEmpty()) {
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO inbound_message (id, dedupe_key, feed, message_type, status, error_code, contact_id,"
                            + " key_id, payload, received_at, warnings, control_id, error_location, replay_of,"
                            + " source_kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                for (InboundRow row : inbound) {
                    row.bind(ps);
                    ps.addBatch();
                }
                ps.executeBatch();
            }
        }
        appendToLog(c, events);
        return outcomes;
    }

    /**
     * Appends the group's trigger events to the event log (trigger_event with a partition and a position), last in
     * the transaction: the head rows of just the partitions the group touches are locked (in partition order, so two
     * writers cannot deadlock on them) until this commit, so a concurrent writer appending to the same partition takes
     * its positions only after this one has committed (or rolled back), and no reader can see a position before a
     * lower one of its partition is committed. A writer appending to other partitions does not wait.
     */
    private void appendToLog(Connection c, List<EventRow> events) throws SQLException {
        if (events.isEmpty()) {
            return;
        }
        java.util.TreeMap<Integer, List<EventRow>> byPartition = new java.util.TreeMap<>();
        for (EventRow row : events) {
            byPartition.computeIfAbsent(logPartitions.of(row.contactId()), k -> new ArrayList<>()).add(row);
        }
        List<Integer> touched = new ArrayList<>(byPartition.keySet());
        Map<Integer, Long> last = new HashMap<>();
        for (int from = 0; from < touched.size(); from += IN_CHUNK) {
            List<Integer> chunk = touched.subList(from, Math.min(touched.size(), from + IN_CHUNK));
            try (PreparedStatement ps = c.prepareStatement("SELECT log_partition, last_position FROM event_log_head"
                    + " WHERE log_partition IN " + placeholders(chunk.size()) + " ORDER BY log_partition FOR UPDATE")) {
                for (int i = 0; i < padded(chunk.size()); i++) {
                    ps.setInt(i + 1, chunk.get(Math.min(i, chunk.size() - 1)));
                }
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        last.put(rs.getInt(1), rs.getLong(2));
                    }
                }
            }
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO trigger_event (id, contact_id, type, inbound_id,"
                + " key_id, payload, recorded_at, log_partition, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            for (Map.Entry<Integer, List<EventRow>> e : byPartition.entrySet()) {
                Long at = last.get(e.getKey());
                if (at == null) {
                    throw new SQLException("event_log_head has no row for partition " + e.getKey());
                }
                for (EventRow row : e.getValue()) {
                    row.bind(ps);
                    ps.setInt(EventRow.COLUMNS + 1, e.getKey());
                    ps.setLong(EventRow.COLUMNS + 2, ++at);
                    ps.addBatch();
                }
                last.put(e.getKey(), at);
            }
            ps.executeBatch();
        }
        try (PreparedStatement ps = c.prepareStatement(
                "UPDATE event_log_head SET last_position = ? WHERE log_partition = ?")) {
            for (Integer p : touched) {
                ps.setLong(1, last.get(p));
                ps.setInt(2, p);
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    /**
     * The time that orders a message's changes against what the contact holds: its event time (EVN-2, else MSH-7),
     * unless that lies further ahead of its receipt than the configured skew - a sender's clock or a typo (20990101)
     * would otherwise make every later update look older and freeze the contact. Then the receive time orders it.
     */
    private Instant orderingTime(Instant eventTime, Instant receivedAt, List<String> warnings) {
        if (eventTime.isAfter(receivedAt.plus(maxFutureSkew))) {
            warnings.add("EVN-2: event time more than " + maxFutureSkew + " after receipt; ordered by receive time");
            // at the seconds HL7 event times carry: an update stamped in the same second (EVN-2 20261129101500)
            // must not look older than a receipt at 10:15:00.400
            return receivedAt.truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
        }
        return eventTime;
    }

    private static String cut(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max);
    }

    /**
     * The audit entry of a feed's change to a contact's restrictions and opt-outs (a consent change): which codes were
     * raised and cleared, by which message. Written to the audit outbox in this transaction.
     */
    private static AuditDraft restrictionChange(InboundMessage in, Contact contact, List<String> before) {
        List<String> raised = contact.restrictions.stream().filter(r -> !before.contains(r)).toList();
        List<String> cleared = before.stream().filter(r -> !contact.restrictions.contains(r)).toList();
        return AuditDraft.of("hl7:" + in.feed(), Actions.CONSENT_CHANGED).contact(contact.id)
                .outcome(raised.isEmpty() ? "cleared" : "raised").detail("raised", raised).detail("cleared", cleared)
                .detail("inboundMessage", in.id().toString()).detail("trigger", in.mapped().sourceMessageType())
                .detail("eventTime", in.mapped().eventTime().toString());
    }

    /**
     * Finds or creates the contact a message is about. Only linking identifiers (the mapping's identity rule) reach
     * here. An identifier new to the store joins the contact unless that contact already holds another identifier of
     * the same assigning authority: two MRNs of one authority name two patients, and only a merge joins them. When the
     * message's identifiers name two different contacts, it is applied to the first one's (PID-3 order) and the other
     * contact is left alone, with a warning on the inbound message. For a merge, the prior record is folded into the
     * survivor: its identifiers keep resolving, its restrictions and opt-outs stay (the most restrictive wins).
     * {@code before} receives the survivor's restrictions as they were before a merge folded any in.
     */
    private Working resolve(ChangeRecord m, java.util.function.Function<Identifier, String> index,
            Map<String, UUID> owners, Map<UUID, Working> contacts, Map<String, UUID> newIdentifiers,
            Map<String, UUID> movedIdentifiers, Map<UUID, UUID> mergedEvents, Instant now, List<String> warnings,
            List<String> before) {
        Working survivor = null;
        for (Identifier id : m.patch().identifiers) {
            UUID owner = owners.get(index.apply(id));
            if (owner == null) {
                continue;
            }
            Working w = contacts.get(owner);
            if (survivor == null) {
                survivor = w;
            } else if (w != survivor && m.mergeFrom().isEmpty()) {
                warnings.add("PID-3: identifiers name two contacts; applied to the first identifier's");
            }
        }
        Working prior = null;
        for (Identifier id : m.mergeFrom()) {
            UUID owner = owners.get(index.apply(id));
            if (owner != null) {
                prior = contacts.get(owner);
                break;
            }
        }
        if (survivor == null && prior != null) {
            // the surviving identifiers are new to us: the prior record lives on under them
            survivor = prior;
            prior = null;
        }
        if (survivor == null) {
            Contact created = new Contact(newContactId(m));
            created.updatedAt = now;
            survivor = new Working(created, null, null, true, 0);
            contacts.put(created.id, survivor);
        }
        before.addAll(survivor.contact.restrictions);
        if (prior != null && prior != survivor) {
            for (Identifier id : prior.contact.identifiers) {
                String idx = index.apply(id);
                owners.put(idx, survivor.contact.id);
                if (newIdentifiers.containsKey(idx)) {
                    newIdentifiers.put(idx, survivor.contact.id);
                } else {
                    movedIdentifiers.put(idx, survivor.contact.id);
                }
                survivor.dirty |= ContactUpdates.addIdentifier(survivor.contact, id);
            }
            survivor.dirty |= ContactUpdates.foldProtections(survivor.contact, prior.contact);
            prior.mergedInto = survivor.contact.id;
            prior.dirty = true;
            mergedEvents.put(prior.contact.id, survivor.contact.id);
        }
        boolean merge = !m.mergeFrom().isEmpty();
        List<Identifier> all = new ArrayList<>(m.patch().identifiers);
        all.addAll(m.mergeFrom());
        for (Identifier id : all) {
            String idx = index.apply(id);
            UUID owner = owners.get(idx);
            if (owner == null) {
                if (!merge && holdsOtherOfAuthority(survivor.contact, id)) {
                    warnings.add("PID-3: the contact already has an identifier of this assigning authority;"
                            + " another one is not added without a merge (A40)");
                    continue;
                }
                owners.put(idx, survivor.contact.id);
                newIdentifiers.put(idx, survivor.contact.id);
                survivor.dirty |= ContactUpdates.addIdentifier(survivor.contact, id);
            } else if (owner.equals(survivor.contact.id)) {
                survivor.dirty |= ContactUpdates.addIdentifier(survivor.contact, id);
            }
            // an identifier held by another contact stays there: only a merge moves identifiers
        }
        return survivor;
    }

    /** Whether the contact holds an identifier of {@code id}'s assigning authority with another value. */
    private static boolean holdsOtherOfAuthority(Contact c, Identifier id) {
        for (Identifier held : c.identifiers) {
            if (java.util.Objects.equals(held.system(), id.system()) && !held.value().equals(id.value())) {
                return true;
            }
        }
        return false;
    }

    private static final class Working {
        final Contact contact;
        Instant asOf;
        UUID mergedInto;
        final boolean created;
        /** The row's version as read (0 for a contact this group creates). */
        final long version;
        boolean dirty;

        Working(Contact contact, Instant asOf, UUID mergedInto, boolean created, long version) {
            this.contact = contact;
            this.asOf = asOf;
            this.mergedInto = mergedInto;
            this.created = created;
            this.version = version;
        }
    }

    /**
     * Identifiers and the contacts they point at, in one round trip; the contact rows are locked so that concurrent
     * writers (PostgreSQL) apply a patient's changes one after the other.
     */
    private void loadOwnersAndContacts(Connection c, Set<String> indexes, Map<String, UUID> owners,
            Map<UUID, Working> contacts) throws SQLException {
        List<String> list = new ArrayList<>(indexes);
        for (int from = 0; from < list.size(); from += IN_CHUNK) {
            List<String> chunk = list.subList(from, Math.min(list.size(), from + IN_CHUNK));
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT ci.blind_index, c.id, c.key_id, c.payload, c.merged_into, c.version"
                            + " FROM contact_identifier ci JOIN contact c ON c.id = ci.contact_id"
                            + " WHERE ci.blind_index IN "
                            + placeholders(chunk.size()) + " FOR UPDATE")) {
                for (int i = 0; i < padded(chunk.size()); i++) {
                    ps.setBytes(i + 1, HEX.parseHex(chunk.get(Math.min(i, chunk.size() - 1))));
                }
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        UUID id = rs.getObject(2, UUID.class);
                        owners.put(HEX.formatHex(rs.getBytes(1)), id);
                        if (!contacts.containsKey(id)) {
                            ContactJson.Stored s = ContactJson.read(
                                    cipher.open(rs.getString(3), rs.getBytes(4), id.toString()),
                                    ContactJson.Stored.class);
                            contacts.put(id, new Working(s.contact(), s.asOf(), rs.getObject(5, UUID.class), false,
                                    rs.getLong(6)));
                        }
                    }
                }
            }
        }
    }

    private static Set<String> selectExisting(Connection c, String sql, Set<String> keys) throws SQLException {
        Set<String> out = new HashSet<>();
        List<String> list = new ArrayList<>(keys);
        for (int from = 0; from < list.size(); from += IN_CHUNK) {
            List<String> chunk = list.subList(from, Math.min(list.size(), from + IN_CHUNK));
            try (PreparedStatement ps = c.prepareStatement(sql + placeholders(chunk.size()))) {
                for (int i = 0; i < padded(chunk.size()); i++) {
                    ps.setBytes(i + 1, HEX.parseHex(chunk.get(Math.min(i, chunk.size() - 1))));
                }
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(HEX.formatHex(rs.getBytes(1)));
                    }
                }
            }
        }
        return out;
    }

    /** IN-list sizes are padded to a few shapes so each statement text repeats and is prepared once. */
    static int padded(int n) {
        int size = 8;
        while (size < n) {
            size *= 2;
        }
        return Math.min(size, IN_CHUNK);
    }

    private static String placeholders(int n) {
        int size = padded(n);
        return "(" + "?,".repeat(size - 1) + "?)";
    }

    /** A trigger_event row of the group, bound as the first {@value #COLUMNS} parameters of its insert. */
    private record EventRow(UUID id, UUID contactId, String type, UUID inboundId, String keyId, byte[] payload,
            Timestamp recordedAt) {
        static final int COLUMNS = 7;

        EventRow withContact(UUID contact) {
            return new EventRow(id, contact, type, inboundId, keyId, payload, recordedAt);
        }

        void bind(PreparedStatement ps) throws SQLException {
            ps.setObject(1, id);
            ps.setObject(2, contactId);
            ps.setString(3, type);
            ps.setObject(4, inboundId);
            ps.setString(5, keyId);
            ps.setBytes(6, payload);
            ps.setTimestamp(7, recordedAt);
        }
    }

    /** An inbound_message row of the group, in the insert's column order. */
    private record InboundRow(UUID id, byte[] dedupeKey, String feed, String messageType, String status,
            String errorCode, UUID contactId, String keyId, byte[] payload, Timestamp receivedAt, String warnings,
            String controlId, String errorLocation, UUID replayOf, String sourceKind) {

        void bind(PreparedStatement ps) throws SQLException {
            ps.setObject(1, id);
            ps.setBytes(2, dedupeKey);
            ps.setString(3, feed);
            ps.setString(4, messageType);
            ps.setString(5, status);
            ps.setString(6, errorCode);
            ps.setObject(7, contactId);
            ps.setString(8, keyId);
            ps.setBytes(9, payload);
            ps.setTimestamp(10, receivedAt);
            ps.setString(11, warnings);
            ps.setString(12, controlId);
            ps.setString(13, errorLocation);
            ps.setObject(14, replayOf);
            ps.setString(15, sourceKind);
        }
    }

    @Override
    public void start() {
        logChanges = loggedKinds != null
                && loggedKinds.orderedStream().anyMatch(k -> k.wanted(TriggerEvent.CONTACT_CHANGED));
        running = true;
        if (props.journal().enabled()) {
            try {
                recover();
            } catch (SQLException | IOException e) {
                throw new IllegalStateException("cannot open or replay the inbound journal in " + journalDir, e);
            }
            lastCheckpoint = System.currentTimeMillis();
            checkpointed = appliedSeq;
            applier = GroupCommitter.<Journaled, Void>builder("journal applier", this::applyGroup)
                    .threadName(i -> "caravan-store-applier").capacity(8_192).maxGroup(MAX_APPLY_BATCH)
                    .offerWait(null).between(this::checkpointWhenDue).build();
            applier.start();
            writers = GroupCommitter.<InboundMessage, Outcome>builder("contact store", this::journalGroup)
                    .threadName(i -> "caravan-contact-writer").capacity(10_000).maxGroup(MAX_BATCH)
                    .offerWait(java.time.Duration.ofSeconds(5)).build();
        } else {
            writers = GroupCommitter.<InboundMessage, Outcome>builder("contact store", this::commit)
                    .partitions(props.writers(), this::partitionKey)
                    .threadName(i -> "caravan-contact-writer-" + i).capacity(10_000).maxGroup(MAX_BATCH)
                    .offerWait(java.time.Duration.ofSeconds(5)).isolateFailures()
                    .onFailedAlone((m, e) -> log.warn("Store rejected a message ({}: {})",
                            e.getClass().getSimpleName(), e instanceof Exception x ? safe(x) : ""))
                    .build();
        }
        writers.start();
    }

    @Override
    public void stop() {
        running = false;
        if (writers != null) {
            writers.stop();
        }
        if (applier != null) {
            // after the writers: everything they journaled is queued here, and is drained before the checkpoint
            applier.stop();
            try {
                checkpoint();
                journal.close();
            } catch (SQLException | IOException e) {
                log.warn("Final checkpoint failed ({}); the journal will be re-applied at start",
                        e.getClass().getSimpleName());
            }
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    /** Starts before, and stops after, the Camel routes that feed it. */
    @Override
    public int getPhase() {
        return Integer.MIN_VALUE + 1000;
    }
}
