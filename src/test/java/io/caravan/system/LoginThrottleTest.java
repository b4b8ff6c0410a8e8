package io.caravan.system;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.support.MutableClock;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The lockout grows with each failure after a lock ends, up to its ceiling, and is forgotten in time. */
class LoginThrottleTest {

    final MutableClock clock = new MutableClock(Instant.parse("2026-11-29T00:00:00Z"));
    final LoginThrottle throttle = new LoginThrottle(new LoginThrottleProperties(3, 100, Duration.ofMinutes(1),
            Duration.ofMinutes(15), Duration.ofHours(12)), clock, name -> true);

    void fail(int times) {
        for (int i = 0; i < times; i++) {
            throttle.failed("ivan", "10.0.0.1");
        }
    }

    @Test
    void eachFailureAfterALockDoublesTheNextLockUpToTheCeiling() {
        fail(2);
        assertThat(throttle.lockedFor("ivan", "10.0.0.1")).isEmpty();
        fail(1);
        assertThat(throttle.lockedFor("ivan", "10.0.0.1")).contains(Duration.ofMinutes(1));
        Duration[] expected = {Duration.ofMinutes(2), Duration.ofMinutes(4), Duration.ofMinutes(8),
                Duration.ofMinutes(15), Duration.ofMinutes(15)};
        for (Duration d : expected) {
            clock.now = clock.now.plus(throttle.lockedFor("ivan", "10.0.0.1").orElseThrow());
            assertThat(throttle.lockedFor("ivan", "10.0.0.1")).isEmpty();
            fail(1);
            assertThat(throttle.lockedFor("ivan", "10.0.0.1")).contains(d);
        }
        assertThat(throttle.lockedFor("ivan", "10.0.0.2")).as("another address").isEmpty();
        assertThat(throttle.lockedFor("olga", "10.0.0.1")).as("another user").isEmpty();
    }

    @Test
    void failuresAreForgottenAfterAQuietPeriodAndBySuccess() {
        fail(2);
        clock.now = clock.now.plus(Duration.ofHours(13));
        fail(2);
        assertThat(throttle.lockedFor("ivan", "10.0.0.1")).isEmpty();
        throttle.succeeded("ivan", "10.0.0.1");
        fail(2);
        assertThat(throttle.lockedFor("ivan", "10.0.0.1")).isEmpty();
        fail(1);
        assertThat(throttle.lockedFor("ivan", "10.0.0.1")).isPresent();
    }
}
