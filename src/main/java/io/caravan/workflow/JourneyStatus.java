package io.caravan.workflow;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** Where a contact's journey through a workflow is; stored and answered as the lower-case word ({@code active}). */
public enum JourneyStatus {
    /** Running, or waiting for its next step's time. */
    ACTIVE,
    /** Reached its end (or handed over to another workflow). */
    COMPLETED,
    /** Left early: a gate's refusal, an exit condition, a removed workflow. */
    EXITED;

    private final String value = name().toLowerCase(Locale.ROOT);

    @JsonValue
    public String value() {
        return value;
    }

    public static JourneyStatus of(String value) {
        for (JourneyStatus s : values()) {
            if (s.value.equals(value)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown journey status");
    }

    @Override
    public String toString() {
        return value;
    }
}
