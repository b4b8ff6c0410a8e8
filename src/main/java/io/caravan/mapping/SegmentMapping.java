package io.caravan.mapping;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Contact rules of one segment (PID, PD1, or a feed's Z-segment). Keys of {@code contact} are contact fields
 * ({@code identifiers}, {@code name}, {@code birthDate}, {@code gender}, {@code telecom}, {@code language},
 * {@code address}); {@code attributes} go to the contact's free attributes; {@code restrictions} raise or clear a
 * restriction code with a flag rule.
 */
public final class SegmentMapping {

    @JsonProperty(required = true)
    public String segment;
    public String description;
    public Map<String, FieldRule> contact = new LinkedHashMap<>();
    public Map<String, FieldRule> attributes = new LinkedHashMap<>();
    public Map<String, FieldRule> restrictions = new LinkedHashMap<>();

    SegmentMapping copy() {
        SegmentMapping s = new SegmentMapping();
        s.segment = segment;
        s.description = description;
        s.contact = new LinkedHashMap<>(contact);
        s.attributes = new LinkedHashMap<>(attributes);
        s.restrictions = new LinkedHashMap<>(restrictions);
        return s;
    }
}
