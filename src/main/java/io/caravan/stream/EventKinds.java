package io.caravan.stream;

import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.UUID;

/** The hub's own event vocabulary: the only type strings a de-identified payload may carry. */
public final class EventKinds {

    /** Trigger events (BRIEF.md). */
    public static final Set<String> TRIGGERS = Set.of("patient.registered", "patient.admitted", "patient.discharged",
            "patient.updated", "patient.merged", "appointment.booked", "appointment.rescheduled",
            "appointment.cancelled", "result.available");
    /** Message status and engagement. */
    public static final Set<String> MESSAGES = Set.of("message.sent", "message.delivered", "message.bounced",
            "message.opened", "message.clicked", "message.unsubscribed");

    private EventKinds() {
    }

    public static boolean known(String type) {
        return type != null && (TRIGGERS.contains(type) || MESSAGES.contains(type) || "contact.changed".equals(type));
    }

    /**
     * The id an event carries to one destination: stable for that destination (a resend after a crash has the same
     * id, so the consumer can drop it) but different per destination, so two destinations cannot join their feeds on
     * it. Derived from the hub's random event id, never from anything about the patient.
     */
    public static UUID eventId(String destination, UUID hubEventId) {
        return UUID.nameUUIDFromBytes((destination + "\u0000" + hubEventId).getBytes(StandardCharsets.UTF_8));
    }
}
