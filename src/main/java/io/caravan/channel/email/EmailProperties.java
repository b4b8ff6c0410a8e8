package io.caravan.channel.email;

import io.caravan.channel.email.feedback.Bounces;
import io.caravan.channel.email.portal.Portal;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.annotation.Validated;

/**
 * Secure email.
 *
 * @param templatesDir  one folder per template: {@code template.yaml} and {@code <lang>.html.peb} / {@code .txt.peb}
 * @param from          the From address of every message
 * @param publicBaseUrl where recipients reach the hub (unsubscribe, tracking and portal links); never carries PHI or
 *                      contact ids
 * @param outboxDir     with no relay configured, delivered messages are written here, already protected;
 *                      default {@code <data-dir>/outbox}
 * @param relay         the id of an {@code adapters/<id>.yaml} of kind {@code smtp}; none = the outbox
 * @param dkim          the DKIM signing domain (default: the From address's), selector and PKCS#8 PEM key file
 *                      (default {@code <data-dir>/keys/dkim.pem}, generated on first start with its DNS record logged);
 *                      {@code enabled: false} when the relay signs for the domain instead
 * @param protection    per purpose, what happens when neither S/MIME nor OpenPGP is possible
 * @param portal        the pickup page
 * @param retry         temporary failures (4xx, a dropped connection): waits between attempts, then failed
 * @param bounces       the mailbox that receives delivery status notifications
 * @param direct        delivery straight to the recipients' MX hosts instead of a relay
 * @param domainRates   per recipient domain ({@code gmail.com}, exact), the messages/s it receives at most from
 *                      this node, whatever the transport: bulk messages over the rate wait in the store for their turn
 * @param domainConcurrency per destination (the MX host once known, else the recipient domain), the bulk sends under
 *                      way at once on this node; more wait in the store for a turn, so a slow destination holds only
 *                      that many send threads, not the whole lane. Default: with direct delivery twice
 *                      {@code direct.connections} (a connection each and one waiting for it), with a relay none
 *                      ({@code 0}: the relay's connections are every domain's)
 */
