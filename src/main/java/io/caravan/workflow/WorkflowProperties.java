package io.caravan.workflow;

import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Workflows.
 *
 * @param dir           one {@code <id>.yaml} per workflow
 * @param frequencyCap  per purpose, at most this many messages to a contact per window, across workflows and
 *                      channels (e.g. marketing: 1 a day, 3 a week); a send over the cap waits until it is under
 * @param quietHours    per channel, the local hours nothing is sent (a send waits for their end)
 * @param workers       journeys run at once (each send waits for its durable audit entries)
 */
@ConfigurationProperties("caravan.workflow")
public record WorkflowProperties(Path dir, Map<String, Cap> frequencyCap, Map<String, QuietHours> quietHours,
        int workers) {

    /** @param perDay at most this many in 24 hours (0: no limit); @param perWeek in 7 days */
    public record Cap(int perDay, int perWeek) {
        Map<Duration, Integer> limits() {
            Map<Duration, Integer> m = new LinkedHashMap<>();
            if (perWeek > 0) {
                m.put(Duration.ofDays(7), perWeek);
            }
            if (perDay > 0) {
                m.put(Duration.ofDays(1), perDay);
            }
            return m;
        }
    }

    public record QuietHours(LocalTime from, LocalTime to) {
    }

    public WorkflowProperties {
        dir = dir == null ? Path.of("config/workflows") : dir;
        frequencyCap = frequencyCap == null ? Map.of() : Map.copyOf(frequencyCap);
        quietHours = quietHours == null ? Map.of() : Map.copyOf(quietHours);
        workers = workers <= 0 ? 48 : workers;
    }
}
