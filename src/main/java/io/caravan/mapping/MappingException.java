package io.caravan.mapping;

/**
 * A message that was understood but cannot be mapped (AE). The message text names fields and rules, never values:
 * it ends up in ACKs, logs and the inbound message record.
 */
public class MappingException extends Exception {

    private final String hl7ErrorCode;
    private final String location;

    public MappingException(String hl7ErrorCode, String location, String message) {
        super(message);
        this.hl7ErrorCode = hl7ErrorCode;
        this.location = location;
    }

    /** HL7 table 0357 code: 101 required field missing, 102 data type error, 103 table value not found, 207 other. */
    public String hl7ErrorCode() {
        return hl7ErrorCode;
    }

    /** Error location, e.g. {@code PID^1^3}, or null. */
    public String location() {
        return location;
    }
}
