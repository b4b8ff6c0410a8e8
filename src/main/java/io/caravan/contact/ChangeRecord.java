package io.caravan.contact;

import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;

/**
 * The canonical change record: what every intake source (HL7 v2 now, FHIR next) produces from one inbound message,
 * and the only thing the contact store applies. Who it is about ({@code patch.identifiers}), what it says about them
 * (demographics, restrictions and opt-outs, all in {@code patch}), a merge, and the trigger event it raises. Nothing in
 * it is specific to the source's format: the source message is only referred to, by its type and reference.
 *
 * @param feed              the feed (sender) it came from, as the source's mapping catalog names it
 * @param sourceMessageType the source's own name for the message (HL7 v2: MSH-9 message^trigger, e.g. ADT^A04)
 * @param sourceRef         the sender's id of the message (HL7 v2: MSH-10 control id), carried by the trigger event
 * @param eventType         the trigger event raised (e.g. patient.registered)
 * @param eventTime         when it happened at the source (HL7 v2: EVN-2, else MSH-7): decides whether demographics
 *                          are newer than what the contact holds
 * @param demographics      true when the patch may update demographics; otherwise only identifiers are used
 * @param mergeFrom         for merges: identifiers of the prior patient record
 * @param data              the trigger event's data
 * @param warnings          data-quality warnings about the message (codes and source locations, never values)
 */
public record ChangeRecord(
        String feed,
        String sourceMessageType,
        String sourceRef,
        String eventType,
        OffsetDateTime eventTime,
        boolean demographics,
        ContactPatch patch,
        List<Identifier> mergeFrom,
        Map<String, Object> data,
        List<String> warnings) {

    public ChangeRecord(String feed, String sourceMessageType, String sourceRef, String eventType,
            OffsetDateTime eventTime, boolean demographics, ContactPatch patch, List<Identifier> mergeFrom,
            Map<String, Object> data) {
        this(feed, sourceMessageType, sourceRef, eventType, eventTime, demographics, patch, mergeFrom, data,
                List.of());
    }
}
