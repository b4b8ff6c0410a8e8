package io.caravan.channel.email;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.subethamail.smtp.RejectException;
import org.subethamail.smtp.server.SMTPServer;

/**
 * Real SMTP servers with STARTTLS for the TLS-choice tests (subethasmtp; GreenMail 2.1.5 offers implicit TLS only):
 * one whose certificate chains to a test CA the hub's adapter trusts, one with a self-signed certificate. Certificates
 * are made by openssl, as an operator would.
 */
final class TestSmtpServers {

    /** A received message: envelope and raw bytes. */
    record Received(String from, String to, byte[] data) {
        String text() {
            return new String(data, java.nio.charset.StandardCharsets.ISO_8859_1);
        }
    }

    private TestSmtpServers() {
    }

    /** A CA and a server certificate for localhost / 127.0.0.1 signed by it; returns the CA's PEM. */
    static Path caAndServer(Path dir) throws Exception {
        return caAndServer(dir, "");
    }

    /** As above, the server certificate also naming {@code extraSans} (e.g. {@code ,DNS:mx.example.test}). */
    static Path caAndServer(Path dir, String extraSans) throws Exception {
        RecipientTools.run(dir, List.of("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                "ca.key", "-out", "ca.pem", "-subj", "/CN=Caravan Test Relay CA", "-days", "2", "-addext",
                "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"), null);
        RecipientTools.run(dir, List.of("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
                "-out", "server.csr", "-subj", "/CN=localhost"), null);
        Files.writeString(dir.resolve("san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1" + extraSans + "\n"
                + "extendedKeyUsage=serverAuth\n");
        RecipientTools.run(dir, List.of("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey",
                "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.ext"), null);
        pkcs12(dir, "server");
        // the same name, but vouched for by nobody
        RecipientTools.run(dir, List.of("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                "selfsigned.key", "-out", "selfsigned.pem", "-subj", "/CN=localhost", "-days", "2", "-addext",
                "subjectAltName=DNS:localhost,IP:127.0.0.1"), null);
        pkcs12(dir, "selfsigned");
        return dir.resolve("ca.pem");
    }

    private static void pkcs12(Path dir, String name) throws Exception {
        RecipientTools.run(dir, List.of("openssl", "pkcs12", "-export", "-in", name + ".pem", "-inkey", name + ".key",
                "-out", name + ".p12", "-passout", "pass:test"), null);
    }

    static SSLContext tls(Path p12) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(p12)) {
            ks.load(in, "test".toCharArray());
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, "test".toCharArray());
        SSLContext c = SSLContext.getInstance("TLS");
        c.init(kmf.getKeyManagers(), null, null);
        return c;
    }

    /** A STARTTLS-only server; {@code verdict} may refuse a recipient with an SMTP code (0 = accept). */
    static final class StartTls implements AutoCloseable {
        final List<Received> received = new CopyOnWriteArrayList<>();
        final Map<String, Integer> tries = new ConcurrentHashMap<>();
        volatile Function<Received, Integer> verdict = r -> 0;
        private final SMTPServer server;

        StartTls(SSLContext tls) {
            this(tls, java.net.InetAddress.getLoopbackAddress(), 0);
        }

        StartTls(SSLContext tls, java.net.InetAddress address, int port) {
            server = SMTPServer.port(port).bindAddress(address).hostName("localhost")
                    .requireTLS().startTlsSocketFactory(tls).messageHandler((ctx, from, to, data) -> {
                        Received r = new Received(from, to, data);
                        tries.merge(to, 1, Integer::sum);
                        int code = verdict.apply(r);
                        if (code > 0) {
                            throw new RejectException(code, code >= 500 ? "5.1.1 mailbox unavailable"
                                    : "4.3.0 try again later");
                        }
                        received.add(r);
                    }).build();
            server.start();
        }

        int port() {
            return server.getPortAllocated();
        }

        @Override
        public void close() {
            server.stop();
        }
    }
}
