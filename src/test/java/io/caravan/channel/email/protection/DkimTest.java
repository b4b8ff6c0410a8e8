package io.caravan.channel.email.protection;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.channel.email.RecipientTools;
import jakarta.mail.Session;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeBodyPart;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.RSAPrivateKey;
import java.security.interfaces.RSAPublicKey;
import java.util.Properties;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DKIM signatures checked by an independent verifier (Debian's python3-dkim, given the public key instead of DNS),
 * including the RFC 8058 headers, and broken by any change to the body or a signed header.
 */
class DkimTest {

    static KeyPair keys;

    @BeforeAll
    static void key() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        keys = g.generateKeyPair();
    }


    static Path signed(Path dir, String name, String body) throws Exception {
        MimeMessage m = new Dkim.StableMessage(Session.getInstance(new Properties()), "<msg-1@hospital.example>");
        m.setFrom(new InternetAddress("news@hospital.example"));
        m.setRecipient(MimeMessage.RecipientType.TO, new InternetAddress("pat@example.org"));
        m.setSubject("News from Mercy Health", "UTF-8");
        m.setHeader("List-Unsubscribe", "<https://hub.hospital.example/unsubscribe/dek-1.abc>");
        m.setHeader("List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
        MimeMultipart alt = new MimeMultipart("alternative");
        MimeBodyPart text = new MimeBodyPart();
        text.setText(body, "UTF-8");
        MimeBodyPart html = new MimeBodyPart();
        html.setContent("<p>" + body + "</p>", "text/html; charset=UTF-8");
        alt.addBodyPart(text);
        alt.addBodyPart(html);
        m.setContent(alt);
        m.saveChanges();
        MimeMessage s = new Dkim("hospital.example", "caravan", (RSAPrivateKey) keys.getPrivate()).sign(m);
        Path f = dir.resolve(name);
        try (OutputStream out = Files.newOutputStream(f)) {
            s.writeTo(out);
        }
        return f;
    }

    static String verify(Path dir, Path eml) throws Exception {
        return RecipientTools.dkimVerify(dir, eml, "caravan", "hospital.example",
                Dkim.txtRecord((RSAPublicKey) keys.getPublic()));
    }

    @Test
    void aSignedMessagePassesAnIndependentVerifierAndCoversTheUnsubscribeHeaders(@TempDir Path dir)
            throws Exception {
        Path f = signed(dir, "signed.eml", "Grüße aus dem Krankenhaus – Ünïcödé survives the body hash");
        String eml = Files.readString(f);
        assertThat(eml).contains("DKIM-Signature:").contains("a=rsa-sha256").contains("c=relaxed/relaxed")
                .contains("Message-ID: <msg-1@hospital.example>");
        String signedHeaders = eml.substring(eml.indexOf("h=")).split(";")[0].toLowerCase();
        assertThat(signedHeaders).contains("list-unsubscribe").contains("list-unsubscribe-post").contains("from")
                .contains("subject");
        assertThat(verify(dir, f)).isEqualTo("pass");
    }

    @Test
    void anyChangeToTheBodyOrASignedHeaderFailsVerification(@TempDir Path dir) throws Exception {
        Path f = signed(dir, "signed.eml", "Original text");
        String eml = Files.readString(f);
        Path body = dir.resolve("body.eml");
        Files.writeString(body, eml.replace("Original text", "Tampered text"));
        assertThat(verify(dir, body)).isEqualTo("fail");
        Path header = dir.resolve("header.eml");
        Files.writeString(header, eml.replace("dek-1.abc", "dek-1.xyz"));
        assertThat(verify(dir, header)).isEqualTo("fail");
    }

    @Test
    void withSigningOffTheMessageGoesAsItIsForTheRelayToSign() throws Exception {
        MimeMessage m = new Dkim.StableMessage(Session.getInstance(new Properties()), "<msg-2@hospital.example>");
        m.setFrom(new InternetAddress("news@hospital.example"));
        m.setText("Hello", "UTF-8");
        m.saveChanges();
        MimeMessage out = Dkim.NONE.sign(m);
        assertThat(out).isSameAs(m);
        assertThat(out.getHeader("DKIM-Signature")).isNull();
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        out.writeTo(bytes);
        assertThat(bytes.toString(java.nio.charset.StandardCharsets.UTF_8)).doesNotContain("DKIM-Signature");
    }
}
