package io.caravan.mapping;

/**
 * The data-quality warnings recorded on an accepted message ({@code inbound_message.warnings}, joined by {@code "; "})
 * and counted in {@code caravan_hl7_field_warnings_total}: {@code <location>: <code> <what was done>}, e.g. {@code
 * PID-7: 102 not an HL7 date, field skipped}. The location is an HL7 location from the mapping rules (a bounded set,
 * safe as a metric label); the code is from HL7 table 0357. Never a value: warnings reach logs and the API.
 */
public final class Hl7Warnings {

    /** HL7 table 0357: required field missing. */
    public static final String MISSING = "101";
    /** HL7 table 0357: data type error. */
    public static final String DATA_TYPE = "102";

    private Hl7Warnings() {
    }

    static String of(String location, String code, String text) {
        return location + ": " + code + " " + text;
    }

    /** The HL7 location a warning is about ({@code PID-7}), or {@code other} for one not in this format. */
    public static String location(String warning) {
        int colon = warning.indexOf(": ");
        String loc = colon < 0 ? "" : warning.substring(0, colon);
        return loc.matches("[A-Z][A-Z0-9]{2}-\\d{1,3}") ? loc : "other";
    }
}
