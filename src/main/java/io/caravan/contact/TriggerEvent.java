package io.caravan.contact;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.OffsetDateTime;
import java.util.Map;
import java.util.UUID;

/**
 * Something that happened to a contact and may start a workflow: {@code patient.admitted}, {@code
 * appointment.booked}… {@code source} names the feed and the message control id (or FHIR resource).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record TriggerEvent(UUID id, String type, OffsetDateTime occurredAt, Source source, Map<String, Object> data) {

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Source(String feed, String messageControlId, String resource) {
    }
}