@Validated
@ConfigurationProperties("caravan.email")
public record EmailProperties(Path templatesDir, String from, String publicBaseUrl, Path outboxDir, String relay,
        DkimKey dkim, Map<String, PurposePolicy> protection, Portal portal, Retry retry, Bounces bounces,
        Direct direct, Map<String, Double> domainRates, Integer domainConcurrency) {

    /** The DKIM key; signing is on unless {@code enabled} is false. */
    public record DkimKey(Boolean enabled, String domain, String selector, Path keyFile) {
        public boolean on() {
            return enabled == null || enabled;
        }
    }

    /**
     * @param phiFallback  PHI content without a key on file and without enforced TLS: {@code portal} (the message
     *                     stays in the hub; a notice goes), {@code phi-free-variant} (the template's variant goes), or
     *                     {@code drop}
     * @param tlsExclusive true: nothing of this purpose goes without enforced TLS or a key on file (dropped, with
     *                     the reason recorded) - not even PHI-free content or a portal notice
     * @param allowCbc     S/MIME with AES-CBC instead of AES-GCM for old mail clients
     */
    public record PurposePolicy(String phiFallback, boolean tlsExclusive, boolean allowCbc) {
        static final Set<String> FALLBACKS = Set.of("portal", "phi-free-variant", "drop");

        public PurposePolicy {
            phiFallback = phiFallback == null ? "portal" : phiFallback;
            if (!FALLBACKS.contains(phiFallback)) {
                throw new IllegalArgumentException("caravan.email.protection.*.phi-fallback must be one of "
                        + FALLBACKS);
            }
        }
    }

    /**
     * @param expires      how long a pickup can be opened
     * @param codeTtl      how long an emailed one-time code is good for
     * @param maxAttempts  wrong answers before the pickup locks for {@code lockout}
     * @param lockout      how long a locked pickup refuses answers
     * @param codeInterval the shortest time between two emailed codes
     * @param secondFactor {@code birth-date}, {@code postal-code} or {@code none}: what the reader proves besides the
     *                     code
     */
    public record Portal(Duration expires, Duration codeTtl, int maxAttempts, Duration lockout, Duration codeInterval,
            String secondFactor) {
        static final Set<String> FACTORS = Set.of("birth-date", "postal-code", "none");

        public Portal {
            expires = expires == null ? Duration.ofDays(14) : expires;
            codeTtl = codeTtl == null ? Duration.ofMinutes(15) : codeTtl;
            maxAttempts = maxAttempts <= 0 ? 5 : maxAttempts;
            lockout = lockout == null ? Duration.ofMinutes(15) : lockout;
            codeInterval = codeInterval == null ? Duration.ofSeconds(30) : codeInterval;
            secondFactor = secondFactor == null ? "birth-date" : secondFactor;
            if (!FACTORS.contains(secondFactor)) {
                throw new IllegalArgumentException("caravan.email.portal.second-factor must be one of " + FACTORS);
            }
        }
    }

    /** @param backoff the wait before each further attempt; when they are used up the message is {@code failed} */
    public record Retry(List<Duration> backoff, Duration poll) {
        public Retry {
            backoff = backoff == null || backoff.isEmpty() ? List.of(Duration.ofMinutes(1), Duration.ofMinutes(5),
                    Duration.ofMinutes(30), Duration.ofHours(2), Duration.ofHours(8)) : List.copyOf(backoff);
            poll = poll == null ? Duration.ofSeconds(5) : poll;
        }
    }

    /**
     * @param address the envelope sender (Return-Path) that delivery status notifications come back to
     * @param enabled  poll the bounce mailbox (route {@code email-bounces})
     * @param mailbox  the mailbox as a camel-mail consumer URI without parameters, e.g.
     *                 {@code imaps://mail.example.org}; its password comes from {@code CARAVAN_BOUNCES_PASSWORD}
     * @param username the mailbox's user
     */
    public record Bounces(String address, boolean enabled, String mailbox, String username) {
    }

    /**
     * Direct delivery: MX look-up, STARTTLS verified against the MX host's name, MTA-STS (RFC 8461) honoured.
     *
     * @param enabled           deliver directly (excludes {@code relay})
     * @param dnsServer         the resolver to ask ({@code host} or {@code host:port}); default: the system's
     * @param port              the SMTP port of the MX hosts (25)
     * @param mtaStsPort        the HTTPS port of {@code mta-sts.<domain>} (443)
     * @param trustCertificates PEM file of CAs trusted besides the JVM's
     * @param connections       connections kept open per MX host and kind
     * @param heloName          the name this hub gives in EHLO
     */
    public record Direct(boolean enabled, String dnsServer, int port, int mtaStsPort, String trustCertificates,
            int connections, String heloName) {
        public Direct {
            port = port <= 0 ? 25 : port;
            mtaStsPort = mtaStsPort <= 0 ? 443 : mtaStsPort;
            connections = connections <= 0 ? 2 : connections;
        }
    }

    public EmailProperties {
        templatesDir = templatesDir == null ? Path.of("config/templates/email") : templatesDir;
        from = from == null ? "Caravan <no-reply@caravan.localhost>" : from;
        publicBaseUrl = publicBaseUrl == null ? "http://localhost:8080" : publicBaseUrl.replaceAll("/+$", "");
        requireHttpsUnlessLoopback(publicBaseUrl);
        relay = relay == null || relay.isBlank() ? null : relay;
        if (dkim == null) {
            dkim = new DkimKey(null, null, null, null);
        }
        if (dkim.domain() == null || dkim.selector() == null) {
            String address = fromAddress(from);
            dkim = new DkimKey(dkim.enabled(), dkim.domain() != null ? dkim.domain() : address.substring(address.indexOf('@') + 1),
                    dkim.selector() != null ? dkim.selector() : "caravan", dkim.keyFile());
        }
        protection = protection == null ? new LinkedHashMap<>() : new LinkedHashMap<>(protection);
        portal = portal == null ? new Portal(null, null, 0, null, null, null) : portal;
        retry = retry == null ? new Retry(null, null) : retry;
        bounces = bounces == null ? new Bounces(null, false, null, null) : bounces;
        direct = direct == null ? new Direct(false, null, 0, 0, null, 0, null) : direct;
        domainRates = domainRates == null ? Map.of() : Map.copyOf(domainRates);
        domainRates.forEach((domain, rate) -> {
            if (rate == null || !(rate > 0)) {
                throw new IllegalArgumentException("caravan.email.domain-rates." + domain
                        + " must be a number of messages/s above 0");
            }
        });
        if (domainConcurrency == null) {
            domainConcurrency = direct.enabled() ? 2 * direct.connections() : 0;
        } else if (domainConcurrency < 0) {
            throw new IllegalArgumentException("caravan.email.domain-concurrency must be 0 (no limit) or more");
        }
    }

    /** The policy for a purpose; purposes not configured get the defaults (portal, no TLS exclusivity, GCM). */
    public PurposePolicy policy(String purpose) {
        return protection.getOrDefault(purpose, new PurposePolicy(null, false, false));
    }

    /**
     * Portal pages carry PHI and ask for a code and a birth date: plain http is only for a hub reached on this machine
     * (tests, a trial run); any other host needs https (TLS ends at the hub or at a proxy in front of it).
     */
    static void requireHttpsUnlessLoopback(String url) {
        java.net.URI uri;
        try {
            uri = new java.net.URI(url);
        } catch (java.net.URISyntaxException e) {
            uri = null;
        }
        String scheme = uri == null || uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(java.util.Locale.ROOT);
        String host = uri == null || uri.getHost() == null ? "" : uri.getHost().toLowerCase(java.util.Locale.ROOT);
        boolean loopback = host.equals("localhost") || host.equals("[::1]") || host.equals("::1")
                || host.matches("127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}");
        if (host.isEmpty() || !(scheme.equals("https") || scheme.equals("http") && loopback)) {
            throw new IllegalArgumentException("caravan.email.public-base-url must be an https:// URL (portal pages, "
                    + "codes and birth dates travel over it); http:// only for localhost or 127.0.0.1");
        }
    }

    static String fromAddress(String from) {
        return from.contains("<") ? from.substring(from.indexOf('<') + 1, from.indexOf('>')) : from;
    }
}
