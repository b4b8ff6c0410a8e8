package io.caravan.contact;

import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;

/**
 * The result of mapping one inbound message: who it is about ({@code patch.identifiers}), what it says about them,
 * and the trigger event it raises.
 *
 * @param eventTime    EVN-2, else MSH-7: decides whether demographics are newer than what the contact holds
 * @param demographics true when the patch may update demographics (ADT); otherwise only identifiers are used
 * @param mergeFrom    for merges: identifiers of the prior patient record
 * @param warnings     data-quality warnings about the message (codes and HL7 locations, never values)
 */
public record MappedMessage(
        String feed,
        String trigger,
        String messageControlId,
        String eventType,
        OffsetDateTime eventTime,
        boolean demographics,
        ContactPatch patch,
        List<Identifier> mergeFrom,
        Map<String, Object> data,
        List<String> warnings) {

    public MappedMessage(String feed, String trigger, String messageControlId, String eventType,
            OffsetDateTime eventTime, boolean demographics, ContactPatch patch, List<Identifier> mergeFrom,
            Map<String, Object> data) {
        this(feed, trigger, messageControlId, eventType, eventTime, demographics, patch, mergeFrom, data, List.of());
    }
}
