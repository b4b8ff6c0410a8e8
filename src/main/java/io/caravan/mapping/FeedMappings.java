package io.caravan.mapping;

import java.time.ZoneId;
import java.util.Map;

/**
 * The mappings in force for one feed: the base set with that feed's adapter overrides applied.
 *
 * @param feedId  adapter id, or {@code default} for a sender no adapter matches
 * @param adapter the adapter, or null for the default feed
 */
public record FeedMappings(String feedId, AdapterProfile adapter, Map<String, MessageMapping> byTrigger,
        Map<String, SegmentMapping> segments, ValueMaps valueMaps, String phoneRegion, ZoneId zone) {

    public MessageMapping forTrigger(String trigger) {
        return byTrigger.get(trigger);
    }
}
