package io.caravan.contact;

import java.time.Instant;
import java.util.UUID;

/**
 * One received message on its way to the store, with everything the writer needs already computed by the receiving
 * thread (parse, mapping, sealing), so the single writer only reconciles and commits.
 *
 * @param dedupeKey   blind index of MSH-3|MSH-4|MSH-10
 * @param status      {@code processed}, {@code ignored} (a trigger we do not map) or {@code failed} (kept for replay)
 * @param mapped      null unless processed
 * @param sealedRaw   the raw message sealed with {@code keyId}, associated data = the id
 * @param sealedEvent the trigger event sealed likewise with {@code eventId}, null unless processed
 * @param controlId   MSH-10, kept in clear for operators (a sender's message id, not about the patient); may be null
 * @param errorLocation the HL7 location of a failure (e.g. {@code PID-3}), when known
 * @param replayOf    for a replay: the failed message it replays
 */
public record InboundMessage(
        UUID id,
        String dedupeKey,
        String feed,
        String messageType,
        String status,
        String errorCode,
        MappedMessage mapped,
        String keyId,
        byte[] sealedRaw,
        UUID eventId,
        byte[] sealedEvent,
        Instant receivedAt,
        String controlId,
        String errorLocation,
        UUID replayOf) {

    /** A message without the operator's metadata (control id, error location, replay link). */
    public InboundMessage(UUID id, String dedupeKey, String feed, String messageType, String status, String errorCode,
            MappedMessage mapped, String keyId, byte[] sealedRaw, UUID eventId, byte[] sealedEvent,
            Instant receivedAt) {
        this(id, dedupeKey, feed, messageType, status, errorCode, mapped, keyId, sealedRaw, eventId, sealedEvent,
                receivedAt, null, null, null);
    }

    /** This message with its MSH-10 and the HL7 location of its failure (ERR-2 form {@code PID^1^3} accepted). */
    public InboundMessage tagged(String controlId, String errorLocation) {
        return new InboundMessage(id, dedupeKey, feed, messageType, status, errorCode, mapped, keyId, sealedRaw,
                eventId, sealedEvent, receivedAt, controlId, location(errorLocation), replayOf);
    }

    /** This message as the replay of {@code original}. */
    public InboundMessage replaying(UUID original) {
        return new InboundMessage(id, dedupeKey, feed, messageType, status, errorCode, mapped, keyId, sealedRaw,
                eventId, sealedEvent, receivedAt, controlId, errorLocation, original);
    }

    /** {@code PID^1^3^2} (segment, repetition, field, component) as operators write it: {@code PID-3.2}. */
    static String location(String erl) {
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

    public static final String PROCESSED = "processed";
    public static final String IGNORED = "ignored";
    public static final String FAILED = "failed";
}
