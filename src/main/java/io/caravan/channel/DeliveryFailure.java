package io.caravan.channel;

import java.util.List;

/**
 * Why a channel could not hand a message over, as its deliver route's {@code doCatch} tells them apart: a transient
 * failure defers the message (with backoff), a permanent one bounces it. Messages carry reason codes only (an SMTP
 * status, {@code connection}), never an address or content.
 */
public abstract sealed class DeliveryFailure extends Exception {

    private final List<String> reasons;

    DeliveryFailure(List<String> reasons) {
        super(String.join(",", reasons), null, false, false);
        this.reasons = List.copyOf(reasons);
    }

    public List<String> reasons() {
        return reasons;
    }

    /** Try again later. {@code counts}: whether this attempt counts against the retry budget. */
    public static final class Transient extends DeliveryFailure {
        private final boolean counts;

        public Transient(List<String> reasons, boolean counts) {
            super(reasons);
            this.counts = counts;
        }

        public boolean counts() {
            return counts;
        }
    }

    /** Refused for good. {@code addressRefused}: the recipient's address itself was refused (suppress it). */
    public static final class Permanent extends DeliveryFailure {
        private final boolean addressRefused;

        public Permanent(String reason, boolean addressRefused) {
            super(List.of(reason));
            this.addressRefused = addressRefused;
        }

        public boolean addressRefused() {
            return addressRefused;
        }
    }
}
