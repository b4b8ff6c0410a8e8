package io.caravan.audit;

import io.caravan.crypto.FieldCipher;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.UUID;

/**
 * The MACs that link the audit trail. Each entry's MAC covers the previous entry's MAC, its number and a SHA-256
 * digest of every other stored column; the chain record's MAC covers where the chain starts (after a purge) and ends. Fields are
 * length-prefixed so no two different entries encode alike. Shared by the writer and the verifier.
 */
final class AuditChain {

    static final byte[] GENESIS = new byte[32];
    private static final String ENTRY = "audit-entry";
    private static final String CHAIN = "audit-chain";

    private static final ThreadLocal<java.security.MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
        try {
            return java.security.MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    });

    private AuditChain() {
    }

    /** Timestamps are kept to the microsecond: both databases store that much, and the MAC must survive a read. */
    static Instant truncate(Instant at) {
        return at.truncatedTo(ChronoUnit.MICROS);
    }

    /**
     * SHA-256 of everything an entry stores but its number and MAC. Computed by the thread that appends (in
     * parallel), so the single writer only chains: MAC(previous MAC, number, digest).
     */
    static byte[] contentDigest(UUID id, Instant at, String actor, String action, UUID contact, String purpose,
            String channel, String outcome, String keyId, byte[] payload) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream(128 + (payload == null ? 0 : payload.length));
        try (DataOutputStream out = new DataOutputStream(buf)) {
            out.writeLong(id.getMostSignificantBits());
            out.writeLong(id.getLeastSignificantBits());
            out.writeLong(at.getEpochSecond());
            out.writeInt(at.getNano());
            str(out, actor);
            str(out, action);
            str(out, contact == null ? null : contact.toString());
            str(out, purpose);
            str(out, channel);
            str(out, outcome);
            str(out, keyId);
            bytes(out, payload);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return SHA256.get().digest(buf.toByteArray());
    }

    static byte[] entryMac(FieldCipher cipher, byte[] prev, long seq, byte[] digest) {
        byte[] in = new byte[prev.length + 8 + digest.length];
        System.arraycopy(prev, 0, in, 0, prev.length);
        for (int i = 0; i < 8; i++) {
            in[prev.length + i] = (byte) (seq >>> (56 - 8 * i));
        }
        System.arraycopy(digest, 0, in, prev.length + 8, digest.length);
        return cipher.mac(ENTRY, in);
    }

    static byte[] chainMac(FieldCipher cipher, long purgedThrough, byte[] purgedMac, long headSeq, byte[] headMac) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream(96);
        try (DataOutputStream out = new DataOutputStream(buf)) {
            out.writeLong(purgedThrough);
            out.write(purgedMac);
            out.writeLong(headSeq);
            out.write(headMac);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return cipher.mac(CHAIN, buf.toByteArray());
    }

    private static void str(DataOutputStream out, String s) throws IOException {
        bytes(out, s == null ? null : s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    private static void bytes(DataOutputStream out, byte[] b) throws IOException {
        if (b == null) {
            out.writeInt(-1);
        } else {
            out.writeInt(b.length);
            out.write(b);
        }
    }
}
