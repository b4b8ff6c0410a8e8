package io.caravan.segment;

import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Segments.
 *
 * @param dir       one {@code <id>.yaml} per segment, checked at start-up, plus {@code code-sets.yaml}
 * @param threads   threads one evaluation over the whole index uses
 * @param sample    contact ids a preview returns at most
 * @param refreshInterval on several nodes: how often each node reads the index rows the others changed
 * @param refreshOverlap  on several nodes: how far back each read looks again, for a change committed after a later
 *                        one (longer than the longest index transaction)
 */
@ConfigurationProperties("caravan.segments")
public record SegmentProperties(Path dir, int threads, int sample, Duration refreshInterval,
        Duration refreshOverlap) {

    public SegmentProperties {
        dir = dir == null ? Path.of("config/segments") : dir;
        threads = threads <= 0 ? 2 : threads;
        sample = sample <= 0 ? 10 : Math.min(sample, 100);
        refreshInterval = refreshInterval == null || refreshInterval.isZero() || refreshInterval.isNegative()
                ? Duration.ofSeconds(1) : refreshInterval;
        refreshOverlap = refreshOverlap == null || refreshOverlap.isNegative() ? Duration.ofSeconds(30)
                : refreshOverlap;
    }
}
