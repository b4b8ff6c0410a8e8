package io.caravan.system;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Throttling of failed HTTP Basic logins ({@link LoginThrottle}).
 *
 * @param maxFailures            failures for one user name from one address before that pair is locked
 * @param maxFailuresPerAddress  failures from one address, whatever the user names, before the address is locked
 *                               (one client trying many names)
 * @param lockout                the first lock; each failure after a lock ends doubles it
 * @param maxLockout             the longest lock
 * @param forgetAfter            failures this old no longer count
 */
@ConfigurationProperties("caravan.security.login-throttle")
public record LoginThrottleProperties(int maxFailures, int maxFailuresPerAddress, Duration lockout,
        Duration maxLockout, Duration forgetAfter) {

    public LoginThrottleProperties {
        maxFailures = maxFailures <= 0 ? 10 : maxFailures;
        maxFailuresPerAddress = maxFailuresPerAddress <= 0 ? 50 : maxFailuresPerAddress;
        lockout = lockout == null ? Duration.ofMinutes(1) : lockout;
        maxLockout = maxLockout == null ? Duration.ofMinutes(15) : maxLockout;
        forgetAfter = forgetAfter == null ? Duration.ofHours(12) : forgetAfter;
        if (lockout.isNegative() || lockout.isZero() || maxLockout.compareTo(lockout) < 0) {
            throw new IllegalArgumentException("caravan.security.login-throttle: lockout must be positive and not "
                    + "longer than max-lockout");
        }
    }
}
