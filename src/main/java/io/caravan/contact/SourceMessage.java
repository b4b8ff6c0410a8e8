package io.caravan.contact;

/**
 * What an intake source read from one raw message: enough for the intake step to store it (feed, the source's type and
 * reference, the text its dedupe key is computed from) and what the message means for the store: a change record, a
 * message the source has no use for, or a failure kept for replay. No PHI outside the change record.
 *
 * @param feed              the feed it came from
 * @param sourceMessageType the source's name for the message (HL7 v2: message^trigger), stored in clear
 * @param sourceRef         the sender's id for the message (HL7 v2: MSH-10), stored in clear; may be null
 * @param dedupeText        what identifies a resend of the same message (HL7 v2: MSH-3|MSH-4|MSH-10); only its
 *                          blind index is stored, within the source's kind
 * @param result            the change record, ignored, or failed
 */
public record SourceMessage(String feed, String sourceMessageType, String sourceRef, String dedupeText,
        Result result) {

    /** What the message means for the store. */
    public sealed interface Result permits Mapped, Ignored, Failed {
    }

    /** Mapped to a change record. */
    public record Mapped(ChangeRecord change) implements Result {
    }

    /** Understood, and of no use to the hub (e.g. an HL7 trigger no mapping takes): stored, accepted. */
    public record Ignored() implements Result {
    }

    /**
     * Not processable: stored as failed, for replay once the mapping is fixed.
     *
     * @param errorCode  what is stored and listed (e.g. {@code mapping:103}, {@code parse:HL7Exception})
     * @param location   where in the message (e.g. HL7 {@code PID^1^3} or {@code PID-3}), null when unknown
     * @param reasonCode the code the sender is answered (HL7 v2: ERR-3, e.g. 102)
     * @param reasonText the sender-facing text: never a value from the message
     */
    public record Failed(String errorCode, String location, String reasonCode, String reasonText) implements Result {
    }

    public static final Ignored IGNORED = new Ignored();

    /** The change record, or null when the message did not map to one. */
    public ChangeRecord change() {
        return result instanceof Mapped m ? m.change() : null;
    }

    /** The failure, or null. */
    public Failed failure() {
        return result instanceof Failed f ? f : null;
    }
}
