package io.caravan.channel.email;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.caravan.audit.AuditDraft;
import io.caravan.audit.AuditLog;
import io.caravan.crypto.FieldCipher;
import io.caravan.system.Ids;
import io.caravan.system.Problems.NotFound;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.bouncycastle.bcpg.sig.KeyFlags;
import org.bouncycastle.openpgp.PGPPublicKey;
import org.bouncycastle.openpgp.PGPPublicKeyRing;
import org.bouncycastle.openpgp.PGPSignature;
import org.bouncycastle.openpgp.PGPUtil;
import org.bouncycastle.openpgp.operator.jcajce.JcaKeyFingerprintCalculator;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Repository;

/**
 * Recipients' encryption keys on file: S/MIME certificates and OpenPGP public keys, validated when uploaded and
 * again when used (an expired, not-yet-valid, revoked or hand-expired key is never used). Key material is sealed at
 * rest; uploads and expiries are audited.
 */
@Repository
public class RecipientKeys {

    public static final String SMIME = "smime";
    public static final String PGP = "pgp";

    private final JdbcTemplate jdbc;
    private final FieldCipher cipher;
    private final AuditLog audit;
    private final Clock clock;

    public RecipientKeys(JdbcTemplate jdbc, FieldCipher cipher, AuditLog audit, Clock clock) {
        this.jdbc = jdbc;
        this.cipher = cipher;
        this.audit = audit;
        this.clock = clock;
    }

    /** A key on file as the API shows it: no key material. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record KeyOnFile(UUID id, UUID contactId, String kind, String fingerprint, Instant notBefore,
            Instant notAfter, String uploadedBy, Instant uploadedAt, Instant expiredAt) {
    }

    /** Validates and files an S/MIME certificate (PEM or DER); returns what was filed. */
    public KeyOnFile putSmime(UUID contactId, byte[] pemOrDer, String actor) {
        X509Certificate cert = parseCertificate(pemOrDer);
        Instant now = clock.instant();
        if (now.isBefore(cert.getNotBefore().toInstant()) || now.isAfter(cert.getNotAfter().toInstant())) {
            throw new IllegalArgumentException("the certificate is not valid now (notBefore/notAfter)");
        }
        boolean[] usage = cert.getKeyUsage();
        String alg = cert.getPublicKey().getAlgorithm();
        if (!"RSA".equals(alg)) {
            throw new IllegalArgumentException("only RSA recipient certificates are supported (key transport)");
        }
        if (usage != null && !usage[2]) {
            throw new IllegalArgumentException("the certificate's key usage does not allow key encipherment");
        }
        byte[] der = encoded(cert);
        return file(contactId, SMIME, HexFormat.of().formatHex(sha256(der)), cert.getNotBefore().toInstant(),
                cert.getNotAfter().toInstant(), der, actor);
    }

    /** Validates and files an OpenPGP public key (ASCII armour); it must have a usable encryption key. */
    public KeyOnFile putPgp(UUID contactId, byte[] armour, String actor) {
        PGPPublicKeyRing ring = parseRing(armour);
        Instant now = clock.instant();
        PGPPublicKey key = encryptionKey(ring, now).orElseThrow(() -> new IllegalArgumentException(
                "the key has no valid encryption (sub)key: revoked, expired, or no encryption key flags"));
        Instant created = key.getCreationTime().toInstant();
        Instant expires = key.getValidSeconds() > 0 ? created.plusSeconds(key.getValidSeconds()) : null;
        byte[] encoded;
        try {
            encoded = ring.getEncoded();
        } catch (IOException e) {
            throw new IllegalArgumentException("the key cannot be re-encoded");
        }
        return file(contactId, PGP, HexFormat.of().formatHex(key.getFingerprint()), created, expires, encoded, actor);
    }

