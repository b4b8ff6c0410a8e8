package io.caravan.system;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.support.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.springframework.security.crypto.bcrypt.BCryptPasswordEncoder;
import org.springframework.security.crypto.password.PasswordEncoder;

class VerifiedPasswordCacheTest {

    static final class Counting implements PasswordEncoder {
        final PasswordEncoder bcrypt = new BCryptPasswordEncoder(4);
        final AtomicInteger checks = new AtomicInteger();

        @Override
        public String encode(CharSequence raw) {
            return bcrypt.encode(raw);
        }

        @Override
        public boolean matches(CharSequence raw, String encoded) {
            checks.incrementAndGet();
            return bcrypt.matches(raw, encoded);
        }
    }

    @Test
    void aVerifiedPasswordIsNotRehashedUntilItExpiresAndAWrongOneAlwaysIs() {
        Counting bcrypt = new Counting();
        MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
        VerifiedPasswordCache cache = new VerifiedPasswordCache(bcrypt, clock);
        String hash = cache.encode("s3cret");
        assertThat(cache.matches("s3cret", hash)).isTrue();
        assertThat(cache.matches("s3cret", hash)).isTrue();
        assertThat(bcrypt.checks).hasValue(1);
        assertThat(cache.matches("wrong", hash)).isFalse();
        assertThat(cache.matches("wrong", hash)).isFalse();
        assertThat(bcrypt.checks).hasValue(3);
        clock.now = clock.now.plus(Duration.ofMinutes(6));
        assertThat(cache.matches("s3cret", hash)).isTrue();
        assertThat(bcrypt.checks).hasValue(4);
        // a new password hash: the old entry does not apply
        String other = cache.encode("s3cret");
        assertThat(cache.matches("s3cret", other)).isTrue();
        assertThat(bcrypt.checks).hasValue(5);
    }
}
