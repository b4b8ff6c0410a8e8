package io.caravan.channel.email;

import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The bulk sends under way at once per recipient domain on this node ({@code caravan.email.domain-concurrency}). A
 * domain whose servers answer slowly (or whose MX connections are all busy) would otherwise take every send thread of
 * the bulk lane, each waiting for a connection, while messages to other domains queue behind them. A send takes a
 * place before its decision and gives it back when its attempt ends, however it ends; a prompt send always takes one
 * (it never waits) and so counts against the bulk ones.
 */
final class DomainConcurrency {

    private final int limit;
    /** Only domains with sends under way: a campaign to many domains leaves no entry behind. */
    private final ConcurrentHashMap<String, Integer> underWay = new ConcurrentHashMap<>();

    DomainConcurrency(int limit) {
        this.limit = limit;
    }

    /**
     * A place for a send to {@code address}'s domain - run the returned action once the attempt is over (running it
     * again does nothing) - or null when the domain has as many bulk sends under way as allowed.
     */
    Runnable enter(String address, boolean prompt) {
        if (limit <= 0) {
            return () -> { };
        }
        int at = address.lastIndexOf('@');
        String domain = address.substring(at + 1).toLowerCase(Locale.ROOT);
        boolean[] taken = {false};
        underWay.compute(domain, (d, n) -> {
            int now = n == null ? 0 : n;
            if (now >= limit && !prompt) {
                return n;
            }
            taken[0] = true;
            return now + 1;
        });
        if (!taken[0]) {
            return null;
        }
        AtomicBoolean left = new AtomicBoolean();
        return () -> {
            if (left.compareAndSet(false, true)) {
                underWay.computeIfPresent(domain, (d, n) -> n <= 1 ? null : n - 1);
            }
        };
    }

    /** Sends under way to the domain now (for tests and the operator's view). */
    int underWay(String domain) {
        return underWay.getOrDefault(domain.toLowerCase(Locale.ROOT), 0);
    }
}
