package io.caravan.campaign;

import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;

/**
 * What {@code POST /api/campaigns} takes. Either {@code template} (one variant) or {@code variants} (A/B…: each an
 * id, a template and a share; shares are relative weights). {@code holdout} is the percentage of the segment that is
 * kept back (measured, never sent). {@code startAt} absent: now.
 */
public record CampaignRequest(String name, String segment, String channel, String template,
        List<VariantSpec> variants, Integer holdout, Map<String, Object> data, OffsetDateTime startAt, Integer rate) {

    public record VariantSpec(String id, String template, Integer share) {
    }
}
