package io.caravan.channel.email;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The messages/s a recipient domain receives at most ({@code caravan.email.domain-rates}): mailbox providers throttle
 * or junk a sender that goes faster than they like. Each message to a limited domain takes the domain's next free
 * slot, {@code 1/rate} after the one before. A bulk message whose slot is later than now waits in the store until it
 * (not an attempt, no decision taken yet) and goes when it comes back, its slot being its own; a prompt message goes
 * at once and pushes the bulk ones after it. Slots are this node's, in memory: after a restart messages waiting for
 * theirs keep them, and new ones start from the restart.
 */
final class DomainRates {

    /** A slot this close goes now: the retry sweep's pace is seconds, not milliseconds. */
    static final Duration NEAR = Duration.ofMillis(200);

    private final Map<String, Duration> intervals = new HashMap<>();
    private final Map<String, Instant> nextFree = new HashMap<>();

    DomainRates(Map<String, Double> rates) {
        rates.forEach((domain, rate) -> intervals.put(domain.toLowerCase(Locale.ROOT),
                Duration.ofNanos(Math.max(1, Math.round(1e9 / rate)))));
    }

    /** When a message to {@code address} may go: empty for now, or the slot it waits for. */
    synchronized Optional<Instant> admit(String address, boolean bulk, Instant now) {
        if (intervals.isEmpty()) {
            return Optional.empty();
        }
        String domain = address.substring(address.lastIndexOf('@') + 1).toLowerCase(Locale.ROOT);
        Duration interval = intervals.get(domain);
        if (interval == null) {
            return Optional.empty();
        }
        Instant free = nextFree.getOrDefault(domain, now);
        Instant slot = free.isBefore(now) || !bulk ? now : free;
        nextFree.put(domain, (free.isBefore(now) ? now : free).plus(interval));
        return slot.isAfter(now.plus(NEAR)) ? Optional.of(slot) : Optional.empty();
    }
}
