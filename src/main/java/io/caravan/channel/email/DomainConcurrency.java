package io.caravan.channel.email;

import io.caravan.channel.Channel;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The bulk sends under way at once per destination on this node ({@code caravan.email.domain-concurrency}): the
 * recipient domain's MX host once direct delivery has found it (many domains share one: a hosted mailbox provider's),
 * else the domain. A destination whose server answers slowly (or whose connections are all busy) would otherwise take
 * every send thread of the bulk lane, each waiting for a connection, while messages to other destinations queue
 * behind them. A send takes a place before its decision and gives it back when its attempt ends, however it ends; a
 * prompt send always takes one (it never waits) and so counts against the bulk ones.
 * <p>
 * A bulk message that finds no place waits in the store for a turn: the turns of a destination's waiting messages are
 * spaced by the rate its sends have been finishing at (at least {@link #SLOWEST} a second), so a large backlog for
 * one destination comes back spread out, a little at a time, instead of all of it at every retry sweep.
 */
final class DomainConcurrency {

    /** The soonest a message without a place asks again. */
    static final Duration FIRST_WAIT = Duration.ofSeconds(1);
    /** The longest a turn is put off, however long the destination's backlog. */
    static final Duration LONGEST_WAIT = Duration.ofMinutes(5);
    /** The rate assumed for a destination that has finished fewer sends than this a second (or none yet). */
    static final double SLOWEST = 0.5;
    /** Finished sends are counted over windows of this length. */
    static final Duration WINDOW = Duration.ofSeconds(10);

    private static final class Destination {
        int underWay;
        Instant windowStart;
        int finished;
        double rate;
        Instant nextTurn;

        Destination(Instant now) {
            this.windowStart = now;
            this.nextTurn = now;
        }

        double rate(Instant now) {
            long elapsed = Duration.between(windowStart, now).toMillis();
            if (elapsed >= WINDOW.toMillis()) {
                rate = finished * 1000.0 / elapsed;
                windowStart = now;
                finished = 0;
            } else if (elapsed >= 1000) {
                rate = Math.max(rate, finished * 1000.0 / elapsed);
            }
            return Math.max(SLOWEST, rate);
        }
    }

    private final int limit;
    private final Clock clock;
    /** Destinations with sends under way, turns to come, or sends in the last windows (see {@link #prune}). */
    private final Map<String, Destination> destinations = new HashMap<>();

    DomainConcurrency(int limit, Clock clock) {
        this.limit = limit;
        this.clock = clock;
    }

    /** Whether there is a limit at all ({@code domain-concurrency} above 0). */
    boolean limited() {
        return limit > 0;
    }

    /**
     * A place for a send to {@code destination} (run its action once the attempt is over; running it again does
     * nothing), or, when the destination has as many bulk sends under way as allowed, the time to ask again.
     */
    synchronized Channel.Place enter(String destination, boolean prompt) {
        if (limit <= 0) {
            return Channel.Place.GO;
        }
        Instant now = clock.instant();
        prune(now);
        Destination d = destinations.computeIfAbsent(destination, k -> new Destination(now));
        if (d.underWay >= limit && !prompt) {
            Instant turn = d.nextTurn.isAfter(now.plus(FIRST_WAIT)) ? d.nextTurn : now.plus(FIRST_WAIT);
            d.nextTurn = turn.plusNanos(Math.round(1e9 / d.rate(now)));
            Instant latest = now.plus(LONGEST_WAIT);
            return Channel.Place.waitUntil(turn.isAfter(latest) ? latest : turn);
        }
        d.underWay++;
        AtomicBoolean left = new AtomicBoolean();
        return Channel.Place.go(() -> {
            if (left.compareAndSet(false, true)) {
                leave(destination);
            }
        });
    }

    private synchronized void leave(String destination) {
        Destination d = destinations.get(destination);
        if (d == null) {
            return;
        }
        d.underWay--;
        d.finished++;
    }

    private Instant pruned = Instant.MIN;

    /**
     * Forgets the destinations idle for two windows (nothing under way, no turn to come): their rate is history. At
     * most every window, so a campaign to many domains costs one pass over them now and then.
     */
    private void prune(Instant now) {
        if (Duration.between(pruned, now).compareTo(WINDOW) < 0) {
            return;
        }
        pruned = now;
        Instant stale = now.minus(WINDOW.multipliedBy(2));
        destinations.values().removeIf(d -> d.underWay <= 0 && !d.nextTurn.isAfter(now)
                && d.windowStart.isBefore(stale));
    }

    /** Sends under way to the destination now (for tests). */
    synchronized int underWay(String destination) {
        Destination d = destinations.get(destination);
        return d == null ? 0 : d.underWay;
    }
}
