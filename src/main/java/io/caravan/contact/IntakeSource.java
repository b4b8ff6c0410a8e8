package io.caravan.contact;

import java.time.Instant;
import org.springframework.beans.factory.ObjectProvider;

/**
 * A kind of inbound message the hub takes (HL7 v2 now, FHIR next), registered as a bean. Every stored message
 * records its source kind; whenever the store needs a message read again from its sealed raw bytes - crash recovery of
 * the journal, a contact split, a replay - it asks the source of that kind, so the store never depends on a format.
 */
public interface IntakeSource {

    /** The kind recorded with each message of this source (at most 16 characters, e.g. {@code hl7v2}). */
    String kind();

    /**
     * Reads one raw message with the mappings in force now. Must not throw for a bad message (a failure is a
     * {@link SourceMessage.Failed}) and must not touch the store: it runs inside the writer's recovery.
     *
     * @param raw        the message's bytes as the source handed them to the intake step
     * @param receivedAt when the hub received it (the fallback event time)
     */
    SourceMessage read(byte[] raw, Instant receivedAt);

    /** The source of {@code kind} among the registered ones, or null. */
    static IntakeSource find(ObjectProvider<IntakeSource> sources, String kind) {
        return sources.orderedStream().filter(s -> s.kind().equals(kind)).findFirst().orElse(null);
    }

    /** A kind as it may appear in a log line: it comes from storage, so it is cut and reduced to safe characters. */
    static String safe(String kind) {
        String k = String.valueOf(kind).replaceAll("[^A-Za-z0-9._-]", "?");
        return k.length() > 16 ? k.substring(0, 16) : k;
    }
}
