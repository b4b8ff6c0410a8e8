package io.caravan.contact;

import io.caravan.crypto.FieldCipher;
import java.time.Instant;
import java.util.Locale;
import java.util.UUID;

/**
 * One received message on its way to the store, with everything the writer needs already computed by the receiving
 * thread (parse, mapping, sealing), so the single writer only reconciles and commits.
 *
 * @param sourceKind  the intake source that read it ({@link IntakeSource#kind()}, e.g. {@code hl7v2}): the store asks
 *                    that source when the message has to be read again
 * @param dedupeKey   blind index of what identifies a resend (HL7 v2: MSH-3|MSH-4|MSH-10)
 * @param messageType the source's name for the message (HL7 v2: message^trigger)
 * @param status      processed, ignored (a message the source has no use for) or failed (kept for replay)
 * @param mapped      null unless processed
 * @param sealedRaw   the raw message sealed with {@code keyId}, associated data = the id
 * @param sealedEvent the trigger event sealed likewise with {@code eventId}, null unless processed
 * @param controlId   the sender's message id (HL7 v2: MSH-10), kept in clear for operators; may be null
 * @param errorLocation the location of a failure in the message (e.g. {@code PID-3}), when known
 * @param replayOf    for a replay: the failed message it replays
 */
public record InboundMessage(
        UUID id,
        String sourceKind,
        String dedupeKey,
        String feed,
        String messageType,
        Status status,
        String errorCode,
        ChangeRecord mapped,
        String keyId,
        byte[] sealedRaw,
        UUID eventId,
        byte[] sealedEvent,
        Instant receivedAt,
        String controlId,
        String errorLocation,
        UUID replayOf) {

    /** The source kind of every message stored before kinds were recorded. */
    public static final String HL7V2 = "hl7v2";

    /** What became of a message; stored as the lower-case name. */
    public enum Status {
        PROCESSED, IGNORED, FAILED;

        /** The stored form: {@code processed}, {@code ignored}, {@code failed}. */
        public String dbValue() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static Status of(String dbValue) {
            return valueOf(dbValue.toUpperCase(Locale.ROOT));
        }
    }

    /** A message without the operator's metadata (control id, error location, replay link). */
    public InboundMessage(UUID id, String sourceKind, String dedupeKey, String feed, String messageType,
            Status status, String errorCode, ChangeRecord mapped, String keyId, byte[] sealedRaw, UUID eventId,
            byte[] sealedEvent, Instant receivedAt) {
        this(id, sourceKind, dedupeKey, feed, messageType, status, errorCode, mapped, keyId, sealedRaw, eventId,
                sealedEvent, receivedAt, null, null, null);
    }

    /**
     * The message a source read, ready for the writer: processed with its trigger event sealed under
     * {@code eventId}, ignored, or failed with its error code and location. Used by the intake step for a new message
     * and by the store for a message read again (recovery), so both build it the same way.
     */
    public static InboundMessage of(UUID id, String sourceKind, String dedupeKey, SourceMessage read, String keyId,
            byte[] sealedRaw, UUID eventId, Instant receivedAt, FieldCipher cipher) {
        InboundMessage m;
        if (read.result() instanceof SourceMessage.Mapped mapped) {
            ChangeRecord c = mapped.change();
            TriggerEvent event = new TriggerEvent(eventId, c.eventType(), c.eventTime(),
                    new TriggerEvent.Source(read.feed(), read.sourceRef(), null), c.data());
            m = new InboundMessage(id, sourceKind, dedupeKey, read.feed(), read.sourceMessageType(),
                    Status.PROCESSED, null, c, keyId, sealedRaw, eventId, ContactStore.sealEvent(cipher, event),
                    receivedAt);
        } else if (read.result() instanceof SourceMessage.Failed f) {
            m = new InboundMessage(id, sourceKind, dedupeKey, read.feed(), read.sourceMessageType(), Status.FAILED,
                    f.errorCode(), null, keyId, sealedRaw, null, null, receivedAt);
        } else {
            m = new InboundMessage(id, sourceKind, dedupeKey, read.feed(), read.sourceMessageType(), Status.IGNORED,
                    null, null, keyId, sealedRaw, null, null, receivedAt);
        }
        SourceMessage.Failed f = read.failure();
        return m.tagged(read.sourceRef(), f == null ? null : f.location());
    }

    /** This message with its sender's id and the location of its failure (ERR-2 form {@code PID^1^3} accepted). */
    public InboundMessage tagged(String controlId, String errorLocation) {
        return new InboundMessage(id, sourceKind, dedupeKey, feed, messageType, status, errorCode, mapped, keyId,
                sealedRaw, eventId, sealedEvent, receivedAt, controlId, location(errorLocation), replayOf);
    }

    /** This message as the replay of {@code original}. */
    public InboundMessage replaying(UUID original) {
        return new InboundMessage(id, sourceKind, dedupeKey, feed, messageType, status, errorCode, mapped, keyId,
                sealedRaw, eventId, sealedEvent, receivedAt, controlId, errorLocation, original);
    }

    /**
     * This message kept as failed without a mapping ({@code errorCode} says why): what the store does with a message
     * it cannot have read again, so that it is neither lost nor retried forever.
     */
    public InboundMessage failedUnmapped(String errorCode) {
        return new InboundMessage(id, sourceKind, dedupeKey, feed, messageType, Status.FAILED, errorCode, null, keyId,
                sealedRaw, null, null, receivedAt, controlId, errorLocation, replayOf);
    }

    /** {@code PID^1^3^2} (segment, repetition, field, component) as operators write it: {@code PID-3.2}. */
    public static String location(String erl) {
        if (erl == null || erl.isEmpty()) {
            return null;
        }
        String[] p = erl.split("\\^");
        if (p.length < 3) {
            return p[0].length() > 32 ? p[0].substring(0, 32) : p[0];
        }
        String out = p[0] + "-" + p[2] + (p.length > 3 ? "." + p[3] : "");
        return out.length() > 32 ? out.substring(0, 32) : out;
    }
}
