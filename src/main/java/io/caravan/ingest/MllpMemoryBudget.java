package io.caravan.ingest;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Bytes the MLLP listener may hold for frames across all its connections. Without it each of the (by default 128)
 * connections could hold a maximum-size frame plus its copies at once - more than the heap. A connection that needs
 * more than is left is closed (its sender, which got no ACK, resends later); the others keep being served.
 */
final class MllpMemoryBudget {

    private final long limit;
    private final AtomicLong used = new AtomicLong();

    MllpMemoryBudget(long limit) {
        this.limit = limit;
    }

    static MllpMemoryBudget unlimited() {
        return new MllpMemoryBudget(Long.MAX_VALUE);
    }

    boolean tryReserve(long bytes) {
        while (true) {
            long now = used.get();
            if (now + bytes > limit) {
                return false;
            }
            if (used.compareAndSet(now, now + bytes)) {
                return true;
            }
        }
    }

    void release(long bytes) {
        used.addAndGet(-bytes);
    }

    long used() {
        return used.get();
    }

    long limit() {
        return limit;
    }
}
