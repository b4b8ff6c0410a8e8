package io.caravan.channel.email.transport;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * SMTP MTA Strict Transport Security (RFC 8461): a domain that publishes {@code _mta-sts.<domain>} TXT
 * {@code v=STSv1; id=...} serves its policy at {@code https://mta-sts.<domain>/.well-known/mta-sts.txt} (fetched over
 * verified HTTPS, never followed through redirects). In {@code enforce} mode only MX hosts matching its {@code mx}
 * patterns may be used, and only over verified TLS; {@code testing} and {@code none} change nothing. Policies are
 * cached for their {@code max_age} and fetched again only when the TXT record's id changes.
 */
final class MtaSts {

    /** A domain's policy. */
    record Policy(String mode, List<String> mx, Duration maxAge, String id) {
        boolean enforced() {
            return "enforce".equals(mode);
        }

        /** RFC 8461 4.1: an exact name, or {@code *.} matching exactly one leftmost label. */
        boolean allows(String host) {
            String h = host.toLowerCase(Locale.ROOT);
            for (String p : mx) {
                String q = p.toLowerCase(Locale.ROOT);
                if (q.startsWith("*.")) {
                    int dot = h.indexOf('.');
                    if (dot > 0 && h.substring(dot + 1).equals(q.substring(2))) {
                        return true;
                    }
                } else if (h.equals(q)) {
                    return true;
                }
            }
            return false;
        }
    }

    /**
     * What is known of a domain: its policy (empty: none published) until {@code expires}, and when the TXT record
     * is to be looked at again.
     */
    private record Cached(Optional<Policy> policy, Instant expires, Instant checkTxt) {
    }

    private static final Duration TXT_TTL = Duration.ofMinutes(5);
    private static final int MAX_BODY = 64 * 1024;

    private final Dns dns;
    private final SSLContext tls;
    private final int port;
    private final Clock clock;
    private final Map<String, Cached> cache = new ConcurrentHashMap<>();

    MtaSts(Dns dns, SSLContext tls, int port, Clock clock) {
        this.dns = dns;
        this.tls = tls;
        this.port = port;
        this.clock = clock;
    }

    /**
     * The domain's policy, or empty when it publishes none. RFC 8461 5.1: a fetched policy is kept until its
     * {@code max_age} runs out whatever DNS says meanwhile - a TXT record that disappears or a resolver that fails
     * (what an attacker who wants clear-text delivery would arrange) changes nothing; a changed TXT {@code id} makes
     * the policy be fetched again, and a failed fetch keeps the cached one. A published policy that cannot be fetched
     * with nothing cached counts as none (RFC 8461 5: senders fall back to their usual behaviour).
     */
    Optional<Policy> policy(String domain) {
        String d = domain.toLowerCase(Locale.ROOT);
        Instant now = clock.instant();
        Cached c = cache.get(d);
        boolean live = c != null && c.policy().isPresent() && now.isBefore(c.expires());
        if (c != null && now.isBefore(c.checkTxt()) && (live || c.policy().isEmpty())) {
            return c.policy();
        }
        Optional<String> id = txtId(d);
        if (live) {
            Policy held = c.policy().get();
            if (id.isEmpty() || id.get().equals(held.id())) {
                // no record, no answer or the same id: the cached policy stands until it expires
                cache.put(d, new Cached(c.policy(), c.expires(), now.plus(TXT_TTL)));
                return c.policy();
            }
            Optional<Policy> fresh = fetchAndCache(d, id.get(), now);
            if (fresh.isPresent()) {
                return fresh;
            }
            cache.put(d, new Cached(c.policy(), c.expires(), now.plus(TXT_TTL)));
            return c.policy();
        }
        if (id.isEmpty()) {
            cache.put(d, new Cached(Optional.empty(), now.plus(TXT_TTL), now.plus(TXT_TTL)));
            return Optional.empty();
        }
        return fetchAndCache(d, id.get(), now);
    }

