package io.caravan.mapping;

/**
 * The MSH fields the hub needs before (and whether or not) the whole message parses. Read straight from the raw text
 * so that garbage still gets an ACK that echoes what can be echoed. None of these fields is PHI.
 */
public record Msh(
        char fieldSeparator,
        String encodingCharacters,
        String sendingApplication,
        String sendingFacility,
        String receivingApplication,
        String receivingFacility,
        String dateTime,
        String messageType,
        String triggerEvent,
        String controlId,
        String processingId,
        String version,
        String acceptAckType,
        String applicationAckType,
        String characterSet,
        int fieldCount) {

    /** The longest {@link #trigger()} an inbound message keeps ({@code inbound_message.message_type}). */
    public static final int MAX_TRIGGER = 16;
    /** The longest MSH-10 (HL7 2.7's ST length; {@code inbound_message.control_id}). */
    public static final int MAX_CONTROL_ID = 199;

    /**
     * Reads the MSH segment of {@code raw}; null when the text does not start with an MSH segment at all. Fields the
     * segment does not reach are empty strings.
     */
    public static Msh read(String raw) {
        int start = 0;
        while (start < raw.length() && Character.isWhitespace(raw.charAt(start))) {
            start++;
        }
        if (raw.length() - start < 8 || !raw.startsWith("MSH", start)) {
            return null;
        }
        char fs = raw.charAt(start + 3);
        if (Character.isLetterOrDigit(fs) || Character.isWhitespace(fs)) {
            return null;
        }
        int end = start;
        while (end < raw.length() && raw.charAt(end) != '\r' && raw.charAt(end) != '\n') {
            end++;
        }
        String seg = raw.substring(start, end);
        // split keeping empties; index i is MSH-(i+1) because MSH-1 is the separator itself
        String[] parts = split(seg, fs);
        String enc = parts.length > 1 ? parts[1] : "";
        char cs = enc.length() > 0 ? enc.charAt(0) : '^';
        return new Msh(fs, enc,
                first(field(parts, 3), cs), first(field(parts, 4), cs),
                first(field(parts, 5), cs), first(field(parts, 6), cs),
                first(field(parts, 7), cs),
                component(field(parts, 9), cs, 0), component(field(parts, 9), cs, 1),
                field(parts, 10).trim(), first(field(parts, 11), cs).trim(), first(field(parts, 12), cs).trim(),
                field(parts, 15).trim(), field(parts, 16).trim(),
                firstRepetition(field(parts, 18), enc.length() > 1 ? enc.charAt(1) : '~').trim(), parts.length);
    }

    private static String firstRepetition(String field, char repetitionSeparator) {
        int at = field.indexOf(repetitionSeparator);
        return at < 0 ? field : field.substring(0, at);
    }

    private static String field(String[] parts, int mshField) {
        int i = mshField - 1;
        return i < parts.length ? parts[i] : "";
    }

    private static String first(String field, char cs) {
        return component(field, cs, 0);
    }

    private static String component(String field, char cs, int index) {
        int start = 0;
        for (int i = 0; i < index; i++) {
            int next = field.indexOf(cs, start);
            if (next < 0) {
                return "";
            }
            start = next + 1;
        }
        int end = field.indexOf(cs, start);
        return (end < 0 ? field.substring(start) : field.substring(start, end)).trim();
    }

    /** Splits on a literal character, keeping empty fields (no regex: this runs for every message). */
    private static String[] split(String s, char sep) {
        java.util.List<String> out = new java.util.ArrayList<>(24);
        int start = 0;
        for (int i = s.indexOf(sep); i >= 0; i = s.indexOf(sep, start)) {
            out.add(s.substring(start, i));
            start = i + 1;
        }
        out.add(s.substring(start));
        return out.toArray(String[]::new);
    }

    /** {@code ADT^A01} */
    public String trigger() {
        return messageType + "^" + triggerEvent;
    }

    /** Enhanced acknowledgement mode was asked for (MSH-15 or MSH-16 valued). */
    public boolean enhancedMode() {
        return !acceptAckType.isEmpty() || !applicationAckType.isEmpty();
    }
}