    private KeyOnFile file(UUID contactId, String kind, String fingerprint, Instant notBefore, Instant notAfter,
            byte[] material, String actor) {
        UUID id = Ids.next();
        Instant now = clock.instant();
        byte[] sealed = cipher.seal(material, "key:" + id);
        String keyId = cipher.activeKeyId();
        audit.appendAndWait(AuditDraft.of(actor, "key.recorded").contact(contactId).channel("email").outcome(kind)
                .detail("key", id.toString()).detail("fingerprint", fingerprint), c -> {
                    try (PreparedStatement ps = c.prepareStatement("INSERT INTO recipient_key (id, contact_id, kind,"
                            + " fingerprint, not_before, not_after, uploaded_by, uploaded_at, key_id, payload)"
                            + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                        ps.setObject(1, id);
                        ps.setObject(2, contactId);
                        ps.setString(3, kind);
                        ps.setString(4, fingerprint);
                        ps.setTimestamp(5, ts(notBefore));
                        ps.setTimestamp(6, ts(notAfter));
                        ps.setString(7, actor);
                        ps.setTimestamp(8, ts(now));
                        ps.setString(9, keyId);
                        ps.setBytes(10, sealed);
                        ps.executeUpdate();
                    }
                });
        return new KeyOnFile(id, contactId, kind, fingerprint, notBefore, notAfter, actor, now, null);
    }

    /** Stops a key's use at once (e.g. the patient reports it compromised, or the CA revoked it). */
    public KeyOnFile expire(UUID contactId, UUID keyId, String actor) {
        KeyOnFile k = list(contactId).stream().filter(x -> x.id().equals(keyId)).findFirst()
                .orElseThrow(() -> new NotFound("no key with this id for this contact"));
        if (k.expiredAt() != null) {
            return k;
        }
        Instant now = clock.instant();
        audit.appendAndWait(AuditDraft.of(actor, "key.expired").contact(contactId).channel("email").outcome(k.kind())
                .detail("key", keyId.toString()), c -> {
                    try (PreparedStatement ps = c.prepareStatement(
                            "UPDATE recipient_key SET expired_at = ? WHERE id = ? AND expired_at IS NULL")) {
                        ps.setTimestamp(1, ts(now));
                        ps.setObject(2, keyId);
                        ps.executeUpdate();
                    }
                });
        return list(contactId).stream().filter(x -> x.id().equals(keyId)).findFirst().orElseThrow();
    }

    public List<KeyOnFile> list(UUID contactId) {
        return jdbc.query("SELECT id, contact_id, kind, fingerprint, not_before, not_after, uploaded_by, uploaded_at,"
                + " expired_at FROM recipient_key WHERE contact_id = ? ORDER BY uploaded_at, id", (rs, n) ->
                new KeyOnFile(rs.getObject(1, UUID.class), rs.getObject(2, UUID.class), rs.getString(3),
                        rs.getString(4), instant(rs, 5), instant(rs, 6), rs.getString(7), instant(rs, 8),
                        instant(rs, 9)), contactId);
    }

    /** The newest S/MIME certificate of a contact that is valid now, if any. */
    public Optional<X509Certificate> smimeFor(UUID contactId) {
        Instant now = clock.instant();
        return usable(contactId, SMIME, now).stream().map(RecipientKeys::parseCertificate)
                .filter(c -> !now.isBefore(c.getNotBefore().toInstant()) && !now.isAfter(c.getNotAfter().toInstant()))
                .findFirst();
    }

    /** The encryption key of the newest OpenPGP key of a contact that is valid now, if any. */
    public Optional<PGPPublicKey> pgpFor(UUID contactId) {
        Instant now = clock.instant();
        for (byte[] material : usable(contactId, PGP, now)) {
            Optional<PGPPublicKey> k = encryptionKey(parseRing(material), now);
            if (k.isPresent()) {
                return k;
            }
        }
        return Optional.empty();
    }

    /** Key material of a kind, newest first, not expired by hand and inside the dates recorded at upload. */
    private List<byte[]> usable(UUID contactId, String kind, Instant now) {
        return jdbc.query("SELECT id, key_id, payload, uploaded_at FROM recipient_key WHERE contact_id = ? AND kind = ?"
                + " AND expired_at IS NULL AND (not_after IS NULL OR not_after > ?) ORDER BY uploaded_at DESC, id DESC",
                (rs, n) -> cipher.open(rs.getString(2), rs.getBytes(3), "key:" + rs.getObject(1, UUID.class)),
                contactId, kind, ts(now));
    }

    // ---- parsing and validation ---------------------------------------------------------------------------------

    static X509Certificate parseCertificate(byte[] pemOrDer) {
        try (InputStream in = new ByteArrayInputStream(pemOrDer)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        } catch (CertificateException | IOException | ClassCastException e) {
            throw new IllegalArgumentException("not an X.509 certificate (PEM or DER)");
        }
    }

    static PGPPublicKeyRing parseRing(byte[] armourOrBinary) {
        try (InputStream in = PGPUtil.getDecoderStream(new ByteArrayInputStream(armourOrBinary))) {
            return new PGPPublicKeyRing(in, new JcaKeyFingerprintCalculator());
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("not an OpenPGP public key (ASCII armour)");
        }
    }

    /**
     * The key to encrypt to: a non-revoked, unexpired (sub)key whose binding (or, for the primary, self) signature
     * flags it for encryption. {@link PGPPublicKey#isEncryptionKey()} alone is true for RSA signing keys too.
     */
    static Optional<PGPPublicKey> encryptionKey(PGPPublicKeyRing ring, Instant now) {
        PGPPublicKey primary = ring.getPublicKey();
        if (primary.hasRevocation() || expired(primary, now)) {
            return Optional.empty();
        }
        PGPPublicKey best = null;
        for (Iterator<PGPPublicKey> it = ring.getPublicKeys(); it.hasNext(); ) {
            PGPPublicKey k = it.next();
            if (!k.isEncryptionKey() || k.hasRevocation() || expired(k, now)) {
                continue;
            }
            int flags = flags(k);
            if ((flags & (KeyFlags.ENCRYPT_COMMS | KeyFlags.ENCRYPT_STORAGE)) == 0) {
                continue;
            }
            if (best == null || k.getCreationTime().after(best.getCreationTime())) {
                best = k;
            }
        }
        return Optional.ofNullable(best);
    }

    private static int flags(PGPPublicKey k) {
        int flags = 0;
        Iterator<PGPSignature> sigs = k.isMasterKey() ? k.getSignatures()
                : k.getSignaturesOfType(PGPSignature.SUBKEY_BINDING);
        while (sigs.hasNext()) {
            PGPSignature s = sigs.next();
            if (s.getHashedSubPackets() != null) {
                flags |= s.getHashedSubPackets().getKeyFlags();
            }
        }
        return flags;
    }

    private static boolean expired(PGPPublicKey k, Instant now) {
        long valid = k.getValidSeconds();
        return valid > 0 && k.getCreationTime().toInstant().plusSeconds(valid).isBefore(now);
    }

    private static byte[] encoded(X509Certificate cert) {
        try {
            return cert.getEncoded();
        } catch (java.security.cert.CertificateEncodingException e) {
            throw new IllegalArgumentException("the certificate cannot be re-encoded");
        }
    }

    private static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Timestamp ts(Instant i) {
        return i == null ? null : Timestamp.from(i);
    }

    private static Instant instant(ResultSet rs, int col) throws SQLException {
        Timestamp t = rs.getTimestamp(col);
        return t == null ? null : t.toInstant();
    }
}
