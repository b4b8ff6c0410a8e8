package io.caravan.system;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.event.EventListener;
import org.springframework.security.authentication.event.AbstractAuthenticationFailureEvent;
import org.springframework.security.authentication.event.AuthenticationSuccessEvent;
import org.springframework.security.core.Authentication;
import org.springframework.security.web.authentication.WebAuthenticationDetails;

/**
 * Counts failed Basic logins per (user name, client address) and per client address. Once a count reaches its limit
 * the key is locked: requests under it are answered 429 before the password is looked at, so a locked guesser learns
 * nothing and costs no bcrypt. Each failure after a lock ends locks again for twice as long, up to the ceiling; a
 * success clears the pair. The pair, not the user alone, is locked so that a stranger cannot lock a colleague out by
 * typing their name; the per-address count catches one client spraying many names.
 */
class LoginThrottle {

    private static final Logger log = LoggerFactory.getLogger(LoginThrottle.class);
    /** Bounds the memory a flood of invented user names can take; expired entries go first. */
    private static final int MAX_ENTRIES = 100_000;

    private final LoginThrottleProperties props;
    private final Clock clock;
    private final Predicate<String> known;
    private final Map<String, Failures> byUser = new ConcurrentHashMap<>();
    private final Map<String, Failures> byAddress = new ConcurrentHashMap<>();

    /** {@code known}: whether a name is a user's; any other name may be a password typed in the wrong field. */
    LoginThrottle(LoginThrottleProperties props, Clock clock, Predicate<String> known) {
        this.props = props;
        this.clock = clock;
        this.known = known;
    }

    /** How long the user, or the address, is still locked for; empty when a login may be tried. */
    Optional<Duration> lockedFor(String user, String address) {
        Instant now = clock.instant();
        Instant until = later(lockedUntil(byUser.get(key(user, address)), now),
                lockedUntil(byAddress.get(address), now));
        return until == null ? Optional.empty() : Optional.of(Duration.between(now, until));
    }

    /** A wrong password or an unknown user name. */
    void failed(String user, String address) {
        Instant now = clock.instant();
        Failures pair = record(byUser, key(user, address), props.maxFailures(), now);
        Failures addr = record(byAddress, address, props.maxFailuresPerAddress(), now);
        if (pair.justLocked) {
            log.warn("Basic login locked for {} from {} for {} s after {} failures",
                    known.test(user) ? "user " + user : "an unknown user name", address,
                    Duration.between(now, pair.until).toSeconds(), pair.count);
        }
        if (addr.justLocked) {
            log.warn("Basic login locked for every user from {} for {} s after {} failures", address,
                    Duration.between(now, addr.until).toSeconds(), addr.count);
        }
    }

    void succeeded(String user, String address) {
        byUser.remove(key(user, address));
    }

    // Spring Security publishes these synchronously while the Basic filter authenticates, with the client's address
    // in the details.
    @EventListener
    void onFailure(AbstractAuthenticationFailureEvent e) {
        String address = address(e.getAuthentication());
        if (address != null && e.getAuthentication().getName() != null) {
            failed(e.getAuthentication().getName(), address);
        }
    }

    @EventListener
    void onSuccess(AuthenticationSuccessEvent e) {
        String address = address(e.getAuthentication());
        if (address != null) {
            succeeded(e.getAuthentication().getName(), address);
        }
    }

    private static String address(Authentication a) {
        return a != null && a.getDetails() instanceof WebAuthenticationDetails d ? d.getRemoteAddress() : null;
    }

    private Failures record(Map<String, Failures> map, String key, int limit, Instant now) {
        if (map.size() >= MAX_ENTRIES) {
            map.values().removeIf(f -> f.forgettable(now, props.forgetAfter()));
            if (map.size() >= MAX_ENTRIES) {
                map.clear();
            }
        }
        return map.compute(key, (k, f) -> {
            if (f == null || f.forgettable(now, props.forgetAfter())) {
                f = new Failures();
            }
            f.justLocked = false;
            if (f.until != null && now.isBefore(f.until)) {
                return f; // not counted: nothing was checked while locked
            }
            f.count++;
            f.last = now;
            if (f.count >= limit) {
                Duration lock = props.lockout();
                for (int i = limit; i < f.count && lock.compareTo(props.maxLockout()) < 0; i++) {
                    lock = lock.multipliedBy(2);
                }
                lock = lock.compareTo(props.maxLockout()) > 0 ? props.maxLockout() : lock;
                f.until = now.plus(lock);
                f.justLocked = true;
            }
            return f;
        });
    }

    private static Instant lockedUntil(Failures f, Instant now) {
        Instant until = f == null ? null : f.until;
        return until != null && now.isBefore(until) ? until : null;
    }

    private static Instant later(Instant a, Instant b) {
        return a == null ? b : b == null ? a : a.isAfter(b) ? a : b;
    }

    private static String key(String user, String address) {
        return address + '\u0000' + user;
    }

    private static final class Failures {
        int count;
        Instant last;
        Instant until;
        boolean justLocked;

        boolean forgettable(Instant now, Duration forgetAfter) {
            Instant lastEvent = until != null && until.isAfter(last) ? until : last;
            return lastEvent == null || !now.isBefore(lastEvent.plus(forgetAfter));
        }
    }
}
