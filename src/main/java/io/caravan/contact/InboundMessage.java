package io.caravan.contact;

import io.caravan.mapping.MappedMessage;
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
        Instant receivedAt) {

    public static final String PROCESSED = "processed";
    public static final String IGNORED = "ignored";
    public static final String FAILED = "failed";
}
