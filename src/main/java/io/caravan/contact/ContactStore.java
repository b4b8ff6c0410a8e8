package io.caravan.contact;

import io.caravan.audit.MergedRecords;
import io.caravan.crypto.FieldCipher;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Repository;

/** Reads contacts and their events, decrypting them. Writes go through {@link ContactWriter}. */
@Repository
public class ContactStore implements MergedRecords {

    private static final int MAX_MERGE_HOPS = 16;

    private final JdbcTemplate jdbc;
    private final FieldCipher cipher;
    private final ContactWriter writer;
    private final LogPartitions partitions;

    public ContactStore(JdbcTemplate jdbc, FieldCipher cipher, ContactWriter writer, LogPartitions partitions) {
        this.jdbc = jdbc;
        this.cipher = cipher;
        this.writer = writer;
        this.partitions = partitions;
    }

    public Optional<Contact> findByIdentifier(String system, String value) {
        writer.awaitVisible();
        String idx = writer.identifierIndex(new Identifier(system, value, null));
        List<UUID> ids = jdbc.queryForList("SELECT contact_id FROM contact_identifier WHERE blind_index = ?",
                UUID.class, (Object) java.util.HexFormat.of().parseHex(idx));
        return ids.isEmpty() ? Optional.empty() : findById(ids.get(0));
    }

    /** A contact row as stored: sealed, or pointing at the contact it was merged into. */
    private record SealedRow(String keyId, byte[] payload, UUID mergedInto) {
    }

    /** The contact, or — for a record merged into another — the surviving contact. */
    public Optional<Contact> findById(UUID id) {
        writer.awaitVisible();
        UUID current = id;
        for (int hop = 0; hop < MAX_MERGE_HOPS; hop++) {
            UUID lookup = current;
            List<SealedRow> rows = jdbc.query("SELECT key_id, payload, merged_into FROM contact WHERE id = ?",
                    (rs, n) -> new SealedRow(rs.getString(1), rs.getBytes(2), rs.getObject(3, UUID.class)), lookup);
            if (rows.isEmpty()) {
                return Optional.empty();
            }
            SealedRow row = rows.get(0);
            if (row.mergedInto() != null) {
                current = row.mergedInto();
                continue;
            }
            ContactJson.Stored s = ContactJson.read(cipher.open(row.keyId(), row.payload(), lookup.toString()),
                    ContactJson.Stored.class);
            return Optional.of(s.contact());
        }
        return Optional.empty();
    }

    /** A decrypted contact as the send path holds it, with the row version it was read at. */
    private record Held(long version, Contact contact, long at) {

        Held(long version, Contact contact) {
            this(version, contact, System.nanoTime());
        }

        boolean fresh() {
            return young(at);
        }
    }

    private record VersionRow(long version, UUID mergedInto) {
    }

    /**
     * Decrypted contacts the send path read lately: a message's contact is read when it is planned and again at the
     * moment it is sent, and a campaign or a burst of reminders reads the same contacts over and over. Bounded and
     * short-lived, in memory only (PHI at rest stays sealed; this is what a thread holds while it sends, kept a little
     * longer), and never trusted without the row's version: see {@link #findForSend}.
     */
    private final com.github.benmanes.caffeine.cache.Cache<UUID, Held> forSend = com.github.benmanes.caffeine.cache
            .Caffeine.newBuilder().maximumSize(SEND_CACHE_SIZE).expireAfterWrite(SEND_CACHE_TTL).build();
    static final int SEND_CACHE_SIZE = 10_000;

