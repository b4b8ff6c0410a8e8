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

    /** One warning read back: {@code code} is null for a warning written without one (the identity warnings). */
    public record Warning(String location, String code, String text) {
    }

    /** The warnings of an {@code inbound_message.warnings} value, in order (an API shows them as objects). */
    public static java.util.List<Warning> parse(String column) {
        java.util.List<Warning> out = new java.util.ArrayList<>();
        if (column == null || column.isBlank()) {
            return out;
        }
        for (String w : column.split("; ")) {
            int colon = w.indexOf(": ");
            String loc = colon < 0 ? location(w) : w.substring(0, colon);
            String rest = colon < 0 ? w : w.substring(colon + 2);
            String code = rest.matches("\\d{3}( .*)?") ? rest.substring(0, 3) : null;
            out.add(new Warning(loc, code, code == null ? rest : rest.substring(3).trim()));
        }
        return out;
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
