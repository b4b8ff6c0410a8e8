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

    /**
     * A message's reference for one destination, so its sent, delivered and opened events can be told to be about one
     * message: derived like {@link #eventId} from the hub's random message id (never from the patient), per
     * destination, and never the hub's own id.
     */
    public static UUID messageRef(String destination, String hubMessageId) {
        return UUID.nameUUIDFromBytes((destination + "\u0000message\u0000" + hubMessageId)
                .getBytes(StandardCharsets.UTF_8));
    }

    public static boolean message(String type) {
        return MESSAGES.contains(type);
    }
}
