package io.caravan.channel;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/**
 * Where an outbound message is. Stored and answered as the lower-case word ({@code sent}), as the API has always
 * said it.
 */
public enum MessageStatus {
    /** Accepted, waiting to be sent. */
    PLANNED,
    /** The gate or the protection policy stopped it (see its reasons). */
    BLOCKED,
    /** The channel refused for now or the connection broke: retried with backoff. */
    DEFERRED,
    /** Handed over, protected as the message's protection says. */
    SENT,
    /** A delivery report said so. */
    DELIVERED,
    /** Refused for good; the address is suppressed when the refusal was about its mailbox. */
    BOUNCED,
    /** Retries used up, or an error. */
    FAILED,
    /** The channel's network could not deliver it to the handset, for good (SMS). */
    UNDELIVERABLE,
    /** Its validity ran out before delivery (SMS). */
    EXPIRED,
    /** Shown only, never stored: a person (not a machine) opened a sent message. */
    OPENED,
    /** Shown only, never stored: a person followed a link in a sent message. */
    CLICKED;

    private final String value = name().toLowerCase(Locale.ROOT);

    /** The word stored in the database and shown in JSON. */
    @JsonValue
    public String value() {
        return value;
    }

    @JsonCreator
    public static MessageStatus of(String value) {
        for (MessageStatus s : values()) {
            if (s.value.equals(value)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown message status");
    }

    @Override
    public String toString() {
        return value;
    }
}
