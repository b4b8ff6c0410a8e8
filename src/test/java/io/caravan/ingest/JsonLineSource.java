package io.caravan.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.contact.ChangeRecord;
import io.caravan.contact.ContactPatch;
import io.caravan.contact.Identifier;
import io.caravan.contact.IntakeSource;
import io.caravan.contact.SourceMessage;
import java.io.IOException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;

/**
 * A second intake source kind, defined only in the tests: one JSON object per message,
 * {@code {"ref": "...", "mrn": "...", "email": "..."}}. It maps to the same change record HL7 v2 does, and nothing in
 * the hub knows it - the proof that a source plugs in through {@link IntakeSource} and {@link Intake} alone.
 * {@code "kind": "skip"} is a message it has no use for; a message without {@code mrn} fails, unless the "mapping" is
 * fixed by {@link #patientIdFallback} (then {@code patientId} is taken).
 */
public class JsonLineSource implements IntakeSource {

    public static final String KIND = "jsonline";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The fix for the bad mapping a replay test needs. */
    public static volatile boolean patientIdFallback;

    @Override
    public String kind() {
        return KIND;
    }

    @Override
    public SourceMessage read(byte[] raw, Instant receivedAt) {
        JsonNode n;
        try {
            n = JSON.readTree(raw);
        } catch (IOException e) {
            return new SourceMessage("json", "unknown", null, null,
                    new SourceMessage.Failed("parse:json", null, "parse", "not JSON"));
        }
        String ref = n.path("ref").asText(null);
        String type = n.path("kind").asText("person");
        String feed = n.path("feed").asText("json");
        String dedupe = feed + "|" + ref;
        if ("skip".equals(type)) {
            return new SourceMessage(feed, type, ref, dedupe, SourceMessage.IGNORED);
        }
        String mrn = n.path("mrn").asText(patientIdFallback ? n.path("patientId").asText(null) : null);
        if (mrn == null) {
            return new SourceMessage(feed, type, ref, dedupe,
                    new SourceMessage.Failed("mapping:mrn", "mrn", "missing", "no patient identifier"));
        }
        ContactPatch patch = new ContactPatch();
        patch.identifiers.add(new Identifier("JSONLINE", mrn, "MR"));
        if (n.hasNonNull("email")) {
            patch.fields.put("email", n.get("email").asText());
        }
        OffsetDateTime at = receivedAt.atOffset(ZoneOffset.UTC);
        return new SourceMessage(feed, type, ref, dedupe, new SourceMessage.Mapped(new ChangeRecord(feed, type, ref,
                "jsonline.received", at, true, patch, List.of(), Map.of("ref", String.valueOf(ref)))));
    }
}
