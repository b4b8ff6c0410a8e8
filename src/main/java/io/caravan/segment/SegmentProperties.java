package io.caravan.segment;

import java.nio.file.Path;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Segments.
 *
 * @param dir       one {@code <id>.yaml} per segment, checked at start-up, plus {@code code-sets.yaml}
 * @param threads   threads one evaluation over the whole index uses
 * @param sample    contact ids a preview returns at most
 */
@ConfigurationProperties("caravan.segments")
public record SegmentProperties(Path dir, int threads, int sample) {

    public SegmentProperties {
        dir = dir == null ? Path.of("config/segments") : dir;
        threads = threads <= 0 ? 2 : threads;
        sample = sample <= 0 ? 10 : Math.min(sample, 100);
    }
}
