package io.caravan.ingest;

import io.caravan.mapping.Msh;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Builds HL7 ACKs as text. Written by hand rather than with HAPI's {@code generateACK} because the hub must also
 * answer what HAPI cannot parse: the ACK echoes whatever MSH fields could be read.
 */
final class Acks {

    private static final DateTimeFormatter TS = DateTimeFormatter.ofPattern("yyyyMMddHHmmss.SSSZ");
    private static final AtomicLong SEQ = new AtomicLong(System.currentTimeMillis() * 1000);

    private Acks() {
    }

    /** An ACK for {@code msh} (null when unreadable) with MSA-1 {@code code}; error fields only when not accepted. */
    static String build(Msh msh, String code, String errorCode, String errorText, String errorLocation) {
        String version = msh != null && !msh.version().isEmpty() ? msh.version() : "2.5.1";
        StringBuilder sb = new StringBuilder(256);
        sb.append("MSH|^~\\&|")
                .append(clean(msh == null ? "" : msh.receivingApplication())).append('|')
                .append(clean(msh == null ? "" : msh.receivingFacility())).append('|')
                .append(clean(msh == null ? "" : msh.sendingApplication())).append('|')
                .append(clean(msh == null ? "" : msh.sendingFacility())).append('|')
                .append(ZonedDateTime.now().format(TS)).append("||ACK");
        if (msh != null && !msh.triggerEvent().isEmpty()) {
            sb.append('^').append(clean(msh.triggerEvent())).append("^ACK");
        }
        sb.append('|').append("CARAVAN").append(SEQ.incrementAndGet())
                .append('|').append(msh != null && !msh.processingId().isEmpty() ? clean(msh.processingId()) : "P")
                .append('|').append(clean(version)).append('\r');
        sb.append("MSA|").append(code).append('|').append(clean(msh == null ? "" : msh.controlId()));
        boolean error = !code.endsWith("A");
        if (error && errorText != null) {
            sb.append('|').append(clean(errorText));
        }
        sb.append('\r');
        if (error) {
            String[] loc = errorLocation == null ? new String[0] : errorLocation.split("\\^");
            if (version.startsWith("2.2") || version.startsWith("2.3") || version.startsWith("2.4")) {
                // ERR-1 (CM_ELD): segment^sequence^field^code&text&table
                sb.append("ERR|").append(loc.length > 0 ? String.join("^", loc) : "^^").append('^')
                        .append(errorCode).append('&').append(clean(errorText)).append("&HL70357\r");
            } else {
                sb.append("ERR||").append(loc.length > 0 ? String.join("^", loc) : "").append('|')
                        .append(errorCode).append('^').append(clean(errorText)).append("^HL70357|E\r");
            }
        }
        return sb.toString();
    }

    /** Keeps delimiters out of echoed and generated text. */
    private static String clean(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length() && b.length() < 200; i++) {
            char c = s.charAt(i);
            b.append(c == '|' || c == '^' || c == '~' || c == '\\' || c == '&' || c < ' ' ? ' ' : c);
        }
        return b.toString();
    }
}
