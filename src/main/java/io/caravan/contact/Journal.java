package io.caravan.contact;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * The inbound journal of the embedded store: an append-only log of accepted messages, written in groups before
 * their ACK. The embedded H2 database then takes the same messages in large, cheap transactions and flushes on its
 * own schedule; after a crash, whatever the journal holds beyond the last applied sequence is applied again (a
 * record's ids travel with it, so re-applying is idempotent). Segments are deleted once a checkpoint has made the
 * database hold everything in them.
 *
 * <p>Records hold only what is already sealed or not PHI: ids, source kind, feed, type, status, key id and the
 * sealed raw message. Record version 1 (written before source kinds) has no source kind: it reads as HL7 v2, the
 * only source there was. Frame: {@code [int length][int crc32c][long seq][body]}; a torn tail (the process killed mid-write) fails
 * its CRC and is cut off at recovery.
 */
final class Journal implements AutoCloseable {

    private static final long SEGMENT_BYTES = 64L * 1024 * 1024;
    /**
     * With fsync, the segment is zero-filled (and synced) this far ahead of the writes. A group's flush then writes
     * data blocks only: appending to a file also changes its length, and on ext4 (data=ordered) that flush waits for
     * a journal commit, which first writes out every other file's newly allocated dirty data - H2's, which the applier
     * writes all the time. PostgreSQL pre-fills its WAL segments for the same reason.
     */
    private static final long PREFILL_BYTES = 4L * 1024 * 1024;
    private static final int HEADER = 16;

    /** One journaled message. */
    record Entry(long seq, UUID id, String sourceKind, String dedupeKey, String feed, String messageType,
            InboundMessage.Status status, String errorCode, String keyId, Instant receivedAt, UUID eventId,
            byte[] sealedRaw) {

        static Entry of(InboundMessage m) {
            return new Entry(0, m.id(), m.sourceKind(), m.dedupeKey(), m.feed(), m.messageType(), m.status(),
                    m.errorCode(), m.keyId(), m.receivedAt(), m.eventId(), m.sealedRaw());
        }

        Entry withSeq(long s) {
            return new Entry(s, id, sourceKind, dedupeKey, feed, messageType, status, errorCode, keyId, receivedAt,
                    eventId, sealedRaw);
        }

        /** The journaled message, without what is not journaled (its mapping and sealed event: read again). */
        InboundMessage message() {
            return new InboundMessage(id, sourceKind, dedupeKey, feed, messageType, status, errorCode, null, keyId,
                    sealedRaw, eventId, null, receivedAt);
        }
    }

    /**
     * Forces a channel to the disk. A seam so a test can count the flushes the default configuration makes: power
     * cannot be cut in a test, but a missing force can be seen.
     */
    interface Disk {
        Disk REAL = FileChannel::force;

        void force(FileChannel channel, boolean metaData) throws IOException;
    }

    private final Path dir;
    private final boolean fsync;
    private final Disk disk;
    private FileChannel current;
    private long currentBytes;
    /** How far the current segment is zero-filled and synced (fsync only). */
    private long filledBytes;
    private long nextSeq;
    private final List<Entry> unappliedAtOpen;

    /** Opens the journal, reading it once: numbering resumes after its last entry, and what is unapplied is kept. */
    Journal(Path dir, boolean fsync, long appliedSeq) throws IOException {
        this(dir, fsync, appliedSeq, Disk.REAL);
    }

    Journal(Path dir, boolean fsync, long appliedSeq, Disk disk) throws IOException {
        this.dir = dir;
        this.fsync = fsync;
        this.disk = disk;
        Files.createDirectories(dir);
        List<Entry> all = readAfter(0);
        long last = appliedSeq;
        List<Entry> unapplied = new ArrayList<>();
        for (Entry e : all) {
            last = Math.max(last, e.seq());
            if (e.seq() > appliedSeq) {
                unapplied.add(e);
            }
        }
        this.nextSeq = last + 1;
        this.unappliedAtOpen = List.copyOf(unapplied);
    }

    /** Entries beyond the applied sequence given at open: what a crash left for the database. */
    List<Entry> unappliedAtOpen() {
        return unappliedAtOpen;
    }

    /**
     * Appends a group in one write and, when {@code fsync}, one flush to the disk before returning (the caller ACKs
     * after it: the group commit is what keeps a flush per ACK cheap). Returns the entries with their sequence.
     */
    synchronized List<Entry> append(List<Entry> entries) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(entries.size() * 4096);
        List<Entry> numbered = new ArrayList<>(entries.size());
        for (Entry e : entries) {
            Entry n = e.withSeq(nextSeq++);
            byte[] body = encode(n);
            CRC32C crc = new CRC32C();
            crc.update(body);
            ByteBuffer h = ByteBuffer.allocate(HEADER).putInt(body.length).putInt((int) crc.getValue())
                    .putLong(n.seq());
            out.write(h.array());
            out.write(body);
            numbered.add(n);
        }
        if (current == null || currentBytes > SEGMENT_BYTES) {
            roll(numbered.get(0).seq());
        }
        if (fsync && currentBytes + out.size() > filledBytes) {
            prefill(currentBytes + out.size() + PREFILL_BYTES);
        }
        ByteBuffer buf = ByteBuffer.wrap(out.toByteArray());
        long at = currentBytes;
        while (buf.hasRemaining()) {
            at += current.write(buf, at);
        }
        if (fsync) {
            // fdatasync, once for the whole group: data blocks only, the length and blocks were synced by prefill
            disk.force(current, false);
        }
        currentBytes += out.size();
        return numbered;
    }

    /** Every intact entry with a sequence above {@code seq}, in order; a torn tail is cut off. */
    synchronized List<Entry> readAfter(long seq) throws IOException {
        List<Entry> out = new ArrayList<>();
        for (Path p : segments()) {
            byte[] all = Files.readAllBytes(p);
            ByteBuffer b = ByteBuffer.wrap(all);
            int good = 0;
            while (b.remaining() >= HEADER) {
                int len = b.getInt();
                int crc = b.getInt();
                long s = b.getLong();
                if (len <= 0 || len > b.remaining()) {
                    // zeros: the prefilled part no group reached yet (a record always has a body)
                    break;
                }
                byte[] body = new byte[len];
                b.get(body);
                CRC32C c = new CRC32C();
                c.update(body);
                if ((int) c.getValue() != crc) {
                    break;
                }
                good = b.position();
                if (s > seq) {
                    out.add(decode(s, body));
                }
            }
            if (good < all.length && current == null) {
                // a write the process did not finish: it was never acknowledged
                try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
                    ch.truncate(good);
                }
            }
        }
        return out;
    }

    /** Deletes segments whose every entry is at or below {@code appliedSeq} (the current segment is kept). */
    synchronized void deleteThrough(long appliedSeq) throws IOException {
        List<Path> segs = segments();
        for (int i = 0; i + 1 < segs.size(); i++) {
            long nextFirst = firstSeq(segs.get(i + 1));
            if (nextFirst - 1 <= appliedSeq) {
                Files.deleteIfExists(segs.get(i));
            }
        }
    }

    /** Whether {@link #deleteThrough} would delete a segment. */
    synchronized boolean hasSegmentsThrough(long appliedSeq) throws IOException {
        List<Path> segs = segments();
        for (int i = 0; i + 1 < segs.size(); i++) {
            if (firstSeq(segs.get(i + 1)) - 1 <= appliedSeq) {
                return true;
            }
        }
        return false;
    }

    long lastSeq() {
        return nextSeq - 1;
    }

    private void roll(long firstSeq) throws IOException {
        if (current != null) {
            disk.force(current, true);
            current.close();
        }
        Path p = dir.resolve(String.format("journal-%019d.log", firstSeq));
        boolean created = !Files.exists(p);
        current = FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        currentBytes = Files.size(p);
        filledBytes = currentBytes;
        if (fsync && created) {
            // a new file's name lives in the directory: without this, power loss can lose the whole segment
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                disk.force(d, true);
            }
        }
    }

    /** Zero-fills the current segment up to {@code upTo} and syncs it, data and length, once. */
    private void prefill(long upTo) throws IOException {
        ByteBuffer zeros = ByteBuffer.allocate(64 * 1024);
        long at = filledBytes;
        while (at < upTo) {
            zeros.clear().limit((int) Math.min(zeros.capacity(), upTo - at));
            at += current.write(zeros, at);
        }
        disk.force(current, true);
        filledBytes = at;
    }

    private List<Path> segments() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().matches("journal-\\d{19}\\.log")).sorted().toList();
        }
    }

    private static long firstSeq(Path p) {
        String n = p.getFileName().toString();
        return Long.parseLong(n.substring(8, 27));
    }

    private static byte[] encode(Entry e) {
        try {
            ByteArrayOutputStream b = new ByteArrayOutputStream(e.sealedRaw().length + 256);
            DataOutputStream d = new DataOutputStream(b);
            d.writeByte(2);
            d.writeLong(e.id().getMostSignificantBits());
            d.writeLong(e.id().getLeastSignificantBits());
            d.writeUTF(e.sourceKind());
            writeNullable(d, e.dedupeKey());
            d.writeUTF(e.feed());
            d.writeUTF(e.messageType());
            d.writeUTF(e.status().dbValue());
            writeNullable(d, e.errorCode());
            d.writeUTF(e.keyId());
            d.writeLong(e.receivedAt().getEpochSecond());
            d.writeInt(e.receivedAt().getNano());
            d.writeBoolean(e.eventId() != null);
            if (e.eventId() != null) {
                d.writeLong(e.eventId().getMostSignificantBits());
                d.writeLong(e.eventId().getLeastSignificantBits());
            }
            d.writeInt(e.sealedRaw().length);
            d.write(e.sealedRaw());
            return b.toByteArray();
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    private static Entry decode(long seq, byte[] body) throws IOException {
        DataInputStream d = new DataInputStream(new java.io.ByteArrayInputStream(body));
        byte version = d.readByte();
        if (version != 1 && version != 2) {
            throw new IOException("unknown journal record version");
        }
        UUID id = new UUID(d.readLong(), d.readLong());
        String kind = version == 1 ? InboundMessage.HL7V2 : d.readUTF();
        String dedupe = readNullable(d);
        String feed = d.readUTF();
        String type = d.readUTF();
        InboundMessage.Status status = InboundMessage.Status.of(d.readUTF());
        String error = readNullable(d);
        String keyId = d.readUTF();
        Instant received = Instant.ofEpochSecond(d.readLong(), d.readInt());
        UUID eventId = d.readBoolean() ? new UUID(d.readLong(), d.readLong()) : null;
        byte[] raw = new byte[d.readInt()];
        d.readFully(raw);
        return new Entry(seq, id, kind, dedupe, feed, type, status, error, keyId, received, eventId, raw);
    }

    private static void writeNullable(DataOutputStream d, String s) throws IOException {
        d.writeBoolean(s != null);
        if (s != null) {
            d.writeUTF(s);
        }
    }

    private static String readNullable(DataInputStream d) throws IOException {
        return d.readBoolean() ? d.readUTF() : null;
    }

    @Override
    public synchronized void close() throws IOException {
        if (current != null) {
            disk.force(current, true);
            current.close();
            current = null;
        }
    }
}
