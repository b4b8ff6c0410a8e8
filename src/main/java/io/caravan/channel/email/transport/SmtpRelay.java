package io.caravan.channel.email.transport;

import io.caravan.mapping.AdapterProfile;
import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SMTP relay of {@code adapters/<id>.yaml} ({@code kind: smtp}), as two pools of reused connections:
 *
 * <ul>
 * <li><b>verified</b> - STARTTLS (or implicit TLS) required, the certificate chain checked against the JVM's trust
 * store plus the adapter's CAs, and the host name checked. Never falls back: no TLS or a bad certificate is a failed
 * connection. Only this one carries PHI in clear-text MIME, and only when the relay guarantees onward TLS.</li>
 * <li><b>opportunistic</b> - TLS when offered, any certificate: for PHI-free content (portal notices, PHI-free
 * variants) and for content that is already S/MIME or OpenPGP encrypted. When the relay takes credentials this one
 * verifies TLS too: the password never goes over a connection whose server has not proved who it is (an unverified
 * STARTTLS is as good as clear text to whoever answers in the relay's place).</li>
 * </ul>
 *
 * Whether the verified connection can be made is checked when a message needs it and remembered for a minute, so the
 * protection is chosen knowing what the wire offers, not discovered after a failed send.
 */
public final class SmtpRelay implements SmtpDelivery {

    private static final Logger log = LoggerFactory.getLogger(SmtpRelay.class);
    static final Duration REMEMBER = Duration.ofMinutes(1);

    private final String id;
    private final boolean onwardGuaranteed;
    private final boolean authenticates;
    private final PooledMailSender verified;
    private final PooledMailSender opportunistic;
    private final Clock clock;
    private volatile Tls known;
    private volatile Instant knownUntil = Instant.MIN;

    SmtpRelay(String id, boolean onwardGuaranteed, boolean authenticates, PooledMailSender verified,
            PooledMailSender opportunistic, Clock clock) {
        this.id = id;
        this.onwardGuaranteed = onwardGuaranteed;
        this.authenticates = authenticates;
        this.verified = verified;
        this.opportunistic = opportunistic;
        this.clock = clock;
    }

    public String id() {
        return id;
    }

    @Override
    public boolean onwardTlsGuaranteed() {
        return onwardGuaranteed;
    }

    @Override
    public boolean credentialsNeedVerifiedTls() {
        return authenticates;
    }

    @Override
    public PooledMailSender verified() {
        return verified;
    }

    @Override
    public PooledMailSender opportunistic() {
        return opportunistic;
    }

    /**
     * Whether verified TLS to the relay is possible now. A connection that fails for another reason (refused, timed
     * out) is not an answer: it is thrown, and the message waits for a retry.
     */
    @Override
    public Tls tls(String address) throws MessagingException {
        Tls k = known;
        if (k != null && clock.instant().isBefore(knownUntil)) {
            return k;
        }
        // one sender checks; the others wait for its answer rather than all probing the relay at once
        synchronized (this) {
            return check();
        }
    }

    private Tls check() throws MessagingException {
        Instant now = clock.instant();
        Tls k = known;
        if (k != null && now.isBefore(knownUntil)) {
            return k;
        }
        Tls t;
        try {
            verified.check();
            t = Tls.VERIFIED;
        } catch (MessagingException e) {
            if (!isTlsFailure(e)) {
                throw e;
            }
            log.warn("SMTP relay {}: TLS cannot be verified ({}); PHI goes by key or portal only", id,
                    rootCause(e).getClass().getSimpleName());
            t = Tls.UNAVAILABLE;
        }
        known = t;
        knownUntil = now.plus(REMEMBER);
        return t;
    }

    @Override
    public void forget() {
        knownUntil = Instant.MIN;
        verified.close();
    }

    /** The failure was TLS not being offered or not checking out (as opposed to the relay being unreachable). */
    public static boolean isTlsFailure(Throwable e) {
        // Jakarta Mail's getCause() is the next exception in the chain, so one walk sees every nested failure
        for (Throwable c = e; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof SSLException || c instanceof java.security.cert.CertificateException
                    || c instanceof MessagingException && c.getMessage() != null
                    && c.getMessage().contains("STARTTLS is required")) {
                return true;
            }
        }
        return false;
    }

    static Throwable rootCause(Throwable e) {
        Throwable c = e;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        return c;
    }

    @Override
    public void close() {
        verified.close();
        opportunistic.close();
    }

    /** Builds the two pools from the adapter; the trust store is read once here. */
    public static SmtpRelay from(AdapterProfile a, String envelopeFrom, Clock clock) {
        return from(a, envelopeFrom, clock, System::getenv);
    }

    /** As above, the credentials' environment variables read through {@code env}. */
    static SmtpRelay from(AdapterProfile a, String envelopeFrom, Clock clock,
            java.util.function.UnaryOperator<String> env) {
        AdapterProfile.Smtp s = a.smtp;
        String user = s.usernameEnv == null ? null : env.apply(s.usernameEnv);
        String password = s.passwordEnv == null ? null : env.apply(s.passwordEnv);
        if (s.usernameEnv != null && (user == null || password == null)) {
            throw new IllegalStateException("SMTP relay " + a.id + ": set the environment variables "
                    + s.usernameEnv + " and " + s.passwordEnv);
        }
        boolean implicit = "implicit".equals(s.tls);
        String protocol = implicit ? "smtps" : "smtp";
        try {
            SSLContext strict = SSLContext.getInstance("TLS");
            strict.init(null, new TrustManager[] {trustManager(s.trustCertificates)}, new SecureRandom());
            SSLContext any = SSLContext.getInstance("TLS");
            any.init(null, new TrustManager[] {new AnyCertificate()}, new SecureRandom());
            Session verifiedSession = Session.getInstance(properties(protocol, s, envelopeFrom, user != null,
                    strict, true));
            // credentials go over verified TLS only, whatever the content
            Session openSession = user != null ? verifiedSession
                    : Session.getInstance(properties(protocol, s, envelopeFrom, false, any, false));
            return new SmtpRelay(a.id, "guaranteed".equals(s.onwardTls), user != null,
                    new PooledMailSender(verifiedSession, protocol, s.host, s.port, user, password, s.connections),
                    new PooledMailSender(openSession, protocol, s.host, s.port, user, password, s.connections),
                    clock);
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("SMTP relay " + a.id + ": cannot set up TLS (" + e.getMessage() + ")", e);
        }
    }

    static Properties properties(String protocol, AdapterProfile.Smtp s, String envelopeFrom, boolean auth,
            SSLContext tls, boolean verify) {
        Properties p = new Properties();
        String k = "mail." + protocol + ".";
        p.put(k + "connectiontimeout", "10000");
        p.put(k + "timeout", "30000");
        p.put(k + "writetimeout", "30000");
        p.put(k + "auth", Boolean.toString(auth));
        p.put(k + "ssl.socketFactory", tls.getSocketFactory());
        p.put(k + "ssl.protocols", "TLSv1.3 TLSv1.2");
        p.put(k + "ssl.checkserveridentity", Boolean.toString(verify));
        if (!"smtps".equals(protocol)) {
            p.put(k + "starttls.enable", "true");
            p.put(k + "starttls.required", Boolean.toString(verify));
        }
        if (envelopeFrom != null) {
            p.put(k + "from", envelopeFrom);
        }
        if (s.heloName != null) {
            p.put(k + "localhost", s.heloName);
        }
        return p;
    }

    /** The JVM's trusted CAs plus the adapter's extra ones. */
    static X509TrustManager trustManager(String extraPem) throws GeneralSecurityException, IOException {
        TrustManagerFactory system = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        system.init((KeyStore) null);
        X509TrustManager jvm = (X509TrustManager) system.getTrustManagers()[0];
        if (extraPem == null) {
            return jvm;
        }
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        int i = 0;
        for (X509Certificate c : jvm.getAcceptedIssuers()) {
            ks.setCertificateEntry("jvm-" + i++, c);
        }
        try (InputStream in = Files.newInputStream(Path.of(extraPem))) {
            List<Certificate> extra = new ArrayList<>(CertificateFactory.getInstance("X.509").generateCertificates(in));
            if (extra.isEmpty()) {
                throw new GeneralSecurityException(extraPem + " holds no certificate");
            }
            for (Certificate c : extra) {
                ks.setCertificateEntry("extra-" + i++, c);
            }
        }
        TrustManagerFactory f = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        f.init(ks);
        return (X509TrustManager) f.getTrustManagers()[0];
    }

    /** Opportunistic TLS: encrypts against passive listeners, proves nothing; never used for clear PHI. */
    static final class AnyCertificate implements X509TrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
