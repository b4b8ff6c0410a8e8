package io.caravan.contact;

/** A business identifier of a contact: {@code system} is the assigning authority (e.g. PID-3.4), {@code type} e.g. MR. */
public record Identifier(String system, String value, String type) {

    /** The lookup key {@code system|value}; the type does not change identity. */
    public String key() {
        return (system == null ? "" : system) + "|" + value;
    }
}
