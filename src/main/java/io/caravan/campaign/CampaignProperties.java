package io.caravan.campaign;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Campaigns.
 *
 * @param rate          messages/s a campaign plans when its request names no rate (per campaign)
 * @param maxRate       the highest rate a request may ask for
 * @param workers       batches planned at once (a page is cut into page / workers recipients per batch; a batch
 *                      waits once for its durable audit entries)
 * @param page          recipients read per page
 * @param pollInterval  how often the runner looks for due campaigns while idle
 * @param channelRate   per channel, messages/s all campaigns together may plan on it (none: each campaign's own rate)
 */
@ConfigurationProperties("caravan.campaigns")
public record CampaignProperties(int rate, int maxRate, int workers, int page, Duration pollInterval,
        java.util.Map<String, Integer> channelRate) {

    public CampaignProperties {
        rate = rate <= 0 ? 50 : rate;
        maxRate = maxRate <= 0 ? 5000 : maxRate;
        workers = workers <= 0 ? 16 : workers;
        page = page <= 0 ? 500 : page;
        pollInterval = pollInterval == null ? Duration.ofMillis(500) : pollInterval;
        channelRate = channelRate == null ? java.util.Map.of() : java.util.Map.copyOf(channelRate);
    }
}
