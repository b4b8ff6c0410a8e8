package io.caravan.audit;

import io.caravan.crypto.FieldCipher;
import io.caravan.system.GroupCommitter;
import io.caravan.system.JsonMaps;
import io.caravan.system.PhiSafeLogging;
import io.caravan.system.Problems;
import io.caravan.system.Worker;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * The one writer of the audit trail: group commit of MAC-chained entries.
 *
 * <p>Callers queue drafts and (when the entry must be durable before they go on) wait for the returned future. This
 * thread takes whatever has queued up, numbers the drafts, seals their details, chains their MACs, inserts them and
 * moves the chain's head in one transaction. A draft may carry {@link TxWork} — the consent change it records — so
 * the change and its audit entry commit together or not at all. On H2 each group is followed by a CHECKPOINT: H2's
 * write delay would otherwise lose an acknowledged entry on {@code kill -9}. PostgreSQL's commit is already durable.
 */
@Component
public class AuditLog implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(AuditLog.class);
    private static final int MAX_GROUP = 2048;
    private static final long OUTBOX_SCAN_MILLIS = 2_000;
    private static final long PURGE_EVERY_MILLIS = Duration.ofDays(1).toMillis();
    private static final long INDEX_EVERY_MILLIS = 1_000;
    private static final long INDEX_BEHIND_MAX = 50_000;
    /**
     * The most the first entry a purge keeps may be younger than the cutoff. A trail written every day has entries
     * minutes after any cutoff; a larger gap is either a quiet spell (the purge waits until the cutoff catches up:
     * entries are kept longer, never shorter) or a clock that jumped ahead, which must not purge.
     */
    static final Duration PURGE_MAX_GAP = Duration.ofDays(7);

    /** Statements that commit with an audit entry (the consent change the entry records). */
    public interface TxWork {
        void run(Connection c) throws SQLException;
    }

    /**
     * A purge the writer would not run: the clock reads earlier than the newest entry, or the entries it would keep
     * start long after its cutoff (the trail jumps ahead in time, as when the clock was set years ahead and entries
     * were written with it). Nothing is deleted; the message names sequence numbers and dates only.
     */
    public static final class PurgeRefused extends RuntimeException {
        PurgeRefused(String message) {
            super(message);
        }
    }

    /** The trail could not take an entry in time: the action it would record must not go ahead. */
    public static final class AuditUnavailable extends Problems.Unaudited {
        AuditUnavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * An entry ready to chain: time, sealed details and content digest are computed by the appending thread, so the
     * writer's share of each entry is one MAC and its row.
     */
    private record Pending(AuditDraft draft, TxWork work, Instant at, String keyId, byte[] payload, byte[] digest,
            Instant purgeBefore) {
    }

    /** What a purge left as the chain's anchor: the last purged entry and its MAC. */
    private record Anchor(long through, byte[] mac) {
    }

    /**
     * A group whose COMMIT got no answer (the connection dropped inside it): the chain as the group would have left it,
     * and the seq each of its entries would have. Whether it landed is known from its last entry's row.
     */
    private record Unanswered(long seq, UUID lastId, byte[] mac, long pThrough, byte[] pMac,
            java.util.Map<UUID, Long> seqs) {
    }

    private Pending prepare(AuditDraft d, TxWork work, String keyId, byte[] sealed, Instant purgeBefore) {
        Instant at = AuditChain.truncate(d.at != null ? d.at : clock.instant());
        byte[] payload = sealed != null ? sealed : seal(d);
        String kid = payload == null ? null : keyId != null ? keyId : cipher.activeKeyId();
        byte[] digest = AuditChain.contentDigest(d.id, at, d.actor, d.action, d.contactId, d.purpose, d.channel,
                d.outcome, kid, payload);
        return new Pending(d, work, at, kid, payload, digest, purgeBefore);
    }

    private static final long CHECKPOINT_EVERY_MILLIS = 60_000;

    private final DataSource dataSource;
    private final FieldCipher cipher;
    private final Clock clock;
    private final AuditProperties props;
    /** Null: no anchor outside the database (unit tests of the chain alone). */
    private final AuditCheckpoints checkpoints;
    private volatile long checkpointedSeq = -1;
    private final java.util.Queue<CompletableFuture<Long>> checkpointWaiters =
            new java.util.concurrent.ConcurrentLinkedQueue<>();
    private volatile GroupCommitter<Pending, Long> writer;
    private final java.util.concurrent.atomic.LongAdder waitedAppends = new java.util.concurrent.atomic.LongAdder();
    private volatile boolean running;
    private volatile boolean outboxNudged = true;
    /** Moved only when {@link #drainOutboxNow()} asks (several nodes: one node at a time, see there). */
    private volatile boolean outboxOnCall;
    private final java.util.Queue<CompletableFuture<Void>> outboxWaiters =
            new java.util.concurrent.ConcurrentLinkedQueue<>();
    private Worker indexer;
    /** The writer thread's schedule of its periodic duties (see {@link #duties()}). */
    private long nextOutboxScan;
    private long nextPurge;
    private long nextCheckpoint;
    private boolean h2;
    /** Written by the writer thread after each commit; read by the indexer. */
    private volatile long headSeq;
    private byte[] headMac = AuditChain.GENESIS;
    /**
     * The head as far as it is known durable (on H2 the last group's CHECKPOINT done): what the checkpoint file may
     * anchor. A checkpoint past what a crash keeps would make verify report the lost tail as a rollback.
     */
    private long durableSeq;
    private byte[] durableMac = AuditChain.GENESIS;
    private long purgedThrough;
    private long indexedThrough;
    private byte[] purgedMac = AuditChain.GENESIS;
    /** Writer thread only: a commit not yet known to have landed or not (the database was out of reach to ask). */
    private Unanswered unanswered;
    /**
     * Writer thread only: the entries of unanswered commits that turned out to have landed (the latest few thousand).
     * Their callers were told the trail was out of reach and may queue the same entries again: those complete with
     * their seq, not a second row.
     */
    private final java.util.Map<UUID, Long> landed = new java.util.LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(java.util.Map.Entry<UUID, Long> eldest) {
            return size() > 10_000;
        }
    };

    public AuditLog(DataSource dataSource, FieldCipher cipher, Clock clock, AuditProperties props) {
        this(dataSource, cipher, clock, props, null);
    }

    @org.springframework.beans.factory.annotation.Autowired
    public AuditLog(DataSource dataSource, FieldCipher cipher, Clock clock, AuditProperties props,
            AuditCheckpoints checkpoints) {
        this.dataSource = dataSource;
        this.cipher = cipher;
        this.clock = clock;
        this.props = props;
        this.checkpoints = checkpoints;
    }

    /** Queues an entry; the future completes with its sequence number once it is durable. */
    public CompletableFuture<Long> append(AuditDraft draft) {
        return append(draft, null);
    }

    /** Queues an entry together with the statements of the change it records: both commit, or neither. */
    public CompletableFuture<Long> append(AuditDraft draft, TxWork work) {
        return enqueue(prepare(draft, work, null, null, null));
    }

    /** Appends and waits until durable; throws {@link AuditUnavailable} when the trail cannot take it. */
    public long appendAndWait(AuditDraft draft) {
        return appendAndWait(draft, null);
    }

    public long appendAndWait(AuditDraft draft, TxWork work) {
        waitedAppends.increment();
        return await(append(draft, work));
    }

    /**
     * How many entries callers have appended and waited for since the start (not those queued without waiting): each
     * is a commit of the trail a thread of the hub sat out. The send path's figure: one for planning, one for the send.
     */
    public long waitedAppends() {
        return waitedAppends.sum();
    }

    /**
     * Appends several entries at once and waits until all are durable: they are queued together, so they share a
     * group commit (or a few) instead of one wait each - for a caller acting on a run of things, each of which must be
     * audited before it acts. Returns their sequence numbers in order; throws {@link AuditUnavailable} when the trail
     * cannot take one of them (some others may be durable: each is a true record of what was about to happen).
     */
    public List<Long> appendAllAndWait(List<AuditDraft> drafts) {
        List<CompletableFuture<Long>> queued = new ArrayList<>(drafts.size());
        for (AuditDraft d : drafts) {
            queued.add(append(d));
        }
        List<Long> seqs = new ArrayList<>(queued.size());
        for (CompletableFuture<Long> f : queued) {
            seqs.add(await(f));
        }
        return seqs;
    }

    /**
     * {@link #appendAllAndWait(List)} for entries that each carry the statements of the change they record
     * ({@code works}, in the same order, null for none): one wait for the whole run, and each entry commits with its
     * own change or not at all - a planner storing a run of messages with their decisions.
     */
    public List<Long> appendAllAndWait(List<AuditDraft> drafts, List<TxWork> works) {
        if (drafts.size() != works.size()) {
            throw new IllegalArgumentException("one work (or null) per entry");
        }
        List<CompletableFuture<Long>> queued = new ArrayList<>(drafts.size());
        for (int i = 0; i < drafts.size(); i++) {
            queued.add(append(drafts.get(i), works.get(i)));
        }
        waitedAppends.increment();
        List<Long> seqs = new ArrayList<>(queued.size());
        for (CompletableFuture<Long> f : queued) {
            seqs.add(await(f));
        }
        return seqs;
    }

    /**
     * Purges entries older than {@code cutoff} (kept in order with appends) and records the purge as an entry; the
     * chain then starts at the last purged entry's MAC. Age is counted from the trail's newest entry as well as from
     * the clock, so a clock set ahead cannot purge what the retention period still covers; a purge against a clock
     * behind the newest entry, or one that would leave a trail starting long after the cutoff, completes with
     * {@link PurgeRefused} and deletes nothing.
     */
    public CompletableFuture<Long> purgeBefore(Instant cutoff) {
        return enqueue(prepare(AuditDraft.of("caravan", Actions.PURGED), null, null, null, cutoff));
    }

    /**
     * Writes a checkpoint of the head now rather than at the next minute (before a backup, or in a test); completes
     * with the sequence number the newest checkpoint holds.
     */
    public CompletableFuture<Long> checkpointNow() {
        CompletableFuture<Long> f = new CompletableFuture<>();
        checkpointWaiters.add(f);
        return f;
    }

    /**
     * For another writer's transaction: entries that must commit with its data but cannot wait for the chain. They are
     * moved into the chain right after (see {@link #outboxWritten()}), exactly once.
     */
    public void writeOutbox(Connection c, List<AuditDraft> drafts) throws SQLException {
        if (drafts.isEmpty()) {
            return;
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO audit_outbox (id, at, actor, action, contact_id,"
                + " purpose, channel, outcome, key_id, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            for (AuditDraft d : drafts) {
                Instant at = AuditChain.truncate(d.at != null ? d.at : clock.instant());
                byte[] payload = seal(d);
                ps.setObject(1, d.id);
                ps.setTimestamp(2, Timestamp.from(at));
                ps.setString(3, d.actor);
                ps.setString(4, d.action);
                ps.setObject(5, d.contactId);
                ps.setString(6, d.purpose);
                ps.setString(7, d.channel);
                ps.setString(8, d.outcome);
                ps.setString(9, payload == null ? null : cipher.activeKeyId());
                ps.setBytes(10, payload);
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    /** Tells the writer that the outbox has entries (after the other writer's commit). */
    public void outboxWritten() {
        outboxNudged = true;
    }

    /**
     * Several nodes on one database: the writer no longer moves the outbox by itself (after a nudge, every two
     * seconds, at start), only when {@link #drainOutboxNow()} asks. Every node's writer scanned the one shared outbox,
     * so two nodes moved the same entries at once and the later group was rolled back ("outbox entry already moved");
     * the caller asks from a trigger that runs on one node at a time. Before {@link #start()}.
     */
    public void drainOutboxOnCall() {
        outboxOnCall = true;
    }

    /** Moves the outbox into the chain on the writer thread, between groups; returns once it did (or failed). */
    public void drainOutboxNow() throws InterruptedException {
        CompletableFuture<Void> done = new CompletableFuture<>();
        outboxWaiters.add(done);
        try {
            done.get(60, java.util.concurrent.TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("the audit outbox was not moved", null);
        }
    }

    /**
     * {@link #awaitDurable} for an entry a caller queued itself and may wait on again (counted in
     * {@link #waitedAppends()} like {@link #appendAndWait}): a caller that gave up waiting can come back to the same
     * entry, which the writer may still commit, instead of appending it a second time.
     */
    public long waitFor(CompletableFuture<Long> queued) {
        waitedAppends.increment();
        return await(queued);
    }

    /**
     * Waits until a queued entry is durable (see {@link #append}); throws {@link AuditUnavailable} as
     * {@link #appendAndWait} does. For callers that queue an entry, do work that does not act on it yet, then wait.
     */
    public static long awaitDurable(CompletableFuture<Long> queued) {
        return await(queued);
    }

    static long await(CompletableFuture<Long> f) {
        try {
            return f.get(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AuditUnavailable("interrupted while writing the audit trail", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new AuditUnavailable("the audit trail could not record the action", e);
        }
    }

    private CompletableFuture<Long> enqueue(Pending p) {
        GroupCommitter<Pending, Long> w = writer;
        if (!running || w == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("audit trail is not running"));
        }
        return w.submit(p);
    }

    private byte[] seal(AuditDraft d) {
        return d.details.isEmpty() ? null : cipher.seal(JsonMaps.write(d.details), "audit:" + d.id);
    }

    // ---- the writer thread ------------------------------------------------------------------------------------

    /**
     * Between groups, on the writer thread (so they never interleave with a group): move outbox entries into the
     * chain, start the daily purge, anchor the head in a checkpoint.
     */
    private void duties() {
        long now = System.currentTimeMillis();
        if (running && !outboxOnCall && (outboxNudged || now >= nextOutboxScan)) {
            outboxNudged = false;
            drainOutbox();
            nextOutboxScan = now + OUTBOX_SCAN_MILLIS;
        }
        if (!outboxWaiters.isEmpty()) {
            List<CompletableFuture<Void>> asked = new ArrayList<>();
            for (CompletableFuture<Void> f; (f = outboxWaiters.poll()) != null;) {
                asked.add(f);
            }
            if (running) {
                drainOutbox();
            }
            asked.forEach(f -> f.complete(null));
        }
        if (props.purge() && now >= nextPurge) {
            nextPurge = now + PURGE_EVERY_MILLIS;
            purgeBefore(clock.instant().atZone(ZoneOffset.UTC).minus(props.retention()).toInstant());
        }
        if (now >= nextCheckpoint || !checkpointWaiters.isEmpty()) {
            nextCheckpoint = now + CHECKPOINT_EVERY_MILLIS;
            checkpoint();
        }
    }

    /** Anchors the committed head outside the database (see {@link AuditCheckpoints}); on the writer thread. */
    private void checkpoint() {
        long seq = durableSeq;
        if (checkpoints == null || seq == checkpointedSeq || seq == 0) {
            completeCheckpointWaiters();
            return;
        }
        try {
            checkpoints.append(seq, durableMac, clock.instant());
            checkpointedSeq = seq;
        } catch (IOException | RuntimeException e) {
            log.error("Writing the audit checkpoint failed ({}); will retry", PhiSafeLogging.describe(e));
            failCheckpointWaiters(e);
            return;
        }
        completeCheckpointWaiters();
    }

    private void completeCheckpointWaiters() {
        CompletableFuture<Long> f;
        while ((f = checkpointWaiters.poll()) != null) {
            f.complete(checkpointedSeq);
        }
    }

    private void failCheckpointWaiters(Exception e) {
        CompletableFuture<Long> f;
        while ((f = checkpointWaiters.poll()) != null) {
            f.completeExceptionally(e);
        }
    }

    /**
     * The by-contact index, on a thread of its own so appends never wait for it: about once a second (sooner when far
     * behind) it indexes everything committed since the last time.
     */
    private void indexLoop() {
        while (running) {
            try {
                long waited = 0;
                while (running && waited < INDEX_EVERY_MILLIS && headSeq - indexedThrough < INDEX_BEHIND_MAX) {
                    Thread.sleep(50);
                    waited += 50;
                }
                if (indexedThrough < headSeq) {
                    indexContacts();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /**
     * Brings the by-contact index up to the head in one transaction (no checkpoint: it is derived, and its
     * indexed_through commits with it, so a lost batch is simply indexed again).
     */
    private void indexContacts() {
        long through = headSeq;
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            if (!h2) {
                // another node's indexer may have indexed this range: the state row, locked, says where to go on
                try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
                        "SELECT indexed_through FROM audit_index_state WHERE id = 1 FOR UPDATE")) {
                    rs.next();
                    indexedThrough = Math.max(indexedThrough, rs.getLong(1));
                }
                if (indexedThrough >= through) {
                    c.commit();
                    return;
                }
            }
            try (PreparedStatement ins = c.prepareStatement("INSERT INTO audit_contact (contact_id, seq)"
                    + " SELECT contact_id, seq FROM audit_entry WHERE seq > ? AND seq <= ? AND contact_id IS NOT NULL");
                    PreparedStatement st = c.prepareStatement(
                            "UPDATE audit_index_state SET indexed_through = ? WHERE id = 1")) {
                ins.setLong(1, indexedThrough);
                ins.setLong(2, through);
                ins.executeUpdate();
                st.setLong(1, through);
                st.executeUpdate();
                c.commit();
                indexedThrough = through;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException | RuntimeException e) {
            log.error("Indexing audit entries by contact failed ({}); will retry", PhiSafeLogging.describe(e));
        }
    }

    /** Moves outbox entries into the chain, deleting them in the same transaction. */
    private void drainOutbox() {
        try {
            while (true) {
                List<Pending> moved = new ArrayList<>();
                try (Connection c = dataSource.getConnection(); Statement s = c.createStatement();
                        ResultSet rs = s.executeQuery("SELECT id, at, actor, action, contact_id, purpose, channel,"
                                + " outcome, key_id, payload FROM audit_outbox ORDER BY id")) {
                    while (rs.next() && moved.size() < 500) {
                        UUID id = rs.getObject(1, UUID.class);
                        AuditDraft d = AuditDraft.restored(id, rs.getTimestamp(2).toInstant(), rs.getString(3),
                                rs.getString(4)).contact(rs.getObject(5, UUID.class)).purpose(rs.getString(6))
                                .channel(rs.getString(7)).outcome(rs.getString(8));
                        TxWork delete = tx -> {
                            try (PreparedStatement ps = tx.prepareStatement("DELETE FROM audit_outbox WHERE id = ?")) {
                                ps.setObject(1, id);
                                if (ps.executeUpdate() != 1) {
                                    throw new SQLException("outbox entry already moved");
                                }
                            }
                        };
                        moved.add(prepare(d, delete, rs.getString(9), rs.getBytes(10), null));
                    }
                }
                if (moved.isEmpty()) {
                    return;
                }
                writer.commitNow(moved);
                if (moved.size() < 500) {
                    return;
                }
            }
        } catch (SQLException | RuntimeException e) {
            log.error("Moving audit outbox entries failed ({}); will retry", PhiSafeLogging.describe(e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * One group in one transaction; a failed group is rolled back and the writer retries its entries one at a time
     * (see {@link GroupCommitter}), so one bad entry (its consent change refused) cannot fail its neighbours.
     */
    private void commit(List<GroupCommitter.Item<Pending, Long>> group) throws SQLException {
        Connection conn;
        try {
            conn = dataSource.getConnection();
        } catch (SQLException e) {
            throw new GroupCommitter.Unavailable(e);
        }
        try (Connection c = conn) {
            c.setAutoCommit(false);
            if (!h2) {
                lockHead(c);
            }
            if (unanswered != null) {
                // on PostgreSQL after the head's lock: the unanswered transaction held it, so its outcome is final
                settle(c, unanswered);
            }
            long seq = headSeq;
            byte[] mac = headMac;
            long pThrough = purgedThrough;
            byte[] pMac = purgedMac;
            long[] assigned = new long[group.size()];
            RuntimeException[] refused = new RuntimeException[group.size()];
            java.util.Map<UUID, Long> seqs = new java.util.HashMap<>();
            UUID lastId = null;
            boolean committing = false;
            try (PreparedStatement ins = c.prepareStatement("INSERT INTO audit_entry (seq, id, at, actor, action,"
                    + " contact_id, purpose, channel, outcome, key_id, payload, mac)"
                    + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                for (int g = 0; g < group.size(); g++) {
                    Pending p = group.get(g).value();
                    Long written = landed.get(p.draft.id);
                    if (written != null) {
                        // in the trail already, with its change: written by a commit whose answer was lost
                        assigned[g] = written;
                        continue;
                    }
                    if (p.purgeBefore != null) {
                        Anchor anchor;
                        try {
                            anchor = purge(c, p.purgeBefore, new Anchor(pThrough, pMac));
                        } catch (PurgeRefused e) {
                            log.warn("Audit purge refused: {}", e.getMessage());
                            refused[g] = e;
                            continue;
                        }
                        if (anchor.through() == pThrough) {
                            // nothing was old enough: no entry (a daily no-op would only bury the real ones)
                            assigned[g] = seq;
                            continue;
                        }
                        // what was purged is known only now: seal the purge entry's details here
                        p.draft.detail("purgedThrough", anchor.through()).detail("cutoff", p.purgeBefore.toString());
                        p = prepare(p.draft, null, null, null, null);
                        pThrough = anchor.through();
                        pMac = anchor.mac();
                    }
                    if (p.work != null) {
                        p.work.run(c);
                    }
                    AuditDraft d = p.draft;
                    seq++;
                    assigned[g] = seq;
                    seqs.put(d.id, seq);
                    lastId = d.id;
                    mac = AuditChain.entryMac(cipher, mac, seq, p.digest);
                    ins.setLong(1, seq);
                    ins.setObject(2, d.id);
                    ins.setTimestamp(3, Timestamp.from(p.at));
                    ins.setString(4, d.actor);
                    ins.setString(5, d.action);
                    ins.setObject(6, d.contactId);
                    ins.setString(7, d.purpose);
                    ins.setString(8, d.channel);
                    ins.setString(9, d.outcome);
                    ins.setString(10, p.keyId);
                    ins.setBytes(11, p.payload);
                    ins.setBytes(12, mac);
                    ins.addBatch();
                }
                ins.executeBatch();
                writeChain(c, pThrough, pMac, seq, mac);
                committing = true;
                c.commit();
            } catch (SQLException | RuntimeException e) {
                try {
                    c.rollback();
                } catch (SQLException r) {
                    // a connection gone (how a COMMIT's answer is lost) cannot roll back: e says what failed
                    e.addSuppressed(r);
                }
                if (!committing || lastId == null) {
                    throw e;
                }
                // COMMIT sent, no answer: it may have landed. Retrying blind would write each entry again (twice in
                // a patient's accounting of disclosures), failing blind would have callers repeat what is recorded.
                Unanswered u = new Unanswered(seq, lastId, mac, pThrough, pMac, seqs);
                Boolean in = landed(u);
                if (in == null) {
                    // asked at the next commit, before it writes anything
                    unanswered = u;
                    throw new GroupCommitter.Unavailable(e);
                }
                if (!in) {
                    throw e;
                }
                log.warn("An audit commit lost its answer but landed: its {} entries are kept, not written again",
                        seqs.size());
                landed.putAll(seqs);
            }
            // committed: the next group chains on from here, whatever the checkpoint below does
            headSeq = seq;
            headMac = mac;
            purgedThrough = pThrough;
            purgedMac = pMac;
            if (h2) {
                // H2 writes commits to its file after a delay: checkpoint so an entry reported durable survives kill -9
                try (Statement s = c.createStatement()) {
                    s.execute(props.fsync() ? "CHECKPOINT SYNC" : "CHECKPOINT");
                } catch (SQLException e) {
                    // committed but not known durable: no entry of it is reported durable, none is tried again
                    throw new GroupCommitter.Unavailable(e);
                }
            }
            durableSeq = seq;
            durableMac = mac;
            for (int i = 0; i < group.size(); i++) {
                if (refused[i] != null) {
                    group.get(i).fail(refused[i]);
                } else {
                    group.get(i).complete(assigned[i]);
                }
            }
        }
    }

    /**
     * Whether an unanswered commit landed: its last entry's row is there. Null when the database cannot say (no
     * connection; on PostgreSQL, the unanswered transaction still holding the head's lock - still committing, or
     * waiting for a standby). Asked on a second connection if the first fails: the pool may hand out one the drop
     * closed too.
     */
    private Boolean landed(Unanswered u) {
        for (int attempt = 0; attempt < 2; attempt++) {
            Connection c;
            try {
                c = dataSource.getConnection();
            } catch (SQLException e) {
                return null; // the pool waited its timeout for one: asked again before the next group
            }
            try (c) {
                if (h2) {
                    return landed(c, u);
                }
                c.setAutoCommit(false);
                try (Statement s = c.createStatement()) {
                    s.execute("SET LOCAL lock_timeout = '2s'");
                    s.executeQuery("SELECT head_seq FROM audit_chain WHERE id = 1 FOR SHARE").close();
                    return landed(c, u);
                } finally {
                    c.rollback();
                }
            } catch (SQLException e) {
                if ("55P03".equals(e.getSQLState())) {
                    return null; // lock_not_available: still in progress
                }
                // a broken connection: the pool evicts it, the next attempt gets another
            }
        }
        return null;
    }

    private static boolean landed(Connection c, Unanswered u) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT id FROM audit_entry WHERE seq = ?")) {
            ps.setLong(1, u.seq());
            try (ResultSet rs = ps.executeQuery()) {
                // another node may have taken the seq (PostgreSQL, several nodes): only our entry's id says landed
                return rs.next() && u.lastId().equals(rs.getObject(1, UUID.class));
            }
        }
    }

    /** Before a group: an earlier commit's unknown outcome, learnt. Throws (the group waits) while it cannot be. */
    private void settle(Connection c, Unanswered u) {
        boolean in;
        try {
            in = landed(c, u);
        } catch (SQLException e) {
            throw new GroupCommitter.Unavailable(e);
        }
        if (in) {
            log.warn("An audit commit that lost its answer had landed: its {} entries are kept, not written again",
                    u.seqs().size());
            if (h2) {
                // on H2 the head lives here; on PostgreSQL lockHead has just read it (other nodes may be past it)
                headSeq = u.seq();
                headMac = u.mac();
                purgedThrough = u.pThrough();
                purgedMac = u.pMac();
            }
            landed.putAll(u.seqs());
        }
        unanswered = null;
    }

    /**
     * Deletes the oldest entries up to the first one at or after {@code cutoff}; moves the anchor with them. The
     * guards (see {@link #purgeBefore}) run first: a refused purge throws before anything is deleted.
     */
    private Anchor purge(Connection c, Instant cutoff, Anchor from) throws SQLException {
        if (headSeq <= from.through()) {
            return from;
        }
        Instant newest = entryTime(c, headSeq);
        Instant now = clock.instant();
        if (now.isBefore(newest)) {
            throw new PurgeRefused("the clock reads " + now + ", earlier than the newest audit entry (" + headSeq
                    + ", " + newest + "); check the system clock");
        }
        // the retention period counted back from the newest entry too: a clock set ahead cannot shorten it
        Instant byNewest = newest.atZone(ZoneOffset.UTC).minus(props.retention()).toInstant();
        if (cutoff.isAfter(byNewest)) {
            cutoff = byNewest;
        }
        long keepFrom;
        try (PreparedStatement ps = c.prepareStatement("SELECT MIN(seq) FROM audit_entry WHERE at >= ?")) {
            ps.setTimestamp(1, Timestamp.from(cutoff));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                keepFrom = rs.getLong(1); // never null: the newest entry is younger than the cutoff
            }
        }
        long last = keepFrom - 1;
        if (last <= from.through()) {
            return from;
        }
        Instant firstKept = entryTime(c, keepFrom);
        if (firstKept.isAfter(cutoff.plus(PURGE_MAX_GAP))) {
            throw new PurgeRefused("entries " + (from.through() + 1) + " to " + last + " would go, but the first entry"
                    + " kept (" + keepFrom + ", " + firstKept + ") is more than " + PURGE_MAX_GAP.toDays()
                    + " days after the cutoff (" + cutoff + "): the trail jumps ahead in time (was the clock set"
                    + " ahead?); nothing purged");
        }
        byte[] lastMac;
        try (PreparedStatement ps = c.prepareStatement("SELECT mac FROM audit_entry WHERE seq = ?")) {
            ps.setLong(1, last);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new SQLException("audit entry to anchor on is missing");
                }
                lastMac = rs.getBytes(1);
            }
        }
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM audit_entry WHERE seq <= ?");
                PreparedStatement idx = c.prepareStatement("DELETE FROM audit_contact WHERE seq <= ?")) {
            ps.setLong(1, last);
            ps.executeUpdate();
            idx.setLong(1, last);
            idx.executeUpdate();
        }
        return new Anchor(last, lastMac);
    }

    private static Instant entryTime(Connection c, long seq) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT at FROM audit_entry WHERE seq = ?")) {
            ps.setLong(1, seq);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new SQLException("audit entry " + seq + " is missing");
                }
                return rs.getTimestamp(1).toInstant();
            }
        }
    }

    /**
     * Several hub nodes on one PostgreSQL write one chain: each group starts from the head in the chain record, locked
     * until the group commits, so the nodes' writers take turns (the database's row lock, no lock of our own). What it
     * costs: one more statement per group commit, not per entry, and one group in flight across the cluster at a
     * time. H2 is the single-node embedded database (its file is locked by one process): the head in memory is the
     * head, and no statement is added.
     */
    private void lockHead(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT purged_through, purged_mac,"
                + " head_seq, head_mac FROM audit_chain WHERE id = 1 FOR UPDATE")) {
            if (!rs.next()) {
                throw new SQLException("audit chain record missing");
            }
            // committed by this node or another: the chain as it stands
            purgedThrough = rs.getLong(1);
            purgedMac = rs.getBytes(2);
            headMac = rs.getBytes(4);
            headSeq = rs.getLong(3);
            // committed on PostgreSQL is durable
            durableSeq = headSeq;
            durableMac = headMac;
        }
    }

    private void writeChain(Connection c, long pThrough, byte[] pMac, long seq, byte[] mac) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE audit_chain SET purged_through = ?, purged_mac = ?,"
                + " head_seq = ?, head_mac = ?, mac = ? WHERE id = 1")) {
            ps.setLong(1, pThrough);
            ps.setBytes(2, pMac);
            ps.setLong(3, seq);
            ps.setBytes(4, mac);
            ps.setBytes(5, AuditChain.chainMac(cipher, pThrough, pMac, seq, mac));
            if (ps.executeUpdate() != 1) {
                throw new SQLException("audit chain record missing");
            }
        }
    }

    private void open() throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            h2 = "H2".equalsIgnoreCase(c.getMetaData().getDatabaseProductName());
            try (Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery("SELECT indexed_through FROM audit_index_state WHERE id = 1")) {
                rs.next();
                indexedThrough = rs.getLong(1);
            }
            try (Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery("SELECT purged_through, purged_mac, head_seq, head_mac"
                            + " FROM audit_chain WHERE id = 1")) {
                if (rs.next()) {
                    purgedThrough = rs.getLong(1);
                    purgedMac = rs.getBytes(2);
                    headSeq = rs.getLong(3);
                    headMac = rs.getBytes(4);
                    durableSeq = headSeq;
                    durableMac = headMac;
                    return;
                }
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO audit_chain (id, purged_through, purged_mac,"
                    + " head_seq, head_mac, mac) VALUES (1, 0, ?, 0, ?, ?)")) {
                ps.setBytes(1, AuditChain.GENESIS);
                ps.setBytes(2, AuditChain.GENESIS);
                ps.setBytes(3, AuditChain.chainMac(cipher, 0, AuditChain.GENESIS, 0, AuditChain.GENESIS));
                ps.executeUpdate();
            } catch (SQLException e) {
                // two nodes starting at once on an empty database: the other's record is the chain's start
                if (!"23505".equals(e.getSQLState())) {
                    throw e;
                }
            }
        }
    }

    @Override
    public void start() {
        try {
            open();
        } catch (SQLException e) {
            throw new IllegalStateException("cannot open the audit trail", e);
        }
        nextOutboxScan = 0;
        nextPurge = System.currentTimeMillis();
        nextCheckpoint = 0;
        writer = GroupCommitter.<Pending, Long>builder("audit trail", this::commit)
                .threadName(i -> "caravan-audit-writer").capacity(100_000).maxGroup(MAX_GROUP)
                .pollInterval(Duration.ofMillis(100)).offerWait(Duration.ZERO).isolateFailures()
                .onFailedAlone((p, e) -> log.warn("Audit entry refused ({})", e.getClass().getSimpleName()))
                .between(this::duties)
                // outbox rows left now are durable and are moved at the next start
                .afterDrain(this::checkpoint)
                // a database that went away first leaves the writer waiting for a connection: interrupted after this
                .stopGrace(Duration.ofSeconds(10)).build();
        running = true;
        writer.start();
        indexer = Worker.start("caravan-audit-indexer", true, this::indexLoop);
    }

    @Override
    public void stop() {
        running = false;
        if (indexer != null) {
            // no interrupt: H2 closes its file when a thread is interrupted inside it
            indexer.awaitExit(Duration.ofSeconds(10));
        }
        if (writer != null) {
            writer.stop();
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    /** Starts before, and stops after, the contact writer and the routes whose actions it records. */
    @Override
    public int getPhase() {
        return Integer.MIN_VALUE + 500;
    }
}
