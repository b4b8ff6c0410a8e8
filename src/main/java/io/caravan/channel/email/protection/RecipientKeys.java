package io.caravan.channel.email.protection;

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
import org.bouncycastle.openpgp.PGPException;
import org.bouncycastle.openpgp.PGPPublicKey;
import org.bouncycastle.openpgp.PGPPublicKeyRing;
import org.bouncycastle.openpgp.PGPSignature;
import org.bouncycastle.openpgp.PGPUtil;
import org.bouncycastle.openpgp.operator.bc.BcPGPContentVerifierBuilderProvider;
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
    static final int MIN_RSA_BITS = 2048;
    static final int MIN_EC_BITS = 256;
    static final String EMAIL_PROTECTION = "1.3.6.1.5.5.7.3.4";
    static final String ANY_EXTENDED_KEY_USAGE = "2.5.29.37.0";

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

    /**
     * Validates and files an S/MIME certificate (PEM or DER) for the contact's address; returns what was filed. The
     * certificate must be valid now, RSA of at least 2048 bits (key transport) or EC of at least 256 bits (key
     * agreement), allow key encipherment (RSA) or key agreement (EC) and email protection where it restricts usage, and name the
     * contact's address (rfc822Name in the subject alternative names, or emailAddress in the subject): a certificate
     * for another address would encrypt the patient's mail to someone else.
     */
    public KeyOnFile putSmime(UUID contactId, String email, byte[] pemOrDer, String actor) {
        X509Certificate cert = parseCertificate(pemOrDer);
        Instant now = clock.instant();
        if (now.isBefore(cert.getNotBefore().toInstant()) || now.isAfter(cert.getNotAfter().toInstant())) {
            throw new IllegalArgumentException("the certificate is not valid now (notBefore/notAfter)");
        }
        boolean[] usage = cert.getKeyUsage();
        String alg = cert.getPublicKey().getAlgorithm();
        if (cert.getPublicKey() instanceof java.security.interfaces.RSAPublicKey rsa) {
            int bits = rsa.getModulus().bitLength();
            if (bits < MIN_RSA_BITS) {
                throw new IllegalArgumentException("the certificate's RSA key has " + bits + " bits; at least "
                        + MIN_RSA_BITS + " are required");
            }
            if (usage != null && !usage[2]) {
                throw new IllegalArgumentException("the certificate's key usage does not allow key encipherment");
            }
        } else if (cert.getPublicKey() instanceof java.security.interfaces.ECPublicKey ec) {
            int bits = ec.getParams().getOrder().bitLength();
            if (bits < MIN_EC_BITS) {
                throw new IllegalArgumentException("the certificate's EC key has " + bits + " bits; at least "
                        + MIN_EC_BITS + " are required");
            }
            if (usage != null && !usage[4]) {
                throw new IllegalArgumentException("the certificate's key usage does not allow key agreement");
            }
        } else {
            throw new IllegalArgumentException("only RSA and EC recipient certificates are supported, not " + alg);
        }
        List<String> eku;
        try {
            eku = cert.getExtendedKeyUsage();
        } catch (java.security.cert.CertificateParsingException e) {
            throw new IllegalArgumentException("the certificate's extended key usage cannot be read");
        }
        if (eku != null && !eku.contains(EMAIL_PROTECTION) && !eku.contains(ANY_EXTENDED_KEY_USAGE)) {
            throw new IllegalArgumentException("the certificate's extended key usage does not allow email protection");
        }
        if (email == null || email.isBlank()) {
            throw new IllegalArgumentException("the contact has no email address for the certificate to match");
        }
        List<String> named = addresses(cert);
        if (named.isEmpty()) {
            throw new IllegalArgumentException("the certificate names no email address (rfc822Name or emailAddress)");
        }
        if (!covers(cert, email)) {
            throw new IllegalArgumentException("the certificate is for another email address than the contact's");
        }
        byte[] der = encoded(cert);
        return file(contactId, SMIME, HexFormat.of().formatHex(sha256(der)), cert.getNotBefore().toInstant(),
                cert.getNotAfter().toInstant(), der, actor);
    }

    /**
     * Validates and files an OpenPGP public key (ASCII armour): the self-signature, the subkey binding signatures and
     * revocations are verified, and a valid encryption (sub)key must remain.
     */
    public KeyOnFile putPgp(UUID contactId, byte[] armour, String actor) {
        PGPPublicKeyRing ring = parseRing(armour);
        Instant now = clock.instant();
        PGPPublicKey key = verifiedEncryptionKey(ring, now);
        Instant created = key.getCreationTime().toInstant();
        long valid = validSeconds(ring.getPublicKey(), key);
        Instant expires = valid > 0 ? created.plusSeconds(valid) : null;
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
        return smimeFor(contactId, null);
    }

    /**
     * The newest S/MIME certificate of a contact that is valid now and, when {@code email} is given, names that
     * address (a certificate filed for an address the contact no longer has is not used for the new one).
     */
    public Optional<X509Certificate> smimeFor(UUID contactId, String email) {
        Instant now = clock.instant();
        return smime(usableRows(contactId, SMIME, now), email, now);
    }

    private Optional<X509Certificate> smime(List<Row> rows, String email, Instant now) {
        return rows.stream().filter(r -> SMIME.equals(r.kind()))
                .map(r -> (X509Certificate) parsed.get(r.id(), k -> parseCertificate(r.open(cipher))))
                .filter(c -> !now.isBefore(c.getNotBefore().toInstant()) && !now.isAfter(c.getNotAfter().toInstant()))
                .filter(c -> email == null || covers(c, email))
                .findFirst();
    }

    /** The encryption key of the newest OpenPGP key of a contact that is valid now, if any. */
    public Optional<PGPPublicKey> pgpFor(UUID contactId) {
        Instant now = clock.instant();
        return pgp(usableRows(contactId, PGP, now), now);
    }

    private Optional<PGPPublicKey> pgp(List<Row> rows, Instant now) {
        for (Row r : rows) {
            if (!PGP.equals(r.kind())) {
                continue;
            }
            Optional<PGPPublicKey> k = encryptionKey((PGPPublicKeyRing) parsed.get(r.id(),
                    x -> parseRing(r.open(cipher))), now);
            if (k.isPresent()) {
                return k;
            }
        }
        return Optional.empty();
    }

    /** What a message to the contact can be encrypted to: see {@link #forSend}. */
    public record ForSend(Optional<X509Certificate> smime, Optional<PGPPublicKey> pgp) {
    }

    /**
     * The S/MIME certificate {@link #smimeFor} would give and, when there is none, the OpenPGP key {@link #pgpFor}
     * would give - from one read of the contact's usable keys of both kinds (most recipients have none, and a read
     * per kind cost a message two).
     */
    public ForSend forSend(UUID contactId, String email) {
        Instant now = clock.instant();
        List<Row> rows = jdbc.query("SELECT id, key_id, payload, kind FROM recipient_key WHERE contact_id = ?"
                + " AND expired_at IS NULL AND (not_after IS NULL OR not_after > ?) ORDER BY uploaded_at DESC, id DESC",
                (rs, n) -> new Row(rs.getObject(1, UUID.class), rs.getString(2), rs.getBytes(3), rs.getString(4)),
                contactId, ts(now));
        if (rows.isEmpty()) {
            return new ForSend(Optional.empty(), Optional.empty());
        }
        Optional<X509Certificate> cert = smime(rows, email, now);
        return new ForSend(cert, cert.isPresent() ? Optional.empty() : pgp(rows, now));
    }

    /** A key's row as read for sending: opened only when its parsed form is not held already. */
    private record Row(UUID id, String keyId, byte[] payload, String kind) {
        byte[] open(FieldCipher cipher) {
            return cipher.open(keyId, payload, "key:" + id);
        }
    }

    /**
     * Parsed certificates and key rings by their row: a row's material never changes (a new key is a new row, an
     * expiry only sets {@code expired_at}, which every read still checks), so a recipient's key is decrypted and
     * parsed once while it is used, not per message. In memory only, bounded, dropped when unused.
     */
    private final com.github.benmanes.caffeine.cache.Cache<UUID, Object> parsed = com.github.benmanes.caffeine.cache
            .Caffeine.newBuilder().maximumSize(10_000).expireAfterAccess(java.time.Duration.ofMinutes(10)).build();

    private List<Row> usableRows(UUID contactId, String kind, Instant now) {
        return jdbc.query("SELECT id, key_id, payload, kind FROM recipient_key WHERE contact_id = ? AND kind = ?"
                + " AND expired_at IS NULL AND (not_after IS NULL OR not_after > ?) ORDER BY uploaded_at DESC, id DESC",
                (rs, n) -> new Row(rs.getObject(1, UUID.class), rs.getString(2), rs.getBytes(3), rs.getString(4)),
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

    /** The key to encrypt to, or empty (see {@link #verifiedEncryptionKey}). */
    static Optional<PGPPublicKey> encryptionKey(PGPPublicKeyRing ring, Instant now) {
        try {
            return Optional.of(verifiedEncryptionKey(ring, now));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /**
     * The key to encrypt to: the newest (sub)key that the primary key itself bound to it (a binding signature that
     * verifies), flagged for encryption by that signature, neither revoked (by a revocation signature that verifies)
     * nor expired. Signatures are verified because anyone can append packets to a public key: a subkey of the
     * attacker's with its own binding, or a stripped one. {@link PGPPublicKey#isEncryptionKey()} alone is true for RSA
     * signing keys too. Refusals name what failed.
     */
    static PGPPublicKey verifiedEncryptionKey(PGPPublicKeyRing ring, Instant now) {
        PGPPublicKey primary = ring.getPublicKey();
        if (revoked(primary, primary)) {
            throw new IllegalArgumentException("the key is revoked");
        }
        PGPSignature self = newestSelfCertification(primary);
        if (self == null) {
            throw new IllegalArgumentException("the key has no valid self-signature on a user ID");
        }
        if (expired(primary, keyExpiry(self), now)) {
            throw new IllegalArgumentException("the key has expired");
        }
        PGPPublicKey best = null;
        String refused = null;
        for (Iterator<PGPPublicKey> it = ring.getPublicKeys(); it.hasNext(); ) {
            PGPPublicKey k = it.next();
            PGPSignature binding = k.isMasterKey() ? self : newestBinding(primary, k);
            if (binding == null) {
                refused = k.getSignaturesOfType(PGPSignature.SUBKEY_BINDING).hasNext()
                        ? "a subkey's binding signature does not verify (forged or damaged)"
                        : "a subkey has no binding signature";
                continue;
            }
            int flags = binding.getHashedSubPackets() == null ? 0 : binding.getHashedSubPackets().getKeyFlags();
            if (!k.isEncryptionKey() || (flags & (KeyFlags.ENCRYPT_COMMS | KeyFlags.ENCRYPT_STORAGE)) == 0) {
                continue;
            }
            if (!k.isMasterKey() && revoked(primary, k)) {
                refused = "the encryption subkey is revoked";
                continue;
            }
            if (expired(k, keyExpiry(binding), now)) {
                refused = "the encryption subkey has expired";
                continue;
            }
            if (best == null || k.getCreationTime().after(best.getCreationTime())) {
                best = k;
            }
        }
        if (best == null) {
            throw new IllegalArgumentException(refused != null ? "the key has no usable encryption subkey: " + refused
                    : "the key has no encryption (sub)key (no encryption key flags)");
        }
        return best;
    }

    /** Seconds from creation to expiry of {@code k} by its verified self- or binding signature, 0 = never. */
    private static long validSeconds(PGPPublicKey primary, PGPPublicKey k) {
        PGPSignature s = k.isMasterKey() ? newestSelfCertification(primary) : newestBinding(primary, k);
        return s == null ? 0 : keyExpiry(s);
    }

    private static long keyExpiry(PGPSignature s) {
        return s.getHashedSubPackets() == null ? 0 : s.getHashedSubPackets().getKeyExpirationTime();
    }

    /** The newest user-ID certification by the primary key itself that verifies. */
    private static PGPSignature newestSelfCertification(PGPPublicKey primary) {
        PGPSignature newest = null;
        for (Iterator<String> ids = primary.getUserIDs(); ids.hasNext(); ) {
            String id = ids.next();
            for (Iterator<PGPSignature> sigs = primary.getSignaturesForID(id); sigs != null && sigs.hasNext(); ) {
                PGPSignature s = sigs.next();
                if (s.isCertification() && s.getKeyID() == primary.getKeyID() && verifies(s, primary,
                        x -> x.verifyCertification(id, primary))
                        && (newest == null || s.getCreationTime().after(newest.getCreationTime()))) {
                    newest = s;
                }
            }
        }
        return newest;
    }

    /** The newest subkey binding signature made by the primary key that verifies. */
    private static PGPSignature newestBinding(PGPPublicKey primary, PGPPublicKey sub) {
        PGPSignature newest = null;
        for (Iterator<PGPSignature> sigs = sub.getSignaturesOfType(PGPSignature.SUBKEY_BINDING); sigs.hasNext(); ) {
            PGPSignature s = sigs.next();
            if (s.getKeyID() == primary.getKeyID() && verifies(s, primary, x -> x.verifyCertification(primary, sub))
                    && (newest == null || s.getCreationTime().after(newest.getCreationTime()))) {
                newest = s;
            }
        }
        return newest;
    }

    /** A key or subkey revocation made by the primary key that verifies (one appended by anyone else is ignored). */
    private static boolean revoked(PGPPublicKey primary, PGPPublicKey k) {
        int type = k.isMasterKey() ? PGPSignature.KEY_REVOCATION : PGPSignature.SUBKEY_REVOCATION;
        for (Iterator<PGPSignature> sigs = k.getSignaturesOfType(type); sigs.hasNext(); ) {
            PGPSignature s = sigs.next();
            if (s.getKeyID() == primary.getKeyID() && verifies(s, primary, x -> k.isMasterKey()
                    ? x.verifyCertification(k) : x.verifyCertification(primary, k))) {
                return true;
            }
        }
        return false;
    }

    private interface Check {
        boolean verify(PGPSignature s) throws PGPException;
    }

    private static boolean verifies(PGPSignature s, PGPPublicKey signer, Check check) {
        try {
            s.init(new BcPGPContentVerifierBuilderProvider(), signer);
            return check.verify(s);
        } catch (PGPException | RuntimeException e) {
            return false;
        }
    }

    private static boolean expired(PGPPublicKey k, long validSeconds, Instant now) {
        return validSeconds > 0 && k.getCreationTime().toInstant().plusSeconds(validSeconds).isBefore(now);
    }

    // ---- S/MIME addresses -----------------------------------------------------------------------------------------

    /** Whether the certificate names the address (case-insensitively, as mail systems compare in practice). */
    static boolean covers(X509Certificate cert, String email) {
        String wanted = email.trim().toLowerCase(java.util.Locale.ROOT);
        return addresses(cert).stream().anyMatch(a -> a.trim().toLowerCase(java.util.Locale.ROOT).equals(wanted));
    }

    /** rfc822Name subject alternative names, and emailAddress attributes of the subject. */
    static List<String> addresses(X509Certificate cert) {
        List<String> out = new java.util.ArrayList<>();
        try {
            java.util.Collection<List<?>> sans = cert.getSubjectAlternativeNames();
            if (sans != null) {
                for (List<?> san : sans) {
                    if (Integer.valueOf(1).equals(san.get(0)) && san.get(1) instanceof String a) {
                        out.add(a);
                    }
                }
            }
        } catch (java.security.cert.CertificateParsingException e) {
            throw new IllegalArgumentException("the certificate's subject alternative names cannot be read");
        }
        org.bouncycastle.asn1.x500.X500Name subject = org.bouncycastle.asn1.x500.X500Name.getInstance(
                cert.getSubjectX500Principal().getEncoded());
        for (org.bouncycastle.asn1.x500.RDN rdn : subject.getRDNs(org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers
                .pkcs_9_at_emailAddress)) {
            for (org.bouncycastle.asn1.x500.AttributeTypeAndValue v : rdn.getTypesAndValues()) {
                if (v.getValue() instanceof org.bouncycastle.asn1.ASN1String a) {
                    out.add(a.getString());
                }
            }
        }
        return out;
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