    /**
     * Contacts the feed's writer has just committed, as it built them, oldest dropped first: the event-log readers
     * read them in commit order soon after. Apart from {@link #forSend} because that cache admits a new entry only when
     * it has been asked for more often than the one it would evict, and a contact of a bulk import is asked for twice
     * at most - a million new patients would all be turned away.
     */
    private final java.util.LinkedHashMap<UUID, Held> written = new java.util.LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(java.util.Map.Entry<UUID, Held> eldest) {
            return size() > WRITTEN_SIZE;
        }
    };
    static final int WRITTEN_SIZE = 5_000;

    /**
     * Logged events a reader of the log opened lately, by id: the readers of a busy log (the segment
     * index, each stream, the workflow engine) take the same events within moments of each other, and each decrypted
     * and parsed them again. Kept as {@link #written} keeps contacts: bounded, young ones only, in memory only. An
     * event's content never changes once logged (a merge or a split moves it to another contact in place). Shared by
     * the readers: read it, never change it.
     */
    private final java.util.concurrent.ConcurrentHashMap<UUID, Opened> opened =
            new java.util.concurrent.ConcurrentHashMap<>();
    /** The copies of {@link #opened} in the order they were opened, eldest first. */
    private final java.util.ArrayDeque<Opened> openedOrder = new java.util.ArrayDeque<>();
    static final int OPENED_SIZE = 10_000;

    private record Opened(UUID id, TriggerEvent event, long at) {

        boolean fresh() {
            return young(at);
        }
    }

    /** Whether a copy made at {@code at} (nanoTime) is young enough to hand out: the send cache's time. */
    private static boolean young(long at) {
        return System.nanoTime() - at < SEND_CACHE_TTL.toNanos();
    }

    /** Empties {@link #written} and {@link #opened} of old copies on a quiet hub, where nothing else would. */
    private final java.util.concurrent.ScheduledExecutorService expiry = java.util.concurrent.Executors
            .newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "caravan-contact-copies-expiry");
                t.setDaemon(true);
                return t;
            });

    static final java.time.Duration SEND_CACHE_TTL = java.time.Duration.ofSeconds(30);

    @jakarta.annotation.PostConstruct
    void startExpiry() {
        long every = SEND_CACHE_TTL.toMillis() / 2;
        expiry.scheduleWithFixedDelay(() -> {
            dropOldWritten();
            dropOld();
        }, every, every, java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    @jakarta.annotation.PreDestroy
    void stopExpiry() {
        expiry.shutdownNow();
        synchronized (written) {
            written.clear();
        }
        synchronized (openedOrder) {
            opened.clear();
            openedOrder.clear();
        }
    }

    /**
     * The contact as {@link #findById} reads it, for the send path (the planner and the gate at send time) and the
     * event-log readers that only read it (the segment index, the workflow engine: each reads the same contact for the
     * same event, and a feed's burst for one patient reads it again and again): the row's
     * version is read every time - a small indexed read, no decryption - and the contact decrypted and parsed again
     * only when it changed since the send path last read it. Every write of a contact (the writer, a workflow's
     * update, a merge, a split) moves its version, so a change committed before this read is always seen, as with
     * {@link #findById}. The contact returned is shared with other senders: read it, never change it.
     */
    public Optional<Contact> findForSend(UUID id) {
        writer.awaitVisible();
        List<VersionRow> rows = jdbc.query("SELECT version, merged_into FROM contact WHERE id = ?",
                (rs, n) -> new VersionRow(rs.getLong(1), rs.getObject(2, UUID.class)), id);
        if (rows.isEmpty()) {
            return Optional.empty();
        }
        if (rows.get(0).mergedInto() != null) {
            return findById(id); // a merged-away id: rare, read through to the survivor
        }
        long version = rows.get(0).version();
        Held held = forSend.getIfPresent(id);
        if (held != null && held.version() == version) {
            return Optional.of(held.contact());
        }
        held = written(id);
        if (held != null && held.version() == version) {
            return Optional.of(keep(id, held).contact());
        }
        List<Held> read = jdbc.query("SELECT key_id, payload, version FROM contact WHERE id = ? AND merged_into IS NULL",
                (rs, n) -> new Held(rs.getLong(3), ContactJson.read(cipher.open(rs.getString(1), rs.getBytes(2),
                        id.toString()), ContactJson.Stored.class).contact()), id);
        if (read.isEmpty()) {
            return findById(id); // merged in between
        }
        return Optional.of(keep(id, read.get(0)).contact());
    }

    /**
     * What the send path holds for this contact now, if it holds it at the row's current version (diagnostics, and
     * the test that the writer's copy is the contact as stored).
     */
    public Optional<Contact> heldForSend(UUID id) {
        List<Long> version = jdbc.queryForList("SELECT version FROM contact WHERE id = ?", Long.class, id);
        Held held = forSend.getIfPresent(id);
        if (held == null || version.isEmpty() || held.version() != version.get(0)) {
            held = written(id);
        }
        return held != null && !version.isEmpty() && held.version() == version.get(0) ? Optional.of(held.contact())
                : Optional.empty();
    }

    /**
     * The contact writer's copy of a contact it has just committed at {@code version}: the next {@link #findForSend}
     * at that version takes it as it is. The writer never changes it afterwards.
     */
    void seed(UUID id, long version, Contact contact) {
        synchronized (written) {
            Held before = written.remove(id); // a contact written again goes to the young end
            // several writers (PostgreSQL) may hand over a contact's versions out of order: the newest stays
            written.put(id, before != null && before.version() > version ? before : new Held(version, contact));
            dropOldWritten();
        }
    }

    /**
     * Into the send cache, unless a reader put the contact there at the same version meanwhile: then that one, so
     * every reader of a version holds the same object (a campaign's batch and its gate).
     */
    private Held keep(UUID id, Held held) {
        return forSend.asMap().compute(id, (k, cur) -> cur != null && cur.version() == held.version() ? cur : held);
    }

    /** The writer's copy of a contact, while it is young (PHI stays in memory briefly, as in the send cache). */
    private Held written(UUID id) {
        synchronized (written) {
            dropOldWritten();
            Held held = written.get(id);
            return held != null && held.fresh() ? held : null;
        }
    }

    /**
     * Drops the writer's copies older than the send cache keeps its contacts: they are in insertion order, so from
     * the eldest on. Called on every use and by the timer, so a quiet hub holds none for long.
     */
    private void dropOldWritten() {
        synchronized (written) {
            java.util.Iterator<Held> it = written.values().iterator();
            while (it.hasNext() && !it.next().fresh()) {
                it.remove();
            }
        }
    }

    /** Drops opened events from the eldest on while they are too many or older than the send cache keeps contacts. */
    private void dropOld() {
        synchronized (openedOrder) {
            Opened eldest;
            while ((eldest = openedOrder.peekFirst()) != null && (!eldest.fresh() || opened.size() > OPENED_SIZE)) {
                openedOrder.pollFirst();
                opened.remove(eldest.id(), eldest);
            }
        }
    }

    /**
     * {@link #findForSend} for several contacts (a campaign's batch of recipients): versions and sealed rows in one
     * read, each decrypted only when the send path does not hold it at that version already, and kept for the send
     * path as {@link #findForSend} keeps it. A merged-away id is read through to its survivor; an id with no contact
     * is missing from the map. The contacts are shared with other senders: read them, never change them.
     */
    public java.util.Map<UUID, Contact> findAllForSend(java.util.Collection<UUID> ids) {
        writer.awaitVisible();
        java.util.Map<UUID, Contact> out = new java.util.HashMap<>();
        List<UUID> merged = new java.util.ArrayList<>();
        List<UUID> all = List.copyOf(ids);
        for (int from = 0; from < all.size(); from += 500) {
            List<UUID> part = all.subList(from, Math.min(all.size(), from + 500));
            // the version first: a cached contact at the row's version is not decrypted again
            jdbc.query("SELECT id, version, merged_into, key_id, payload FROM contact WHERE id IN ("
                    + String.join(", ", java.util.Collections.nCopies(part.size(), "?")) + ")", rs -> {
                        UUID id = rs.getObject(1, UUID.class);
                        if (rs.getObject(3, UUID.class) != null) {
                            merged.add(id);
                            return;
                        }
                        long version = rs.getLong(2);
                        Held held = forSend.getIfPresent(id);
                        if (held == null || held.version() != version) {
                            held = written(id);
                        }
                        if (held == null || held.version() != version) {
                            held = new Held(version, ContactJson.read(cipher.open(rs.getString(4), rs.getBytes(5),
                                    id.toString()), ContactJson.Stored.class).contact());
                        }
                        held = keep(id, held);
                        out.put(id, held.contact());
                    }, part.toArray());
        }
        for (UUID id : merged) {
            findById(id).ifPresent(c -> out.put(id, c));
        }
        return out;
    }

    /**
     * The contact's id and those of every record merged into it (directly or through earlier merges): the records
     * whose audit entries and disclosures are the survivor's too. Empty when there is no such contact. Follows merges
     * from a merged-away id to the survivor first. Read rarely (the compliance API), so merged_into has no index: a
     * scan per level of merges, rather than an index paid on every group commit.
     */
    @Override
    public List<UUID> withMerged(UUID id) {
        Optional<Contact> survivor = findById(id);
        if (survivor.isEmpty()) {
            return List.of();
        }
        List<UUID> out = new ArrayList<>(List.of(survivor.get().id));
        List<UUID> level = List.of(survivor.get().id);
        for (int hop = 0; hop < MAX_MERGE_HOPS && !level.isEmpty(); hop++) {
            String in = "(" + "?,".repeat(level.size() - 1) + "?)";
            level = jdbc.queryForList("SELECT id FROM contact WHERE merged_into IN " + in, UUID.class,
                    level.toArray());
            level = level.stream().filter(u -> !out.contains(u)).toList();
            out.addAll(level);
        }
        return out;
    }

    /**
     * Ids of contacts not merged into another, in id order after {@code after} (null: from the start), at most
     * {@code max}: a consumer that must visit every contact once (the segment index's backfill) pages through them.
     */
    public List<UUID> contactIds(UUID after, int max) {
        return after == null
                ? jdbc.queryForList("SELECT id FROM contact WHERE merged_into IS NULL ORDER BY id LIMIT " + max,
                        UUID.class)
                : jdbc.queryForList("SELECT id FROM contact WHERE merged_into IS NULL AND id > ? ORDER BY id LIMIT "
                        + max, UUID.class, after);
    }

    /** Trigger events of a contact (including those of records merged into it), oldest first. */
    public List<TriggerEvent> events(UUID contactId) {
        writer.awaitVisible();
        List<TriggerEvent> out = new ArrayList<>();
        // the log's contact.changed and message.* entries are the hub's own records, not the contact's events
        jdbc.query("SELECT id, key_id, payload FROM trigger_event WHERE contact_id = ? AND type <> '"
                + TriggerEvent.CONTACT_CHANGED + "' AND type NOT LIKE '" + TriggerEvent.MESSAGE_PREFIX + "%'"
                + " ORDER BY id", rs -> {
            UUID id = rs.getObject(1, UUID.class);
            out.add(ContactJson.read(cipher.open(rs.getString(2), rs.getBytes(3), id.toString()), TriggerEvent.class));
        }, contactId);
        out.sort(Comparator.comparing(TriggerEvent::occurredAt, Comparator.nullsLast(Comparator.naturalOrder())));
        return out;
    }

    /**
     * An entry of the event log: a trigger event at its position in its partition (the contact's when it was
     * appended), with the contact that holds it when read.
     */
    public static final class LoggedEvent {
        private final int partition;
        private final long position;
        private final UUID contactId;
        private final UUID id;
        private final String type;
        private java.util.function.Supplier<TriggerEvent> sealed;
        private TriggerEvent event;

        public LoggedEvent(int partition, long position, UUID contactId, TriggerEvent event) {
            this.partition = partition;
            this.position = position;
            this.contactId = contactId;
            this.id = event.id();
            this.type = event.type();
            this.event = event;
        }

        /**
         * An event as read from the log: its type is a clear column, the rest is opened and parsed when first asked
         * for - a reader that skips the type (most skip most of the log) pays for neither.
         */
        public LoggedEvent(int partition, long position, UUID contactId, UUID id, String type,
                java.util.function.Supplier<TriggerEvent> sealed) {
            this.partition = partition;
            this.position = position;
            this.contactId = contactId;
            this.id = id;
            this.type = type;
            this.sealed = sealed;
        }

        public int partition() {
            return partition;
        }

        public long position() {
            return position;
        }

        public UUID contactId() {
            return contactId;
        }

        /** The event's id, without opening it (what a log line or a retry row names). */
        public UUID id() {
            return id;
        }

        /** The event's type, without opening it. */
        public String type() {
            return type;
        }

        public synchronized TriggerEvent event() {
            if (event == null) {
                event = sealed.get();
                sealed = null;
            }
            return event;
        }

        @Override
        public String toString() {
            // no payload: what a log line or a failed assertion may show
            return "LoggedEvent[partition=" + partition + ", position=" + position + ", type=" + type + "]";
        }
    }

    /**
     * A partition of the event log from {@code after} on, oldest first: at most {@code max} events, one query.
     * Positions commit in order within a partition (the writer appends under the partition's head lock), so nothing
     * below the last one returned appears later. What is committed is the log: no wait for the embedded store's
     * journal applier.
     */
    public List<LoggedEvent> logAfter(int partition, long after, int max) {
        return jdbc.query("SELECT log_partition, position, id, contact_id, key_id, payload, type FROM trigger_event"
                + " WHERE log_partition = ? AND position > ? ORDER BY position LIMIT " + max,
                (rs, n) -> logged(rs), partition, after);
    }

    /** A partition's entries at these positions (a subscriber's retries), oldest first; gone ones are left out. */
    public List<LoggedEvent> logAt(int partition, java.util.Collection<Long> positions) {
        if (positions.isEmpty()) {
            return List.of();
        }
        String in = "(" + "?,".repeat(positions.size() - 1) + "?)";
        List<Object> args = new ArrayList<>();
        args.add(partition);
        args.addAll(positions);
        return jdbc.query("SELECT log_partition, position, id, contact_id, key_id, payload, type FROM trigger_event"
                + " WHERE log_partition = ? AND position IN " + in + " ORDER BY position", (rs, n) -> logged(rs),
                args.toArray());
    }

    /** Whether the partition holds an event of the contact after {@code after} (by the key, no payload read). */
    public boolean logHasEventOf(UUID contactId, int partition, long after) {
        return !jdbc.queryForList("SELECT 1 FROM trigger_event WHERE contact_id = ? AND log_partition = ?"
                + " AND position > ? LIMIT 1", Integer.class, contactId, partition, after).isEmpty();
    }

    /** The last position appended to each partition (0 when empty), by partition number. */
    public List<Long> logHeads() {
        Long[] heads = new Long[partitions.count()];
        java.util.Arrays.fill(heads, 0L);
        jdbc.query("SELECT log_partition, last_position FROM event_log_head", rs -> {
            int p = rs.getInt(1);
            if (p < heads.length) {
                heads[p] = rs.getLong(2);
            }
        });
        return List.of(heads);
    }

    /** The number of partitions of the event log. */
    public int logPartitions() {
        return partitions.count();
    }

    /**
     * The contact that holds an event now - a merge (A40) moves events to the survivor, a split back - looked up by
     * the table's key first, then by the event's id alone. Empty when the event is gone.
     */
    public Optional<UUID> eventOwner(UUID contactId, UUID eventId) {
        List<UUID> rows = jdbc.queryForList("SELECT contact_id FROM trigger_event WHERE contact_id = ? AND id = ?",
                UUID.class, contactId, eventId);
        if (rows.isEmpty()) {
            rows = jdbc.queryForList("SELECT contact_id FROM trigger_event WHERE id = ?", UUID.class, eventId);
        }
        return rows.isEmpty() ? Optional.empty() : Optional.of(rows.get(0));
    }

    /**
     * {@link #eventOwner} for a run of one partition's events, by event id: one read of the run's positions (a merge
     * or a split moves an event to another contact in place, at its position), and the key lookup only for an event
     * not found there. An event that is gone has no entry.
     */
    public Map<UUID, UUID> eventOwners(List<LoggedEvent> run) {
        Map<UUID, UUID> owners = new HashMap<>();
        if (run.isEmpty()) {
            return owners;
        }
        int partition = run.get(0).partition();
        long from = Long.MAX_VALUE;
        long to = Long.MIN_VALUE;
        for (LoggedEvent e : run) {
            if (e.partition() != partition) {
                throw new IllegalArgumentException("a run is one partition's");
            }
            from = Math.min(from, e.position());
            to = Math.max(to, e.position());
        }
        jdbc.query("SELECT id, contact_id FROM trigger_event WHERE log_partition = ? AND position BETWEEN ? AND ?",
                rs -> {
                    owners.put(rs.getObject(1, UUID.class), rs.getObject(2, UUID.class));
                }, partition, from, to);
        owners.keySet().retainAll(run.stream().map(LoggedEvent::id).collect(java.util.stream.Collectors.toSet()));
        for (LoggedEvent e : run) {
            if (!owners.containsKey(e.id())) {
                eventOwner(e.contactId(), e.id()).ifPresent(o -> owners.put(e.id(), o));
            }
        }
        return owners;
    }

    private LoggedEvent logged(java.sql.ResultSet rs) throws java.sql.SQLException {
        UUID id = rs.getObject(3, UUID.class);
        String keyId = rs.getString(5);
        byte[] payload = rs.getBytes(6);
        return new LoggedEvent(rs.getInt(1), rs.getLong(2), rs.getObject(4, UUID.class), id, rs.getString(7),
                () -> open(id, keyId, payload));
    }

    /**
     * A logged event's content, decrypted and parsed once for all the log's readers while it is young. Readers that
     * keep pace read the same event at the same moment: the later one waits for the first one's parse.
     */
    private TriggerEvent open(UUID id, String keyId, byte[] payload) {
        Opened o = opened.get(id);
        if (o != null && o.fresh()) {
            return o.event();
        }
        Opened[] made = {null};
        o = opened.compute(id, (k, cur) -> {
            if (cur != null && cur.fresh()) {
                return cur;
            }
            made[0] = new Opened(id, ContactJson.read(cipher.open(keyId, payload, id.toString()), TriggerEvent.class),
                    System.nanoTime());
            return made[0];
        });
        if (made[0] != null) {
            synchronized (openedOrder) {
                openedOrder.add(made[0]);
            }
            dropOld();
        }
        return o.event();
    }

    /**
     * Appends one of the hub's own entries (a message's status, see {@code eventlog.EventAppends}) to the contact's
     * partition of the log, inside the caller's transaction: the next position under the partition's head row lock,
     * held until that transaction ends, as the writer's group commits take it (one row, locked last, so no deadlock
     * with them).
     */
    public void appendToLog(UUID contactId, TriggerEvent e, java.time.Instant recordedAt) {
        if (!org.springframework.transaction.support.TransactionSynchronizationManager.isActualTransactionActive()) {
            throw new IllegalStateException("an event log append belongs in the caller's transaction");
        }
        int p = partitions.of(contactId);
        Long at = jdbc.queryForObject("SELECT last_position FROM event_log_head WHERE log_partition = ? FOR UPDATE",
                Long.class, p);
        if (at == null) {
            throw new IllegalStateException("event_log_head has no row for partition " + p);
        }
        jdbc.update("INSERT INTO trigger_event (id, contact_id, type, inbound_id, key_id, payload, recorded_at,"
                + " log_partition, position) VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?)", e.id(), contactId, e.type(),
                cipher.activeKeyId(), sealEvent(cipher, e), java.sql.Timestamp.from(recordedAt), p, at + 1);
        jdbc.update("UPDATE event_log_head SET last_position = ? WHERE log_partition = ?", at + 1, p);
    }

    /** Seals an event for storage; called by the receiving thread so the writer only commits. */
    public static byte[] sealEvent(FieldCipher cipher, TriggerEvent event) {
        return cipher.seal(ContactJson.write(event), event.id().toString());
    }
}
