package io.caravan.system;

import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.springframework.security.crypto.password.PasswordEncoder;

/**
 * Basic auth sends the password with every request, and bcrypt costs tens of milliseconds by design; an API client
 * polling contacts would pay it on every call. This remembers, for a few minutes, that a (stored hash, presented
 * password) pair matched — keyed by an HMAC under a per-process random key, so the cache holds no password and
 * nothing usable after a restart. A changed password changes the stored hash, so old entries never match.
 */
final class VerifiedPasswordCache implements PasswordEncoder {

    private static final long TTL_MILLIS = 5 * 60_000;
    private static final int MAX_ENTRIES = 10_000;

    private final PasswordEncoder delegate;
    private final Clock clock;
    private final byte[] key = new byte[32];
    private final Map<String, Long> verified = new ConcurrentHashMap<>();

    VerifiedPasswordCache(PasswordEncoder delegate, Clock clock) {
        this.delegate = delegate;
        this.clock = clock;
        new SecureRandom().nextBytes(key);
    }

    @Override
    public String encode(CharSequence raw) {
        return delegate.encode(raw);
    }

    @Override
    public boolean matches(CharSequence raw, String encoded) {
        if (raw == null || encoded == null) {
            return false;
        }
        String k = fingerprint(raw, encoded);
        long now = clock.millis();
        Long until = verified.get(k);
        if (until != null && until > now) {
            return true;
        }
        boolean ok = delegate.matches(raw, encoded);
        if (ok) {
            if (verified.size() >= MAX_ENTRIES) {
                verified.entrySet().removeIf(e -> e.getValue() <= now);
                if (verified.size() >= MAX_ENTRIES) {
                    verified.clear();
                }
            }
            verified.put(k, now + TTL_MILLIS);
        }
        return ok;
    }

    @Override
    public boolean upgradeEncoding(String encoded) {
        return delegate.upgradeEncoding(encoded);
    }

    private String fingerprint(CharSequence raw, String encoded) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            mac.update(encoded.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            mac.update((byte) 0);
            return Base64.getEncoder().encodeToString(
                    mac.doFinal(raw.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
