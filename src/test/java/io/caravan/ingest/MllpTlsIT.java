package io.caravan.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.support.Hl7Messages;
import io.caravan.support.MllpTestClient;
import io.caravan.support.TestHub;
import java.io.ByteArrayOutputStream;
import java.io.FileInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** MLLP over TLS: a feed that trusts the hub's certificate gets its ACK; a plaintext sender gets nothing. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class MllpTlsIT {

    // the keystore password must come from an environment variable; the test borrows one that is always set
    static final String PASSWORD_ENV = "PATH";
    static Path keystore;

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) throws Exception {
        TestHub hub = TestHub.named("tls");
        keystore = hub.dataDir.resolveSibling(hub.dataDir.getFileName() + "-mllp.p12");
        if (!keystore.toFile().exists()) {
            String pw = System.getenv(PASSWORD_ENV);
            Process p = new ProcessBuilder(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "keytool").toString(), "-genkeypair",
                    "-alias", "hub", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=127.0.0.1",
                    "-ext", "SAN=ip:127.0.0.1", "-validity", "2", "-storetype", "PKCS12",
                    "-keystore", keystore.toString(), "-storepass", pw, "-keypass", pw))
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            assertThat(p.waitFor()).as(out).isZero();
        }
        hub.register(r);
        r.add("caravan.mllp.tls.enabled", () -> "true");
        r.add("caravan.mllp.tls.keystore", keystore::toString);
        r.add("caravan.mllp.tls.password-env", () -> PASSWORD_ENV);
    }

    @Test
    void aSenderTrustingTheHubGetsItsAckOverTls() throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        try (InputStream in = new FileInputStream(keystore.toFile())) {
            trust.load(in, System.getenv(PASSWORD_ENV).toCharArray());
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLSv1.3");
        ctx.init(null, tmf.getTrustManagers(), null);
        String ctl = Hl7Messages.controlId();
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1",
                TestHub.named("tls").mllpPort)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(MllpTestClient.frame(Hl7Messages.a04(ctl, "MRN-TLS" + ctl, "Secure", "Line",
                    "t@example.org")));
            s.getOutputStream().flush();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            int b;
            while ((b = s.getInputStream().read()) != -1 && b != 0x1c) {
                if (b != 0x0b) {
                    got.write(b);
                }
            }
            String ack = got.toString(StandardCharsets.UTF_8);
            assertThat(MllpTestClient.msa1(ack)).isEqualTo("AA");
            assertThat(MllpTestClient.field(ack, "MSA", 2)).isEqualTo(ctl);
            assertThat(s.getSession().getProtocol()).isEqualTo("TLSv1.3");
        }
    }

    @Test
    void aPlaintextSenderIsNotServed() throws Exception {
        try (MllpTestClient c = new MllpTestClient(TestHub.named("tls").mllpPort)) {
            String ack = c.exchange(Hl7Messages.a04(Hl7Messages.controlId(), "MRN-PLAIN", "Plain", "Text",
                    "p@example.org"), 3000);
            assertThat(ack).isNull();
        }
    }
}
