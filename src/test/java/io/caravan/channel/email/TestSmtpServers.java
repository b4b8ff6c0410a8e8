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
public final class TestSmtpServers {

    /** A received message: envelope and raw bytes. */
    public record Received(String from, String to, byte[] data) {
        String text() {
            return new String(data, java.nio.charset.StandardCharsets.ISO_8859_1);
        }
    }

    private TestSmtpServers() {
    }

    /** A CA and a server certificate for localhost / 127.0.0.1 signed by it; returns the CA's PEM. */
    public static Path caAndServer(Path dir) throws Exception {
        return caAndServer(dir, "");
    }

    /** As above, the server certificate also naming {@code extraSans} (e.g. {@code ,DNS:mx.example.test}). */
    public static Path caAndServer(Path dir, String extraSans) throws Exception {
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

    public static SSLContext tls(Path p12) throws Exception {
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

    /**
     * A STARTTLS-only server. {@code mailFrom} and {@code rcptTo} may answer MAIL FROM / RCPT TO with a whole reply
     * ({@code "550 5.1.1 user unknown"}; null = accept); {@code verdict} may refuse a recipient at the end of DATA with
     * an SMTP code (0 = accept). With {@code auth} it offers AUTH after STARTTLS and records every login it is sent.
     */
    public static final class StartTls implements AutoCloseable {
        public final List<Received> received = new CopyOnWriteArrayList<>();
        final Map<String, Integer> tries = new ConcurrentHashMap<>();
        public final List<String> logins = new CopyOnWriteArrayList<>();
        volatile Function<Received, Integer> verdict = r -> 0;
        volatile Function<String, String> mailFrom = f -> null;
        volatile Function<String, String> rcptTo = t -> null;
        private final SMTPServer server;

        public StartTls(SSLContext tls) {
            this(tls, java.net.InetAddress.getLoopbackAddress(), 0, false);
        }

        public StartTls(SSLContext tls, java.net.InetAddress address, int port) {
            this(tls, address, port, false);
        }

        public StartTls(SSLContext tls, boolean auth) {
            this(tls, java.net.InetAddress.getLoopbackAddress(), 0, auth);
        }

        public StartTls(SSLContext tls, java.net.InetAddress address, int port, boolean auth) {
            SMTPServer.Builder b = SMTPServer.port(port).bindAddress(address).hostName("localhost")
                    .requireTLS().startTlsSocketFactory(tls).messageHandlerFactory(ctx -> new Handler());
            if (auth) {
                b.authenticationHandlerFactory(new org.subethamail.smtp.auth.EasyAuthenticationHandlerFactory(
                        (user, password, ctx) -> logins.add(user)));
            }
            server = b.build();
            server.start();
        }

        private static RejectException reply(String r) {
            return new RejectException(Integer.parseInt(r.substring(0, 3)), r.substring(4));
        }

        private final class Handler implements org.subethamail.smtp.MessageHandler {
            private String from;
            private final List<String> to = new java.util.ArrayList<>();

            @Override
            public void from(String f) throws RejectException {
                String r = mailFrom.apply(f);
                if (r != null) {
                    throw reply(r);
                }
                from = f;
            }

            @Override
            public void recipient(String t) throws RejectException {
                tries.merge(t, 1, Integer::sum);
                String r = rcptTo.apply(t);
                if (r != null) {
                    throw reply(r);
                }
                to.add(t);
            }

            @Override
            public String data(java.io.InputStream in) throws java.io.IOException, RejectException {
                byte[] data = in.readAllBytes();
                for (String t : to) {
                    Received r = new Received(from, t, data);
                    int code = verdict.apply(r);
                    if (code > 0) {
                        throw new RejectException(code, code >= 500 ? "5.1.1 mailbox unavailable"
                                : "4.3.0 try again later");
                    }
                    received.add(r);
                }
                return null;
            }

            @Override
            public void done() {
            }
        }

        public int port() {
            return server.getPortAllocated();
        }

        @Override
        public void close() {
            server.stop();
        }
    }
}
