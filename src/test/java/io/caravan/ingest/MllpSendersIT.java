package io.caravan.ingest;

import static io.caravan.support.MllpTestClient.field;
import static io.caravan.support.MllpTestClient.msa1;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.support.Hl7Messages;
import io.caravan.support.MllpTestClient;
import io.caravan.support.TestHub;
import java.io.FileOutputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.http.ResponseEntity;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * A message names its sender in MSH-3/MSH-4; the connection must fit the adapter it names. Over TLS with client
 * certificates from a CA made here: {@code lab-feed} may only connect from 127.0.0.2, {@code epic-feed} only with
 * the certificate {@code CN=epic-feed}, and with require-known-sender a message naming no adapter is refused.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@ExtendWith(OutputCaptureExtension.class)
class MllpSendersIT {

    static final String PASSWORD_ENV = "PATH"; // always set; the hub reads keystore passwords from a named variable
    static final char[] PW = System.getenv(PASSWORD_ENV).toCharArray();
    static final String EPIC_DN = "CN=epic-feed,O=Example Hospital";
    static KeyPair caKey;
    static X509Certificate ca;
    static Path dir;

    @Autowired
    TestRestTemplate rest;

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) throws Exception {
        TestHub hub = TestHub.named("senders");
        dir = hub.dataDir.resolveSibling(hub.dataDir.getFileName() + "-senders");
        if (ca == null) {
            Files.createDirectories(dir.resolve("adapters"));
            caKey = ecKey();
            ca = sign("CN=Test MLLP CA", caKey, caKey, ca, true, false);
            KeyPair serverKey = ecKey();
            store(dir.resolve("server.p12"), serverKey, sign("CN=127.0.0.1", serverKey, caKey, ca, false, true));
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry("ca", ca);
            try (OutputStream o = new FileOutputStream(dir.resolve("trust.p12").toFile())) {
                trust.store(o, PW);
            }
            Files.writeString(dir.resolve("adapters/lab-feed.yaml"), """
                    id: lab-feed
                    kind: hl7v2-mllp
                    match: { sendingApplication: LAB }
                    baa: { status: not-applicable }
                    mllp:
                      allowedSources: [127.0.0.2/32]
                    """);
            Files.writeString(dir.resolve("adapters/epic-feed.yaml"), """
                    id: epic-feed
                    kind: hl7v2-mllp
                    match: { sendingApplication: EPIC }
                    baa: { status: not-applicable }
                    mllp:
                      clientCertificateSubjects: ["%s"]
                    """.formatted(EPIC_DN));
        }
        hub.register(r);
        r.add("caravan.mapping.adapters-dir", () -> dir.resolve("adapters").toString());
        r.add("caravan.mllp.require-known-sender", () -> "true");
        r.add("caravan.mllp.tls.enabled", () -> "true");
        r.add("caravan.mllp.tls.keystore", () -> dir.resolve("server.p12").toString());
        r.add("caravan.mllp.tls.truststore", () -> dir.resolve("trust.p12").toString());
        r.add("caravan.mllp.tls.client-auth", () -> "true");
        r.add("caravan.mllp.tls.password-env", () -> PASSWORD_ENV);
    }

    static KeyPair ecKey() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    static X509Certificate sign(String dn, KeyPair subject, KeyPair issuerKey, X509Certificate issuer, boolean isCa,
            boolean server) throws Exception {
        Instant now = Instant.now();
        X500Name issuerName = X500Name.getInstance((issuer == null
                ? new javax.security.auth.x500.X500Principal(dn) : issuer.getSubjectX500Principal()).getEncoded());
        JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuerName,
                new BigInteger(64, new SecureRandom()), Date.from(now.minusSeconds(60)),
                Date.from(now.plus(Duration.ofDays(1))),
                // RFC 2253 order, as the JDK and openssl print it (BouncyCastle's X500Name(String) keeps the reverse)
                X500Name.getInstance(new javax.security.auth.x500.X500Principal(dn).getEncoded()),
                subject.getPublic());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(isCa));
        if (server) {
            b.addExtension(Extension.subjectAlternativeName, false,
                    new GeneralNames(new GeneralName(GeneralName.iPAddress, "127.0.0.1")));
        }
        return new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKey.getPrivate())));
    }

    static void store(Path file, KeyPair key, X509Certificate cert) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("key", key.getPrivate(), PW, new X509Certificate[] {cert, ca});
        try (OutputStream o = new FileOutputStream(file.toFile())) {
            ks.store(o, PW);
        }
    }

    /** A TLS connection from {@code from} presenting a fresh certificate for {@code dn} issued by the test CA. */
    static MllpTestClient client(String from, String dn) throws Exception {
        KeyPair k = ecKey();
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("key", k.getPrivate(), PW, new X509Certificate[] {sign(dn, k, caKey, ca, false, false), ca});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, PW);
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", ca);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLSv1.3");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(InetAddress.getByName("127.0.0.1"),
                TestHub.named("senders").mllpPort, InetAddress.getByName(from), 0);
        s.startHandshake();
        return new MllpTestClient(s);
    }

    static String adt(String app, String ctl, String mrn) {
        return Hl7Messages.a04(ctl, mrn, "Senderfamily", "Canarygiven", "canary@example.org")
                .replace("|REGADT|MERCY|", "|" + app + "|MERCY|");
    }

    /** Contacts the hub holds for this MRN, read through the API as an operator would. */
    int stored(String mrn) throws Exception {
        ResponseEntity<String> r = rest.withBasicAuth("admin", TestHub.named("senders").adminPassword())
                .getForEntity("/api/contacts?identifier={id}", String.class, "MERCY|" + mrn);
        assertThat(r.getStatusCode().is2xxSuccessful()).isTrue();
        return new ObjectMapper().readTree(r.getBody()).size();
    }

    @Test
    void aFeedPinnedToAnAddressIsRefusedFromAnotherAndAcceptedFromItsOwn(CapturedOutput log) throws Exception {
        String ctl = Hl7Messages.controlId();
        try (MllpTestClient c = client("127.0.0.1", "CN=lab-feed")) {
            String ack = c.exchange(adt("LAB", ctl, "MRN-LAB" + ctl), 5_000);
            assertThat(msa1(ack)).isEqualTo("AR");
            assertThat(field(ack, "MSA", 2)).isEqualTo(ctl);
            assertThat(ack).contains("ERR|").contains("source address not allowed");
        }
        assertThat(stored("MRN-LAB" + ctl)).isZero();
        assertThat(log.getOut()).contains("Refused an MLLP message from 127.0.0.1 (adapter lab-feed)")
                .doesNotContain("Senderfamily").doesNotContain("Canarygiven").doesNotContain("MRN-LAB");
        try (MllpTestClient c = client("127.0.0.2", "CN=lab-feed")) {
            assertThat(msa1(c.exchange(adt("LAB", ctl, "MRN-LAB" + ctl), 5_000))).isEqualTo("AA");
        }
        assertThat(stored("MRN-LAB" + ctl)).isEqualTo(1);
    }

    @Test
    void aFeedPinnedToACertificateIsRefusedWithAnotherAndAcceptedWithItsOwn(CapturedOutput log) throws Exception {
        String ctl = Hl7Messages.controlId();
        try (MllpTestClient c = client("127.0.0.1", "CN=someone-else,O=Example Hospital")) {
            String ack = c.exchange(adt("EPIC", ctl, "MRN-EPIC" + ctl), 5_000);
            assertThat(msa1(ack)).isEqualTo("AR");
            assertThat(ack).contains("client certificate not allowed");
        }
        assertThat(stored("MRN-EPIC" + ctl)).isZero();
        assertThat(log.getOut()).contains("(adapter epic-feed): client certificate not allowed")
                .doesNotContain("Senderfamily");
        try (MllpTestClient c = client("127.0.0.1", EPIC_DN)) {
            assertThat(msa1(c.exchange(adt("EPIC", ctl, "MRN-EPIC" + ctl), 5_000))).isEqualTo("AA");
        }
        assertThat(stored("MRN-EPIC" + ctl)).isEqualTo(1);
    }

    @Test
    void aSenderMatchingNoAdapterIsRefusedWhenKnownSendersAreRequired(CapturedOutput log) throws Exception {
        String ctl = Hl7Messages.controlId();
        try (MllpTestClient c = client("127.0.0.2", EPIC_DN)) {
            String ack = c.exchange(adt("NOBODY", ctl, "MRN-NONE" + ctl), 5_000);
            assertThat(msa1(ack)).isEqualTo("AR");
            assertThat(ack).contains("sender matches no adapter");
            // the connection stays usable for messages that do fit
            assertThat(msa1(c.exchange(adt("EPIC", Hl7Messages.controlId(), "MRN-OK" + ctl), 5_000)))
                    .isEqualTo("AA");
        }
        assertThat(log.getOut()).contains("(adapter none): sender matches no adapter").doesNotContain("NOBODY");
        assertThat(stored("MRN-NONE" + ctl)).isZero();
        assertThat(stored("MRN-OK" + ctl)).isEqualTo(1);
    }

    @Test
    void aTlsHandshakeTrickledByteByByteIsCutAtTheFrameTimeout() throws Exception {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", TestHub.named("senders").mllpPort)) {
            // a TLS handshake record announcing 16 KiB, then one byte every 300 ms: each read gets something
            s.getOutputStream().write(new byte[] {0x16, 0x03, 0x01, 0x40, 0x00});
            s.setSoTimeout(300);
            long start = System.currentTimeMillis();
            boolean closed = false;
            while (!closed && System.currentTimeMillis() - start < 10_000) {
                try {
                    closed = s.getInputStream().read() < 0;
                } catch (java.net.SocketTimeoutException open) {
                    try {
                        s.getOutputStream().write(0x01);
                    } catch (java.io.IOException gone) {
                        closed = true;
                    }
                } catch (java.io.IOException reset) {
                    closed = true;
                }
            }
            assertThat(closed).isTrue();
            assertThat(System.currentTimeMillis() - start).isLessThan(3_500); // frame timeout 2 s
        }
    }
}
