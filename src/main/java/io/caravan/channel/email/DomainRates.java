package io.caravan.channel.email;

import io.caravan.channel.Channel;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The messages/s a recipient domain receives at most from this node ({@code caravan.email.domain-rates}): mailbox
 * providers throttle or junk a sender that goes faster than they like. Two things per domain, in memory:
 * <ul>
 * <li>a schedule: each new bulk message takes the domain's next slot, {@code 1/rate} after the one before, and waits
 * in the store until it (so a backlog comes back spread out, once per message, not all at every sweep);</li>
 * <li>a bucket of {@code rate × 5 s} sends, refilled at the rate, that every send takes from: the cap. A message
 * back from a wait (for its slot, or any other deferral) goes only with a send in the bucket, else it takes the next
 * slot again - so messages that come back late together (a held lane started again, a restart, a message handed over
 * twice) do not go in a burst.</li>
 * </ul>
 * A prompt message never waits: it takes its send (the bucket may go below empty) and a slot, so the bulk ones after
 * it wait longer.
 */
final class DomainRates {

    /** A slot this close goes now: the retry sweep's pace is seconds, not milliseconds. */
    static final Duration NEAR = Duration.ofMillis(200);
    /** The bucket holds this many seconds of sends: the retry sweep hands messages over every 5 s. */
    static final int BURST_SECONDS = 5;

    private static final class Domain {
        final double rate;
        final Duration interval;
        final double capacity;
        Instant nextSlot;
        double sends;
        Instant refilled;

        Domain(double rate, Instant now) {
            this.rate = rate;
            this.interval = Duration.ofNanos(Math.max(1, Math.round(1e9 / rate)));
            this.capacity = Math.max(1, rate * BURST_SECONDS);
            this.nextSlot = now;
            this.sends = capacity;
            this.refilled = now;
        }

        void refill(Instant now) {
            if (now.isAfter(refilled)) {
                sends = Math.min(capacity, sends + rate * Duration.between(refilled, now).toNanos() / 1e9);
                refilled = now;
            }
        }

        /** The next free slot, taken. */
        Instant takeSlot(Instant now) {
            Instant slot = nextSlot.isBefore(now) ? now : nextSlot;
            nextSlot = slot.plus(interval);
            return slot;
        }
    }

    private final Map<String, Double> rates = new HashMap<>();
    private final Map<String, Domain> domains = new HashMap<>();

    DomainRates(Map<String, Double> rates) {
        rates.forEach((domain, rate) -> this.rates.put(domain.toLowerCase(Locale.ROOT), rate));
    }

    /** When a message to {@code address} may go: empty for now, or the slot it waits for. */
    Optional<Instant> admit(String address, Channel.Turn turn, Instant now) {
        // the configured rates never change: a domain without one (every domain, most often) takes no lock
        if (rates.isEmpty()) {
            return Optional.empty();
        }
        String name = io.caravan.channel.email.transport.SmtpDelivery.domainOf(address);
        Double rate = rates.get(name);
        return rate == null ? Optional.empty() : admit(name, rate, turn, now);
    }

    private synchronized Optional<Instant> admit(String name, double rate, Channel.Turn turn, Instant now) {
        Domain d = domains.computeIfAbsent(name, k -> new Domain(rate, now));
        d.refill(now);
        if (turn == Channel.Turn.PROMPT) {
            d.takeSlot(now);
            d.sends = Math.max(-d.capacity, d.sends - 1);
            return Optional.empty();
        }
        if (turn == Channel.Turn.RETURNING && d.sends >= 1) {
            d.sends -= 1;
            return Optional.empty();
        }
        Instant slot = d.takeSlot(now);
        if (d.sends < 1) {
            // the bucket is empty: not before its next send, and the slots after move back with it
            Instant refilledAt = now.plusNanos((long) Math.ceil((1 - d.sends) / d.rate * 1e9));
            if (refilledAt.isAfter(slot)) {
                slot = refilledAt;
                d.nextSlot = slot.plus(d.interval);
            }
        }
        if (!slot.isAfter(now.plus(NEAR)) && d.sends >= 1) {
            d.sends -= 1;
            return Optional.empty();
        }
        return Optional.of(slot);
    }
}
