package io.caravan.channel.email.transport;

import io.caravan.channel.email.EmailProperties;
import jakarta.mail.Address;
import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import java.io.IOException;
import java.net.InetAddress;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import org.apache.camel.component.mail.JavaMailSender;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivery straight to each recipient domain's MX hosts. Enforced TLS means the MX host proves STARTTLS with a
 * certificate valid for its own name (RFC 7672's PKIX case); where the domain publishes an MTA-STS policy in
 * {@code enforce} mode, only the MX hosts it names are used and only over verified TLS - even for content that would
 * otherwise go with opportunistic TLS - and a domain whose servers cannot satisfy it gets nothing (the message waits
 * and is retried). Connections are pooled per MX host; what each domain offers is remembered for a minute.
 */
public final class DirectDelivery implements SmtpDelivery {

    private static final Logger log = LoggerFactory.getLogger(DirectDelivery.class);

    /** What is known about a recipient domain: the MX host to use, whether TLS verified, its policy. */
    private record Route(String mx, InetAddress address, Tls tls, boolean enforced, Instant until) {
    }

    private final Dns dns;
    private final MtaSts sts;
    private final EmailProperties.Direct config;
    private final String envelopeFrom;
    private final SSLContext strict;
    private final SSLContext any;
    private final Clock clock;
    private final Map<String, Route> routes = new ConcurrentHashMap<>();
    private final Map<String, PooledMailSender> pools = new ConcurrentHashMap<>();

    DirectDelivery(Dns dns, MtaSts sts, EmailProperties.Direct config, String envelopeFrom, SSLContext strict,
            SSLContext any, Clock clock) {
        this.dns = dns;
        this.sts = sts;
        this.config = config;
        this.envelopeFrom = envelopeFrom;
        this.strict = strict;
        this.any = any;
        this.clock = clock;
    }

    public static DirectDelivery from(EmailProperties.Direct config, String envelopeFrom, Clock clock) {
        try {
            SSLContext strict = SSLContext.getInstance("TLS");
            strict.init(null, new TrustManager[] {SmtpRelay.trustManager(config.trustCertificates())},
                    new SecureRandom());
            SSLContext any = SSLContext.getInstance("TLS");
            any.init(null, new TrustManager[] {new SmtpRelay.AnyCertificate()}, new SecureRandom());
            Dns dns = new Dns(config.dnsServer());
            return new DirectDelivery(dns, new MtaSts(dns, strict, config.mtaStsPort(), clock), config, envelopeFrom,
                    strict, any, clock);
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("direct delivery: cannot set up TLS (" + e.getMessage() + ")", e);
        }
    }

    @Override
    public Tls tls(String address) throws MessagingException {
        return route(domain(address)).tls();
    }

    /** The MX host a recipient domain's mail went to within the last minute (its connections are shared). */
    @Override
    public String destination(String address) {
        String domain = SmtpDelivery.domainOf(address);
        Route known = routes.get(domain);
        return known == null ? domain : "mx:" + known.mx().toLowerCase(java.util.Locale.ROOT);
    }

    /** MX hosts by preference (those the MTA-STS policy allows, when enforced); the first that answers is used. */
    private Route route(String domain) throws MessagingException {
        Instant now = clock.instant();
        Route known = routes.get(domain);
        if (known != null && now.isBefore(known.until())) {
            return known;
        }
        Optional<MtaSts.Policy> policy = sts.policy(domain);
        boolean enforced = policy.isPresent() && policy.get().enforced();
        List<String> hosts;
        try {
            hosts = new ArrayList<>(dns.mx(domain));
        } catch (IOException e) {
            throw new MessagingException("no MX answer for the recipient's domain");
        }
        if (enforced) {
            hosts.removeIf(h -> !policy.get().allows(h));
        }
        MessagingException last = null;
        for (String mx : hosts) {
            InetAddress ip;
            try {
                ip = dns.address(mx);
            } catch (IOException e) {
                continue;
            }
            try {
                pool(mx, ip, true).check();
                return remember(domain, new Route(mx, ip, Tls.VERIFIED, enforced, now.plus(SmtpRelay.REMEMBER)));
            } catch (MessagingException e) {
                last = e;
                if (!SmtpRelay.isTlsFailure(e)) {
                    continue; // unreachable: the next MX
                }
                if (enforced) {
                    log.warn("MTA-STS: an MX host of a recipient domain fails verified TLS; trying the next");
                    continue;
                }
                return remember(domain, new Route(mx, ip, Tls.UNAVAILABLE, false, now.plus(SmtpRelay.REMEMBER)));
            }
        }
        throw enforced ? new MessagingException("mta-sts: no MX host of the recipient's domain satisfies its policy")
                : last != null ? last : new MessagingException("no MX host of the recipient's domain answers");
    }

    private Route remember(String domain, Route r) {
        routes.put(domain, r);
        return r;
    }

    private PooledMailSender pool(String mx, InetAddress ip, boolean verified) {
        return pools.computeIfAbsent((verified ? "v:" : "o:") + mx, k -> {
            Properties p = new Properties();
            p.put("mail.smtp.connectiontimeout", "10000");
            p.put("mail.smtp.timeout", "30000");
            p.put("mail.smtp.writetimeout", "30000");
            p.put("mail.smtp.starttls.enable", "true");
            p.put("mail.smtp.starttls.required", Boolean.toString(verified));
            // the name check is the socket factory's (the MX host's name, not the address connected to)
            p.put("mail.smtp.ssl.checkserveridentity", "false");
            p.put("mail.smtp.ssl.socketFactory", verified ? NamedTlsSocketFactory.verifying(strict, mx)
                    : NamedTlsSocketFactory.opportunistic(any, mx));
            if (envelopeFrom != null) {
                p.put("mail.smtp.from", envelopeFrom);
            }
            if (config.heloName() != null) {
                p.put("mail.smtp.localhost", config.heloName());
            }
            return new PooledMailSender(Session.getInstance(p), "smtp", ip.getHostAddress(), config.port(), null,
                    null, config.connections());
        });
    }

    private void send(MimeMessage message, boolean verified) throws MessagingException {
        Address[] to = message.getAllRecipients();
        if (to == null || to.length != 1) {
            throw new MessagingException("one recipient per message");
        }
        Route r = route(domain(((InternetAddress) to[0]).getAddress()));
        // an enforced MTA-STS policy allows verified TLS only, whatever the content
        pool(r.mx(), r.address(), verified || r.enforced()).send(message);
    }

    private static String domain(String address) throws MessagingException {
        int at = address.lastIndexOf('@');
        if (at < 0) {
            throw new MessagingException("not an email address");
        }
        return address.substring(at + 1).toLowerCase(Locale.ROOT);
    }

    @Override
    public boolean onwardTlsGuaranteed() {
        return true; // the verified hop is the last one
    }

    @Override
    public JavaMailSender verified() {
        return new Sender(true);
    }

    @Override
    public JavaMailSender opportunistic() {
        return new Sender(false);
    }

    @Override
    public void forget() {
        routes.clear();
    }

    @Override
    public void close() {
        pools.values().forEach(PooledMailSender::close);
        pools.clear();
        routes.clear();
    }

    /** camel-mail's view: one of the two kinds, the MX host chosen per message. */
    private final class Sender extends ConfiguredMailSender {
        private final boolean verified;

        Sender(boolean verified) {
            super(Session.getInstance(new Properties()));
            this.verified = verified;
        }

        @Override
        public void send(MimeMessage message) throws MessagingException {
            DirectDelivery.this.send(message, verified);
        }

        @Override
        public String getHost() {
            return null; // chosen per message
        }

        @Override
        public int getPort() {
            return config.port();
        }

        @Override
        public String getUsername() {
            return null; // MX hosts take mail without authentication
        }

        @Override
        public String getPassword() {
            return null;
        }

        @Override
        public String getProtocol() {
            return "smtp";
        }
    }
}
