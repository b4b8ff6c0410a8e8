package io.caravan.channel.email.protection;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.channel.email.RecipientTools;
import io.caravan.support.Bytes;
import io.caravan.support.HubApi;
import io.caravan.support.TestHub;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.bouncycastle.bcpg.ArmoredOutputStream;
import org.bouncycastle.openpgp.PGPPublicKey;
import org.bouncycastle.openpgp.PGPPublicKeyRing;
import org.bouncycastle.openpgp.PGPSignature;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.http.HttpEntity;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Keys on file through the API: a patient's S/MIME certificate and OpenPGP key are validated, filed sealed, listed
 * without key material, used until expired by hand, and every change is audited.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@DirtiesContext
class RecipientKeysIT {

    static final ObjectMapper JSON = new ObjectMapper();
    static final TestHub HUB = TestHub.named("keys");

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        HUB.register(r);
    }

    @Autowired
    TestRestTemplate rest;
    @Autowired
    RecipientKeys keys;
    @Autowired
    JdbcTemplate jdbc;

    TestRestTemplate compliance() {
        return rest.withBasicAuth(TestHub.COMPLIANCE, TestHub.USER_PASSWORD);
    }

    UUID patient(String mrn) throws Exception {
        return HubApi.register(HUB, rest, mrn, "Key", "Kim", "kim@example.org", "");
    }

    ResponseEntity<String> put(TestRestTemplate t, String path, byte[] body, UUID id) {
        HttpHeaders h = new HttpHeaders();
        h.setContentType(MediaType.TEXT_PLAIN);
        return t.exchange(path, HttpMethod.PUT, new HttpEntity<>(body, h), String.class, id);
    }

    @Test
    void certificatesAndPgpKeysAreValidatedFiledSealedAndExpirable(@TempDir Path dir) throws Exception {
        UUID id = patient("KEYS-1");
        Path cert = RecipientTools.certificate(dir, "kim", "kim@example.org", 30, "keyEncipherment");
        byte[] pem = Files.readAllBytes(cert);

        assertThat(put(rest.withBasicAuth(TestHub.OPERATOR, TestHub.USER_PASSWORD), "/api/contacts/{id}/smime-certificate",
                pem, id).getStatusCode()).isEqualTo(HttpStatus.FORBIDDEN);
        ResponseEntity<String> bad = put(compliance(), "/api/contacts/{id}/smime-certificate",
                "not a certificate".getBytes(StandardCharsets.US_ASCII), id);
        assertThat(bad.getStatusCode()).isEqualTo(HttpStatus.BAD_REQUEST);
        assertThat(bad.getHeaders().getContentType().toString()).startsWith("application/problem+json");

        ResponseEntity<String> filed = put(compliance(), "/api/contacts/{id}/smime-certificate", pem, id);
        assertThat(filed.getStatusCode()).as(filed.getBody()).isEqualTo(HttpStatus.OK);
        JsonNode smime = JSON.readTree(filed.getBody());
        assertThat(smime.get("kind").asText()).isEqualTo("smime");
        assertThat(smime.get("fingerprint").asText()).hasSize(64);
        assertThat(keys.smimeFor(id)).isPresent();

        String armour = RecipientTools.gpgKey(dir, "Kim Key <kim@example.org>");
        ResponseEntity<String> pgp = put(compliance(), "/api/contacts/{id}/pgp-key",
                armour.getBytes(StandardCharsets.US_ASCII), id);
        assertThat(pgp.getStatusCode()).as(pgp.getBody()).isEqualTo(HttpStatus.OK);
        assertThat(keys.pgpFor(id)).isPresent();

        JsonNode list = JSON.readTree(compliance().getForEntity("/api/contacts/{id}/keys", String.class, id)
                .getBody());
        assertThat(list).extracting(k -> k.get("kind").asText()).containsExactly("smime", "pgp");
        assertThat(list.toString()).doesNotContain("BEGIN").doesNotContain("kim@example.org");
        assertThat(jdbc.queryForList("SELECT payload FROM recipient_key", byte[].class))
                .noneMatch(b -> Bytes.contains(b, "kim@example.org".getBytes(StandardCharsets.US_ASCII)));

        ResponseEntity<String> expired = compliance().postForEntity("/api/contacts/{id}/keys/{k}/expiry", null,
                String.class, id, smime.get("id").asText());
        assertThat(expired.getStatusCode()).isEqualTo(HttpStatus.OK);
        assertThat(JSON.readTree(expired.getBody()).get("expiredAt").isNull()).isFalse();
        assertThat(keys.smimeFor(id)).as("an expired certificate is not used").isEmpty();
        assertThat(keys.pgpFor(id)).isPresent();

        JsonNode trail = JSON.readTree(compliance().getForEntity("/api/audit?contact={id}&action=key.", String.class,
                id).getBody());
        assertThat(trail).extracting(e -> e.get("action").asText())
                .containsExactly("key.recorded", "key.recorded", "key.expired");
        assertThat(List.of(trail.get(0).get("actor").asText())).containsExactly(TestHub.COMPLIANCE);
    }

    void assertRefused(UUID id, String path, byte[] body, String detail) throws Exception {
        ResponseEntity<String> r = put(compliance(), path, body, id);
        assertThat(r.getStatusCode()).as(detail + ": " + r.getBody()).isEqualTo(HttpStatus.BAD_REQUEST);
        assertThat(r.getHeaders().getContentType().toString()).startsWith("application/problem+json");
        assertThat(JSON.readTree(r.getBody()).get("detail").asText()).contains(detail);
    }

    static PGPPublicKeyRing ring(String armour) throws Exception {
        return RecipientKeys.parseRing(armour.getBytes(StandardCharsets.US_ASCII));
    }

    static byte[] armour(PGPPublicKeyRing ring) throws Exception {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        try (ArmoredOutputStream a = ArmoredOutputStream.builder().enableCRC(true).build(out)) {
            ring.encode(a);
        }
        return out.toByteArray();
    }

    static PGPPublicKey subkey(PGPPublicKeyRing ring) {
        java.util.Iterator<PGPPublicKey> it = ring.getPublicKeys();
        it.next();
        return it.next();
    }

    /** Imports the revocation certificate gpg wrote when it made the key, and exports the now revoked key. */
    static String revokeWithGpg(Path dir, String uid) throws Exception {
        Path revs = dir.resolve("gnupg/openpgp-revocs.d");
        Path rev;
        try (var files = Files.list(revs)) {
            rev = files.findFirst().orElseThrow();
        }
        Files.writeString(dir.resolve("rev.asc"), Files.readString(rev).replace(":-----BEGIN", "-----BEGIN"));
        RecipientTools.run(dir, List.of("gpg", "--batch", "--import", "rev.asc"), null);
        return RecipientTools.run(dir, List.of("gpg", "--batch", "--armor", "--export", uid), null);
    }

    @Test
    void openPgpKeysWithForgedOrMissingSubkeyBindingsOrThatTheirOwnerRevokedAreRefused(@TempDir Path dir)
            throws Exception {
        UUID id = patient("KEYS-2");
        String path = "/api/contacts/{id}/pgp-key";
        Path a = Files.createDirectories(dir.resolve("a"));
        Path b = Files.createDirectories(dir.resolve("b"));
        PGPPublicKeyRing kim = ring(RecipientTools.gpgKey(a, "Kim Key <kim@example.org>"));
        PGPPublicKeyRing other = ring(RecipientTools.gpgKey(b, "Other <other@example.org>"));

        // someone else's encryption subkey, with the binding its own primary key made, grafted onto Kim's key
        PGPPublicKeyRing grafted = PGPPublicKeyRing.insertPublicKey(
                PGPPublicKeyRing.removePublicKey(kim, subkey(kim)), subkey(other));
        assertRefused(id, path, armour(grafted), "binding signature does not verify");

        // Kim's own subkey with its binding signature stripped
        PGPPublicKey unbound = subkey(kim);
        for (java.util.Iterator<PGPSignature> it = subkey(kim).getSignaturesOfType(PGPSignature.SUBKEY_BINDING);
                it.hasNext(); ) {
            unbound = PGPPublicKey.removeCertification(unbound, it.next());
        }
        assertRefused(id, path, armour(PGPPublicKeyRing.insertPublicKey(
                PGPPublicKeyRing.removePublicKey(kim, subkey(kim)), unbound)), "no binding signature");

        // a key its owner revoked with gpg
        PGPPublicKeyRing revoked = ring(revokeWithGpg(b, "other@example.org"));
        assertRefused(id, path, armour(revoked), "revoked");

        // that revocation signature appended to Kim's key revokes nothing: only Kim's own key can revoke it
        PGPSignature foreign = revoked.getPublicKey().getSignaturesOfType(PGPSignature.KEY_REVOCATION).next();
        PGPPublicKeyRing falselyRevoked = PGPPublicKeyRing.insertPublicKey(kim,
                PGPPublicKey.addCertification(kim.getPublicKey(), foreign));
        ResponseEntity<String> kept = put(compliance(), path, armour(falselyRevoked), id);
        assertThat(kept.getStatusCode()).as(kept.getBody()).isEqualTo(HttpStatus.OK);

        // Kim revokes the encryption subkey with gpg
        RecipientTools.run(a, List.of("gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "",
                "--command-fd", "0", "--edit-key", "kim@example.org"), "key 1\nrevkey\ny\n0\n\ny\nsave\n");
        String subRevoked = RecipientTools.run(a, List.of("gpg", "--batch", "--armor", "--export",
                "kim@example.org"), null);
        assertRefused(id, path, subRevoked.getBytes(StandardCharsets.US_ASCII), "revoked");

        ResponseEntity<String> good = put(compliance(), path, armour(kim), id);
        assertThat(good.getStatusCode()).as(good.getBody()).isEqualTo(HttpStatus.OK);
        assertThat(JSON.readTree(good.getBody()).get("fingerprint").asText())
                .isEqualToIgnoringCase(org.bouncycastle.util.encoders.Hex.toHexString(subkey(kim).getFingerprint()));
    }

    /** A certificate made as a CA would (BouncyCastle), self-signed by its own key. */
    static byte[] certificate(int rsaBits, String san, String subjectEmail, String eku, int daysFromNow, int days)
            throws Exception {
        java.security.KeyPairGenerator g = java.security.KeyPairGenerator.getInstance("RSA");
        g.initialize(rsaBits);
        java.security.KeyPair kp = g.generateKeyPair();
        org.bouncycastle.asn1.x500.X500NameBuilder name = new org.bouncycastle.asn1.x500.X500NameBuilder()
                .addRDN(org.bouncycastle.asn1.x500.style.BCStyle.CN, "Kim Key");
        if (subjectEmail != null) {
            name.addRDN(org.bouncycastle.asn1.x500.style.BCStyle.EmailAddress, subjectEmail);
        }
        java.time.Instant from = java.time.Instant.now().plus(java.time.Duration.ofDays(daysFromNow))
                .minus(java.time.Duration.ofMinutes(5));
        org.bouncycastle.cert.X509v3CertificateBuilder b = new org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder(
                name.build(), java.math.BigInteger.valueOf(System.nanoTime()), java.util.Date.from(from),
                java.util.Date.from(from.plus(java.time.Duration.ofDays(days))), name.build(), kp.getPublic());
        b.addExtension(org.bouncycastle.asn1.x509.Extension.keyUsage, true,
                new org.bouncycastle.asn1.x509.KeyUsage(org.bouncycastle.asn1.x509.KeyUsage.keyEncipherment));
        if (san != null) {
            b.addExtension(org.bouncycastle.asn1.x509.Extension.subjectAlternativeName, false,
                    new org.bouncycastle.asn1.x509.GeneralNames(new org.bouncycastle.asn1.x509.GeneralName(
                            org.bouncycastle.asn1.x509.GeneralName.rfc822Name, san)));
        }
        if (eku != null) {
            b.addExtension(org.bouncycastle.asn1.x509.Extension.extendedKeyUsage, false,
                    new org.bouncycastle.asn1.x509.ExtendedKeyUsage(new org.bouncycastle.asn1.x509.KeyPurposeId[] {
                            "email".equals(eku) ? org.bouncycastle.asn1.x509.KeyPurposeId.id_kp_emailProtection
                                    : org.bouncycastle.asn1.x509.KeyPurposeId.id_kp_serverAuth}));
        }
        org.bouncycastle.operator.ContentSigner signer = new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder(
                "SHA256withRSA").build(kp.getPrivate());
        byte[] der = b.build(signer).getEncoded();
        return ("-----BEGIN CERTIFICATE-----\n" + java.util.Base64.getMimeEncoder(64, new byte[] {'\n'})
                .encodeToString(der) + "\n-----END CERTIFICATE-----\n").getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void smimeCertificatesMustBeStrongForTheContactsOwnAddressAndForEmailProtection() throws Exception {
        UUID id = patient("KEYS-3");
        String path = "/api/contacts/{id}/smime-certificate";
        assertRefused(id, path, certificate(1024, "kim@example.org", null, "email", 0, 30), "at least 2048");
        assertRefused(id, path, certificate(2048, "someone.else@example.org", null, "email", 0, 30),
                "another email address");
        assertRefused(id, path, certificate(2048, null, "someone.else@example.org", null, 0, 30),
                "another email address");
        assertRefused(id, path, certificate(2048, null, null, "email", 0, 30), "names no email address");
        assertRefused(id, path, certificate(2048, "kim@example.org", null, "server", 0, 30), "email protection");
        assertRefused(id, path, certificate(2048, "kim@example.org", null, "email", -30, 10), "not valid now");

        ResponseEntity<String> san = put(compliance(), path, certificate(2048, "kim@example.org", null, "email", 0,
                30), id);
        assertThat(san.getStatusCode()).as(san.getBody()).isEqualTo(HttpStatus.OK);
        ResponseEntity<String> subject = put(compliance(), path, certificate(3072, null, "Kim@Example.org", null, 0,
                30), id);
        assertThat(subject.getStatusCode()).as(subject.getBody()).isEqualTo(HttpStatus.OK);
        assertThat(keys.smimeFor(id, "kim@example.org")).isPresent();
        assertThat(keys.smimeFor(id, "kim.new@example.org")).as("not for an address it does not name").isEmpty();
    }
}
