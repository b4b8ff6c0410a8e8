package io.caravan.campaign;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;

/**
 * Which variant (or the holdout) a recipient gets: a hash of campaign and contact, so the split is random with
 * respect to anything about the patient, and the same after a restart.
 */
final class Assignment {

    static final String HOLDOUT = "holdout";
    private static final int BUCKETS = 10_000;

    /** A variant and its relative weight. */
    record Variant(String id, String template, int share) {
    }

    private Assignment() {
    }

    static String of(UUID campaign, UUID contact, int holdoutPercent, List<Variant> variants) {
        int bucket = bucket(campaign, contact);
        int held = holdoutPercent * BUCKETS / 100;
        if (bucket < held) {
            return HOLDOUT;
        }
        int total = variants.stream().mapToInt(Variant::share).sum();
        // the rest of the buckets, spread over the variants by weight
        long at = (long) (bucket - held) * total / (BUCKETS - held);
        int sum = 0;
        for (Variant v : variants) {
            sum += v.share();
            if (at < sum) {
                return v.id();
            }
        }
        return variants.get(variants.size() - 1).id();
    }

    static int bucket(UUID campaign, UUID contact) {
        UUID h = UUID.nameUUIDFromBytes((campaign + ":" + contact).getBytes(StandardCharsets.US_ASCII));
        return (int) Math.floorMod(h.getLeastSignificantBits() ^ h.getMostSignificantBits(), (long) BUCKETS);
    }

    /** The id of the campaign's one message to a contact: the plan's unique key across restarts. */
    static UUID messageId(UUID campaign, UUID contact) {
        return UUID.nameUUIDFromBytes(("campaign-message:" + campaign + ":" + contact)
                .getBytes(StandardCharsets.US_ASCII));
    }
}
