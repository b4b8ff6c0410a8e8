package io.caravan.ingest;

import java.util.ArrayList;
import java.util.List;
import org.springframework.stereotype.Component;

/**
 * Splits a file's text into the HL7 v2 messages it holds: one message, a batch (FHS/BHS ... BTS/FTS) or plain
 * concatenated messages. Files are written by people and scripts, so lines may end in CR, LF or CRLF; segments are
 * joined with CR as MLLP carries them. Batch envelope segments are dropped (they carry no patient data and the hub
 * does not answer batches with a batch ACK: the outcome file does that job).
 */
@Component("hl7Batch")
public class Hl7Batch {

    private static final java.util.Set<String> ENVELOPE = java.util.Set.of("FHS", "BHS", "BTS", "FTS");

    public List<String> messages(String text) {
        List<String> messages = new ArrayList<>();
        StringBuilder current = null;
        for (String segment : text.split("\r\n|\r|\n")) {
            if (segment.isBlank()) {
                continue;
            }
            String name = segment.length() >= 3 ? segment.substring(0, 3) : segment;
            if (ENVELOPE.contains(name) && (segment.length() == 3 || !Character.isLetterOrDigit(segment.charAt(3)))) {
                if (current != null) {
                    messages.add(current.toString());
                    current = null;
                }
                continue;
            }
            if (name.equals("MSH") && current != null) {
                messages.add(current.toString());
                current = null;
            }
            // text before the first MSH stays a "message" of its own, so it is answered (AR) rather than dropped
            current = current == null ? new StringBuilder() : current;
            current.append(segment).append('\r');
        }
        if (current != null) {
            messages.add(current.toString());
        }
        return messages;
    }
}
