package io.caravan.channel.email.protection;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.caravan.channel.email.RecipientTools;
import jakarta.mail.Session;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeBodyPart;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Properties;
import org.bouncycastle.openpgp.PGPPublicKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Messages encrypted for a recipient are read by the recipient's own tools: {@code openssl cms} for S/MIME (GCM and
 * CBC; {@code openssl smime} too for CBC, which is all it reads), {@code gpg} for PGP/MIME. The clear text is
 * nowhere in what goes on the wire.
 */
class EncryptionTest {

    static final String SECRET = "Your HbA1c result is 6.9 % - Dr Osei";

    static MimeBodyPart body() throws Exception {
        MimeBodyPart p = new MimeBodyPart();
        p.setText(SECRET + "\n", "UTF-8");
        return p;
    }

    static Path message(Path dir, String name, Object content, String contentType) throws Exception {
        MimeMessage m = new MimeMessage(Session.getInstance(new Properties()));
        m.setFrom(new InternetAddress("care@hospital.example"));
        m.setRecipient(MimeMessage.RecipientType.TO, new InternetAddress("pat@example.org"));
        m.setSubject("A message from your care team");
        if (content instanceof MimeMultipart mp) {
            m.setContent(mp);
        } else {
            MimeBodyPart part = (MimeBodyPart) content;
            m.setContent(part.getContent(), part.getContentType());
        }
        m.saveChanges();
        Path f = dir.resolve(name);
        try (OutputStream out = Files.newOutputStream(f)) {
            m.writeTo(out);
        }
        assertThat(Files.readString(f, StandardCharsets.ISO_8859_1)).doesNotContain("HbA1c").doesNotContain("Osei");
        return f;
    }

    @Test
    void smimeAesGcmIsDecryptedByOpensslCms(@TempDir Path dir) throws Exception {
        Path cert = RecipientTools.certificate(dir, "pat", "pat@example.org", 30, "keyEncipherment,digitalSignature");
        MimeBodyPart enc = Encryption.smime(body(), RecipientKeys.parseCertificate(Files.readAllBytes(cert)), true);
        assertThat(enc.getContentType()).contains("application/pkcs7-mime").contains("authEnveloped-data");
        Path f = message(dir, "gcm.eml", enc, null);
        String clear = RecipientTools.run(dir, List.of("openssl", "cms", "-decrypt", "-in", f.toString(), "-recip",
                cert.toString(), "-inkey", "pat.key"), null);
        assertThat(clear).contains(SECRET);
    }

    @Test
    void smimeToAnEcCertificateIsDecryptedByOpensslCmsAndSmallCurvesAreRefused(@TempDir Path dir) throws Exception {
        RecipientTools.run(dir, List.of("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ec.key", "-out", "ec.pem", "-subj",
                "/CN=pat@example.org", "-addext", "subjectAltName=email:pat@example.org", "-addext",
                "keyUsage=keyAgreement", "-days", "30"), null);
        byte[] pem = Files.readAllBytes(dir.resolve("ec.pem"));
        RecipientKeys keys = new RecipientKeys(null, null, null, java.time.Clock.systemUTC());
        // accepted up to the point of filing (no store here): every check passed
        assertThatThrownBy(() -> keys.putSmime(null, "pat@example.org", pem, "t"))
                .isNotInstanceOf(IllegalArgumentException.class);
        MimeBodyPart enc = Encryption.smime(body(), RecipientKeys.parseCertificate(pem), true);
        Path f = message(dir, "ec.eml", enc, null);
        assertThat(RecipientTools.run(dir, List.of("openssl", "cms", "-decrypt", "-in", f.toString(), "-recip",
                "ec.pem", "-inkey", "ec.key"), null)).contains(SECRET);

        RecipientTools.run(dir, List.of("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-224", "-nodes", "-keyout", "small.key", "-out", "small.pem", "-subj",
                "/CN=pat@example.org", "-addext", "subjectAltName=email:pat@example.org", "-days", "30"), null);
        assertThatThrownBy(() -> keys.putSmime(null, "pat@example.org", Files.readAllBytes(dir.resolve("small.pem")),
                "t")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void smimeAesCbcForOldClientsIsDecryptedByOpensslSmime(@TempDir Path dir) throws Exception {
        Path cert = RecipientTools.certificate(dir, "pat", "pat@example.org", 30, "keyEncipherment");
        MimeBodyPart enc = Encryption.smime(body(), RecipientKeys.parseCertificate(Files.readAllBytes(cert)), false);
        Path f = message(dir, "cbc.eml", enc, null);
        assertThat(RecipientTools.run(dir, List.of("openssl", "smime", "-decrypt", "-in", f.toString(), "-recip",
                cert.toString(), "-inkey", "pat.key"), null)).contains(SECRET);
    }

    @Test
    void pgpMimeIsDecryptedByGpg(@TempDir Path dir) throws Exception {
        String armour = RecipientTools.gpgKey(dir, "Pat Example <pat@example.org>");
        PGPPublicKey key = RecipientKeys.encryptionKey(RecipientKeys.parseRing(armour.getBytes(StandardCharsets.US_ASCII)),
                Instant.now()).orElseThrow();
        assertThat(key.isMasterKey()).as("gpg's default key encrypts with its subkey, not the signing primary")
                .isFalse();
        MimeMultipart mp = Encryption.pgp(body(), key);
        assertThat(mp.getContentType()).contains("multipart/encrypted").contains("application/pgp-encrypted");
        Path f = message(dir, "pgp.eml", mp, null);
        String eml = Files.readString(f, StandardCharsets.US_ASCII);
        String armoured = eml.substring(eml.indexOf("-----BEGIN PGP MESSAGE-----"),
                eml.indexOf("-----END PGP MESSAGE-----") + "-----END PGP MESSAGE-----".length());
        Files.writeString(dir.resolve("data.asc"), armoured);
        String clear = RecipientTools.run(dir, List.of("gpg", "--batch", "--pinentry-mode", "loopback",
                "--passphrase", "", "--decrypt", "data.asc"), null);
        assertThat(clear).contains(SECRET).doesNotContain("WARNING: message was not integrity protected");
    }

    @Test
    void expiredOrSigningOnlyCertificatesAndBrokenKeysAreRefused(@TempDir Path dir) throws Exception {
        Path shortLived = RecipientTools.certificate(dir, "old", "old@example.org", 1, "keyEncipherment");
        Path signOnly = RecipientTools.certificate(dir, "sig", "sig@example.org", 30, "digitalSignature");
        RecipientKeys keys = new RecipientKeys(null, null, null, java.time.Clock.systemUTC());
        RecipientKeys nextWeek = new RecipientKeys(null, null, null,
                java.time.Clock.offset(java.time.Clock.systemUTC(), java.time.Duration.ofDays(7)));
        assertThatThrownBy(() -> nextWeek.putSmime(null, "old@example.org", Files.readAllBytes(shortLived), "t"))
                .as("expired by then").hasMessageContaining("not valid now");
        assertThatThrownBy(() -> keys.putSmime(null, "sig@example.org", Files.readAllBytes(signOnly), "t"))
                .hasMessageContaining("key encipherment");
        assertThatThrownBy(() -> keys.putSmime(null, "x@example.org", "-----BEGIN CERTIFICATE-----\nnope\n".getBytes(), "t"))
                .hasMessageContaining("not an X.509 certificate");
        assertThatThrownBy(() -> keys.putPgp(null, "hello".getBytes(), "t"))
                .hasMessageContaining("not an OpenPGP public key");
    }
}
