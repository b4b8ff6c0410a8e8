package io.caravan.segment;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A segment: who a campaign or a workflow may address, as an expression over the attribute index in the workflow
 * condition language ({@link SegmentFacts} lists what it sees). {@code purpose} is what the segment is for: a
 * marketing segment may not select by a sensitive category's codes (refused when it is defined).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public final class SegmentDefinition {

    @JsonProperty(required = true)
    public String id;
    public String description;
    @JsonProperty(required = true)
    public String purpose;
    @JsonProperty(required = true)
    public String when;

    public SegmentDefinition() {
    }

    public SegmentDefinition(String id, String description, String purpose, String when) {
        this.id = id;
        this.description = description;
        this.purpose = purpose;
        this.when = when;
    }
}
