package io.caravan.audit;

import io.caravan.crypto.FieldCipher;
import io.caravan.system.HubProperties;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.HexFormat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * The chain's head anchored outside the database: a line per checkpoint ({@code v1 <seq> <head MAC> <time> <MAC>})
 * appended to a file and logged, each line MACed with the audit key (keystore, not database). The database alone can
 * be swapped for an older copy of itself - every MAC in it still checks - but not the checkpoints already written:
 * verification walks the chain beside the file and finds a head that went back or an entry that differs from what a
 * checkpoint saw. A copy of the file (or of the log lines) kept off the machine keeps that evidence even when the
 * whole data directory is replaced.
 */
@Component
public class AuditCheckpoints {

    private static final Logger log = LoggerFactory.getLogger(AuditCheckpoints.class);
    private static final String DOMAIN = "audit-checkpoint";
    private static final HexFormat HEX = HexFormat.of();

    /** One checkpoint as read back; {@code line} counts from 1. */
    record Checkpoint(long line, long seq, byte[] head, Instant at) {
    }

    private final Path file;
    private final FieldCipher cipher;
    private final boolean fsync;

    @org.springframework.beans.factory.annotation.Autowired
    public AuditCheckpoints(AuditProperties props, HubProperties hub, FieldCipher cipher) {
        this(props.checkpointFile() != null ? props.checkpointFile()
                : hub.dataDir().resolve("audit").resolve("checkpoints.log"), cipher, props.fsync());
    }

    public AuditCheckpoints(Path file, FieldCipher cipher, boolean fsync) {
        this.file = file;
        this.cipher = cipher;
        this.fsync = fsync;
    }

    public Path file() {
        return file;
    }

    /** Appends a checkpoint of the head (flushed to the disk when the trail is) and logs the same line. */
    synchronized void append(long seq, byte[] head, Instant at) throws IOException {
        String body = "v1 " + seq + " " + HEX.formatHex(head) + " " + at;
        String line = body + " " + HEX.formatHex(mac(body)) + "\n";
        Files.createDirectories(file.toAbsolutePath().getParent());
        boolean created = !Files.exists(file);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND)) {
            ByteBuffer b = ByteBuffer.wrap(line.getBytes(StandardCharsets.US_ASCII));
            while (b.hasRemaining()) {
                ch.write(b);
            }
            if (fsync) {
                ch.force(false);
            }
        }
        if (fsync && created) {
            try (FileChannel d = FileChannel.open(file.toAbsolutePath().getParent(), StandardOpenOption.READ)) {
                d.force(true);
            }
        }
        log.info("Audit checkpoint: {}", line.strip());
    }

    /** The file's length now: a verification reads only what was written before it looked at the database. */
    long length() {
        try {
            return Files.exists(file) ? Files.size(file) : 0;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reads the first {@code length} bytes line by line; a line that is malformed or fails its MAC is an error. */
    Reader read(long length) throws IOException {
        return new Reader(length);
    }

    private byte[] mac(String body) {
        return cipher.mac(DOMAIN, body.getBytes(StandardCharsets.US_ASCII));
    }

    /** The checkpoints in file order. */
    final class Reader implements AutoCloseable {
        private final BufferedReader in;
        private final long length;
        private long consumed;
        private long lineNo;
        /** Set when a line fails: what is wrong with the file (no PHI: line numbers only). */
        String problem;

        private Reader(long length) throws IOException {
            this.length = length;
            if (length == 0) {
                in = null;
                return;
            }
            FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
            java.io.InputStream bounded = new java.io.FilterInputStream(Channels.newInputStream(ch)) {
                long left = length;

                @Override
                public int read() throws IOException {
                    if (left <= 0) {
                        return -1;
                    }
                    int b = super.read();
                    if (b >= 0) {
                        left--;
                    }
                    return b;
                }

                @Override
                public int read(byte[] buf, int off, int len) throws IOException {
                    if (left <= 0) {
                        return -1;
                    }
                    int n = super.read(buf, off, (int) Math.min(len, left));
                    if (n > 0) {
                        left -= n;
                    }
                    return n;
                }
            };
            in = new BufferedReader(new InputStreamReader(bounded, StandardCharsets.US_ASCII));
        }

        /** The next checkpoint, or null at the end or at the first bad line (then {@link #problem} says which). */
        Checkpoint next() throws IOException {
            if (in == null || problem != null) {
                return null;
            }
            String line = in.readLine();
            if (line == null) {
                return null;
            }
            lineNo++;
            consumed += line.length() + 1;
            if (consumed > length) {
                // no newline: a write the process or the machine did not finish, never a checkpoint
                return null;
            }
            String[] f = line.split(" ");
            try {
                if (f.length != 5 || !"v1".equals(f[0])) {
                    throw new IllegalArgumentException("malformed");
                }
                String body = String.join(" ", f[0], f[1], f[2], f[3]);
                if (!MessageDigest.isEqual(HEX.parseHex(f[4]), mac(body))) {
                    problem = "checkpoint file line " + lineNo + " does not match its MAC (edited or forged)";
                    return null;
                }
                return new Checkpoint(lineNo, Long.parseLong(f[1]), HEX.parseHex(f[2]), Instant.parse(f[3]));
            } catch (RuntimeException e) {
                problem = "checkpoint file line " + lineNo + " is malformed";
                return null;
            }
        }

        @Override
        public void close() throws IOException {
            if (in != null) {
                in.close();
            }
        }
    }
}