    private Optional<Policy> fetchAndCache(String domain, String id, Instant now) {
        try {
            Policy p = parse(fetch(domain), id);
            cache.put(domain, new Cached(Optional.of(p), now.plus(p.maxAge()), now.plus(TXT_TTL)));
            return Optional.of(p);
        } catch (IOException | IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    private Optional<String> txtId(String domain) {
        try {
            for (String txt : dns.txt("_mta-sts." + domain)) {
                if (txt.startsWith("v=STSv1")) {
                    for (String field : txt.split(";")) {
                        String f = field.trim();
                        if (f.startsWith("id=")) {
                            return Optional.of(f.substring(3));
                        }
                    }
                }
            }
        } catch (IOException e) {
            // no answer: no policy known
        }
        return Optional.empty();
    }

    /** GET over HTTPS, the certificate checked against {@code mta-sts.<domain>}; 200 only, no redirects. */
    private String fetch(String domain) throws IOException {
        String host = "mta-sts." + domain;
        try (Socket plain = new Socket()) {
            plain.connect(new InetSocketAddress(dns.address(host), port), 10_000);
            plain.setSoTimeout(10_000);
            try (SSLSocket s = NamedTlsSocketFactory.verifying(tls, host).layer(plain, port)) {
                OutputStream out = s.getOutputStream();
                out.write(("GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n"
                        + "User-Agent: Caravan\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
                byte[] response = readAtMost(s.getInputStream(), MAX_BODY + 8192);
                String text = new String(response, StandardCharsets.UTF_8);
                int end = text.indexOf("\r\n\r\n");
                if (!text.startsWith("HTTP/1.") || end < 0 || !text.substring(9, 12).equals("200")) {
                    throw new IOException("MTA-STS policy not served with 200");
                }
                String head = text.substring(0, end).toLowerCase(Locale.ROOT);
                String body = text.substring(end + 4);
                return head.contains("transfer-encoding: chunked") ? dechunk(body) : body;
            }
        }
    }

    private static byte[] readAtMost(InputStream in, int max) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        byte[] buf = new byte[4096];
        int n;
        while ((n = in.read(buf)) > 0) {
            b.write(buf, 0, n);
            if (b.size() > max) {
                throw new IOException("MTA-STS policy too large");
            }
        }
        return b.toByteArray();
    }

    private static String dechunk(String body) {
        StringBuilder out = new StringBuilder();
        int i = 0;
        while (i < body.length()) {
            int eol = body.indexOf("\r\n", i);
            if (eol < 0) {
                break;
            }
            int size = Integer.parseInt(body.substring(i, eol).split(";")[0].trim(), 16);
            if (size == 0) {
                break;
            }
            out.append(body, eol + 2, Math.min(body.length(), eol + 2 + size));
            i = eol + 2 + size + 2;
        }
        return out.toString();
    }

    static Policy parse(String body, String id) {
        String version = null;
        String mode = null;
        long maxAge = -1;
        List<String> mx = new ArrayList<>();
        for (String line : body.split("\r?\n")) {
            int colon = line.indexOf(':');
            if (colon <= 0) {
                continue;
            }
            String key = line.substring(0, colon).trim();
            String value = line.substring(colon + 1).trim();
            switch (key) {
                case "version" -> version = value;
                case "mode" -> mode = value;
                case "mx" -> mx.add(value);
                case "max_age" -> maxAge = Long.parseLong(value);
                default -> {
                }
            }
        }
        if (!"STSv1".equals(version) || mode == null || maxAge < 0
                || !List.of("enforce", "testing", "none").contains(mode) || ("enforce".equals(mode) && mx.isEmpty())) {
            throw new IllegalArgumentException("not a valid MTA-STS policy");
        }
        return new Policy(mode, List.copyOf(mx), Duration.ofSeconds(Math.min(maxAge, 31_557_600)), id);
    }
}
