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

    /** The hub's own log entry: a contact's fields changed ({@code data.fields} names them, values are not kept). */
    public static final String CONTACT_CHANGED = "contact.changed";
    /** The hub's own log entries about an outbound message: {@code message.sent}, {@code message.opened}... */
    public static final String MESSAGE_PREFIX = "message.";

    /**
     * Whether a type is a trigger event (from a feed) rather than one of the hub's own log entries about a contact
     * change or a message status, which share the event log but start no workflow and are no contact's "events".
     */
    public static boolean trigger(String type) {
        return type != null && !CONTACT_CHANGED.equals(type) && !type.startsWith(MESSAGE_PREFIX);
    }
}
