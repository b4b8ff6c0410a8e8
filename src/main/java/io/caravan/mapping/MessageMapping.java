package io.caravan.mapping;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What one trigger event (e.g. {@code ADT^A01}) becomes: the event type raised, whether the message carries
 * demographics, which segments' contact rules apply, and the event data.
 */
public final class MessageMapping {

    /** {@code TYPE^EVENT}, e.g. {@code SIU^S12}. */
    @JsonProperty(required = true)
    public String trigger;
    /** Event type raised, e.g. {@code appointment.booked}. */
    @JsonProperty(required = true)
    public String event;
    public String description;
    /** True for ADT: the contact's demographics are updated from the segments below. */
    public boolean demographics;
    /** Segment mappings (file names in {@code segments/}) applied to the contact. */
    public List<String> segments = List.of("PID");
    /** For merges (A40): where the prior patient's identifiers are. */
    public FieldRule mergeFrom;
    /** Event data, by name. */
    public Map<String, FieldRule> data = new LinkedHashMap<>();

    MessageMapping copy() {
        MessageMapping m = new MessageMapping();
        m.trigger = trigger;
        m.event = event;
        m.description = description;
        m.demographics = demographics;
        m.segments = segments;
        m.mergeFrom = mergeFrom;
        m.data = new LinkedHashMap<>(data);
        return m;
    }
}
