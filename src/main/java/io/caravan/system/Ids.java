package io.caravan.system;

import java.security.SecureRandom;
import java.util.UUID;

/**
 * Time-ordered UUIDs (RFC 9562 version 7: 48-bit Unix milliseconds, then random bits). Rows keyed by them are
 * appended at the right edge of their B-tree instead of landing on a random page, so a group commit rewrites a few
 * pages rather than one per row; ids also sort in creation order.
 */
public final class Ids {

    /**
     * One generator per thread: the default SecureRandom on Linux (NativePRNG) reads through one lock shared by every
     * instance, and the send path's many threads queue on it. DRBG instances are independent, each seeded from the
     * system's entropy.
     */
    private static final ThreadLocal<SecureRandom> RANDOM = ThreadLocal.withInitial(() -> {
        try {
            return SecureRandom.getInstance("DRBG");
        } catch (java.security.NoSuchAlgorithmException e) {
            return new SecureRandom();
        }
    });

    private Ids() {
    }

    public static UUID next() {
        long millis = System.currentTimeMillis();
        SecureRandom random = RANDOM.get();
        long randA = random.nextInt(1 << 12);
        long msb = (millis << 16) | 0x7000L | randA;
        long lsb = (random.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
        return new UUID(msb, lsb);
    }
}
