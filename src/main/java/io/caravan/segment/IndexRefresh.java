package io.caravan.segment;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * On several nodes: brings this node's {@link AttributeIndex} up to the {@code segment_attribute} rows the other nodes
 * wrote (and drops the rows they deleted, from {@code segment_attribute_gone}). Each row carries the number of its
 * change from one database sequence; a read takes the rows numbered above a watermark. A number is drawn before its
 * transaction commits, so a lower number can become visible after a higher one was read: the watermark is therefore
 * the highest number seen by a read at least {@code overlap} ago, and the rows read again inside that window are
 * skipped by their number (the index keeps each row's), not decrypted again. The node's own writes are in its index
 * with their numbers already: skipped the same way. A full pass over the numbers shortly after start (transactions in
 * flight while the table was loaded) and every ten minutes catches a transaction that outlasted the window.
 */
final class IndexRefresh {

    /** Opens one sealed row. */
    interface Opener {
        IndexedAttributes open(UUID contactId, String keyId, byte[] payload);
    }

    /** What one read did. */
    record Result(int read, int put, int removed, boolean full) {
    }

    private static final long FULL_EVERY = Duration.ofMinutes(10).toNanos();
    private static final int CHUNK = 500;

    private final JdbcTemplate jdbc;
    private final AttributeIndex index;
    private final Opener opener;
    private final long overlap;
    /** {nanoTime of a read, the highest number seen by then}; the head is the newest at least overlap old. */
    private final ArrayDeque<long[]> reads = new ArrayDeque<>();
    private long highest;
    private long nextFull;

    IndexRefresh(JdbcTemplate jdbc, AttributeIndex index, Opener opener, Duration overlap) {
        this.jdbc = jdbc;
        this.index = index;
        this.opener = opener;
        this.overlap = overlap.toNanos();
    }

    /** The table was loaded at start, its highest number {@code highestLoaded}. */
    synchronized void loaded(long highestLoaded) {
        long now = System.nanoTime();
        highest = highestLoaded;
        reads.clear();
        reads.add(new long[] {now, highest});
        nextFull = now + overlap;
    }

    /** One read of what changed since the watermark. */
    synchronized Result refresh() {
        long now = System.nanoTime();
        boolean full = now - nextFull >= 0;
        if (full) {
            nextFull = now + FULL_EVERY;
        }
        long watermark = full ? -1 : reads.isEmpty() ? -1 : reads.peekFirst()[1];
        List<UUID> changed = new ArrayList<>();
        int[] removed = {0};
        int[] read = {0};
        long[] top = {highest};
        // one statement, one snapshot: a merged-away row and its tombstone are never both missed or both seen
        jdbc.query("SELECT contact_id, change_seq, 0 AS gone FROM segment_attribute WHERE change_seq > ?"
                + " UNION ALL SELECT contact_id, change_seq, 1 AS gone FROM segment_attribute_gone WHERE change_seq > ?"
                + " ORDER BY 2", rs -> {
                    UUID id = rs.getObject(1, UUID.class);
                    long change = rs.getLong(2);
                    read[0]++;
                    top[0] = Math.max(top[0], change);
                    if (rs.getInt(3) == 1) {
                        removed[0] += index.removeIfNotNewer(id, change) ? 1 : 0;
                    } else if (index.version(id) < change) {
                        changed.add(id);
                    }
                }, watermark, watermark);
        int put = 0;
        for (int i = 0; i < changed.size(); i += CHUNK) {
            List<UUID> chunk = changed.subList(i, Math.min(changed.size(), i + CHUNK));
            int[] n = {0};
            jdbc.query("SELECT contact_id, key_id, payload, change_seq FROM segment_attribute WHERE contact_id IN ("
                    + String.join(",", Collections.nCopies(chunk.size(), "?")) + ")", rs -> {
                        UUID id = rs.getObject(1, UUID.class);
                        long change = rs.getLong(4);
                        // skipped unopened when this node wrote a newer change meanwhile
                        if (index.version(id) < change
                                && index.putIfNewer(id, opener.open(id, rs.getString(2), rs.getBytes(3)), change)) {
                            n[0]++;
                        }
                    }, chunk.toArray());
            put += n[0];
        }
        highest = top[0];
        reads.addLast(new long[] {now, highest});
        while (reads.size() > 1) {
            java.util.Iterator<long[]> it = reads.iterator();
            it.next();
            if (now - it.next()[0] < overlap) {
                break;
            }
            reads.removeFirst();
        }
        return new Result(read[0], put, removed[0], full);
    }
}
