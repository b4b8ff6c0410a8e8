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
 * The MACs that link the audit trail. Each entry's MAC covers every stored column of the entry and the previous
 * entry's MAC; the chain record's MAC covers where the chain starts (after a purge) and ends. Fields are
 * length-prefixed so no two different entries encode alike. Shared by the writer and the verifier.
 */
final class AuditChain {

    static final byte[] GENESIS = new byte[32];
    private static final String ENTRY = "audit-entry";
    private static final String CHAIN = "audit-chain";

    private AuditChain() {
    }

    /** Timestamps are kept to the microsecond: both databases store that much, and the MAC must survive a read. */
    static Instant truncate(Instant at) {
        return at.truncatedTo(ChronoUnit.MICROS);
    }

    static byte[] entryMac(FieldCipher cipher, byte[] prev, long seq, UUID id, Instant at, String actor,
            String action, UUID contact, String purpose, String channel, String outcome, String keyId,
            byte[] payload) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream(128 + (payload == null ? 0 : payload.length));
        try (DataOutputStream out = new DataOutputStream(buf)) {
            out.write(prev);
            out.writeLong(seq);
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
        return cipher.mac(ENTRY, buf.toByteArray());
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
