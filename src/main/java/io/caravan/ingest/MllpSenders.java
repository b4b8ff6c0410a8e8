package io.caravan.ingest;

import io.caravan.mapping.AdapterProfile;
import io.caravan.mapping.FeedMappings;
import io.caravan.mapping.MappingCatalog;
import io.caravan.mapping.Msh;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import javax.security.auth.x500.X500Principal;
import org.springframework.security.web.util.matcher.IpAddressMatcher;
import org.springframework.stereotype.Component;

/**
 * Who may send what over MLLP. A message names its sender in MSH-3/MSH-4, which anyone can type; an adapter may
 * therefore pin the addresses its feed connects from ({@code mllp.allowedSources}, CIDR) and the subjects of the
 * client certificates it presents over TLS ({@code mllp.clientCertificateSubjects}). A message whose connection does
 * not fit the adapter it claims is refused (AR), as is - with {@code caravan.mllp.require-known-sender} - a message
 * that matches no adapter at all.
 */
@Component
public class MllpSenders {

    /** Why a message or connection was refused: a fixed, PHI-free text and the adapter it claimed, if any. */
    record Refusal(String reason, String adapter) {
    }

    private final MappingCatalog catalog;
    private final boolean requireKnownSender;
    private final Map<String, List<IpAddressMatcher>> sources = new HashMap<>();
    private final Map<String, Set<X500Principal>> subjects = new HashMap<>();
    /** Null when some feed may connect from anywhere; else every address any feed may connect from. */
    private final List<IpAddressMatcher> anySource;

    public MllpSenders(MappingCatalog catalog, MllpProperties props) {
        this.catalog = catalog;
        this.requireKnownSender = props.requireKnownSender();
        List<String> problems = new ArrayList<>();
        List<IpAddressMatcher> union = new ArrayList<>();
        boolean open = catalog.adapterFeeds().isEmpty();
        for (FeedMappings f : catalog.adapterFeeds()) {
            AdapterProfile a = f.adapter();
            AdapterProfile.Mllp m = a.mllp == null ? new AdapterProfile.Mllp() : a.mllp;
            List<IpAddressMatcher> matchers = new ArrayList<>();
            for (String cidr : m.allowedSources) {
                try {
                    matchers.add(new IpAddressMatcher(requireLiteral(cidr)));
                } catch (IllegalArgumentException e) {
                    problems.add("adapter " + a.id + ": mllp.allowedSources: not an address or CIDR block: " + cidr);
                }
            }
            if (matchers.isEmpty()) {
                open = true;
            }
            union.addAll(matchers);
            sources.put(a.id, matchers);
            Set<X500Principal> dns = new java.util.HashSet<>();
            for (String dn : m.clientCertificateSubjects) {
                try {
                    dns.add(new X500Principal(dn));
                } catch (IllegalArgumentException e) {
                    problems.add("adapter " + a.id + ": mllp.clientCertificateSubjects: not a distinguished name: "
                            + dn);
                }
            }
            subjects.put(a.id, dns);
        }
        if (!problems.isEmpty()) {
            throw new IllegalStateException("Invalid MLLP sender settings:\n  " + String.join("\n  ", problems));
        }
        // without require-known-sender, a message matching no adapter may come from anywhere
        this.anySource = open || !requireKnownSender ? null : List.copyOf(union);
    }

    /** Host names would be looked up in DNS at every check: only literal addresses are accepted. */
    private static String requireLiteral(String cidr) {
        String host = cidr.contains("/") ? cidr.substring(0, cidr.indexOf('/')) : cidr;
        if (!host.matches("[0-9.]+") && !host.contains(":")) {
            throw new IllegalArgumentException(cidr);
        }
        return cidr;
    }

    /** Whether a connection from {@code peer} could carry any acceptable message; checked before reading a byte. */
    boolean mayConnect(InetAddress peer) {
        return anySource == null || anySource.stream().anyMatch(m -> m.matches(peer.getHostAddress()));
    }

    /**
     * Null when a message with header {@code msh} may come over this connection, else why not.
     *
     * @param clientSubject the TLS client certificate's subject, null without TLS or without a certificate
     */
    Refusal check(Msh msh, InetAddress peer, X500Principal clientSubject) {
        if (msh == null) {
            // no readable header: the ingest answers AR for it, and it names no sender to check
            return requireKnownSender ? new Refusal("message names no sender (MSH-3/MSH-4)", null) : null;
        }
        FeedMappings feed = catalog.feedFor(msh.sendingApplication(), msh.sendingFacility());
        if (feed.adapter() == null) {
            return requireKnownSender ? new Refusal("sender matches no adapter", null) : null;
        }
        String id = feed.adapter().id;
        List<IpAddressMatcher> allowed = sources.getOrDefault(id, List.of());
        if (!allowed.isEmpty() && allowed.stream().noneMatch(m -> m.matches(peer.getHostAddress()))) {
            return new Refusal("source address not allowed for this sender", id);
        }
        Set<X500Principal> dns = subjects.getOrDefault(id, Set.of());
        if (!dns.isEmpty() && (clientSubject == null || !dns.contains(clientSubject))) {
            return new Refusal("client certificate not allowed for this sender", id);
        }
        return null;
    }

    /** Whether any message can be refused: if not, headers are not read twice. */
    boolean active() {
        return requireKnownSender || sources.values().stream().anyMatch(s -> !s.isEmpty())
                || subjects.values().stream().anyMatch(s -> !s.isEmpty());
    }

    @Override
    public String toString() {
        return "MllpSenders" + sources.keySet().stream().sorted().collect(Collectors.toList());
    }
}
