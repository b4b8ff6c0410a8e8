package io.caravan.channel.email.transport;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.Lookup;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * The DNS questions direct delivery asks (dnsjava): MX hosts by preference, TXT records, addresses. A chosen resolver
 * (a local validating one, say) or the system's. Answers are not cached here; callers keep what they need.
 */
final class Dns {

    private final Resolver resolver;

    Dns(String server) {
        try {
            if (server == null || server.isBlank()) {
                this.resolver = new SimpleResolver();
            } else {
                int colon = server.lastIndexOf(':');
                this.resolver = colon > 0 ? new SimpleResolver(new InetSocketAddress(server.substring(0, colon),
                        Integer.parseInt(server.substring(colon + 1)))) : new SimpleResolver(server);
            }
            resolver.setTimeout(Duration.ofSeconds(5));
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("caravan.email.direct.dns-server: unknown host", e);
        }
    }

    /** MX hosts, most preferred first; the domain itself when it publishes none (RFC 5321 5.1). */
    List<String> mx(String domain) throws UnknownHostException {
        List<Record> rs = ask(domain, Type.MX);
        if (rs.isEmpty()) {
            return List.of(domain);
        }
        List<MXRecord> mx = new ArrayList<>();
        rs.forEach(r -> mx.add((MXRecord) r));
        mx.sort(Comparator.comparingInt(MXRecord::getPriority));
        return mx.stream().map(r -> strip(r.getTarget().toString())).toList();
    }

    List<String> txt(String name) throws UnknownHostException {
        return ask(name, Type.TXT).stream().map(r -> String.join("", ((TXTRecord) r).getStrings())).toList();
    }

    InetAddress address(String host) throws UnknownHostException {
        List<Record> rs = ask(host, Type.A);
        if (rs.isEmpty()) {
            throw new UnknownHostException("no address for an MX or MTA-STS host");
        }
        return ((ARecord) rs.get(0)).getAddress();
    }

    private List<Record> ask(String name, int type) throws UnknownHostException {
        try {
            Lookup l = new Lookup(Name.fromString(strip(name) + "."), type);
            l.setResolver(resolver);
            l.setCache(null);
            Record[] answers = l.run();
            if (l.getResult() == Lookup.TRY_AGAIN) {
                throw new UnknownHostException("DNS did not answer");
            }
            return answers == null ? List.of() : List.of(answers);
        } catch (TextParseException e) {
            throw new UnknownHostException("not a domain name");
        }
    }

    private static String strip(String name) {
        return name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
    }
}
