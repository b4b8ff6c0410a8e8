package io.caravan.support;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/** A clock a test moves by hand: fixed at {@code now}, or (now null) the system's time moved {@code ahead}. */
public final class MutableClock extends Clock {

    public volatile Instant now;
    public volatile Duration ahead = Duration.ZERO;

    public MutableClock(Instant start) {
        this.now = start;
    }

    /** The system's time, until a test moves it on with {@link #ahead}. */
    public static MutableClock following() {
        return new MutableClock(null);
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        return this;
    }

    @Override
    public Instant instant() {
        Instant fixed = now;
        return fixed != null ? fixed : Instant.now().plus(ahead);
    }
}
