package io.caravan.mapping;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.caravan.contact.Contact;
import io.caravan.contact.ContactPatch;
import io.caravan.contact.ContactUpdates;
import io.caravan.contact.ChangeRecord;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;

/**
 * Runs one raw message through the real parse and mapping and renders what a user would check: the contact it
 * produces on an empty store, the fields it deletes, the identifiers a merge folds in, and the trigger event. Fields
 * that vary per run (ids, updatedAt) are left out.
 */
final class GoldenRender {

    static final ObjectMapper JSON = JsonMapper.builder()
            .addModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
            .serializationInclusion(JsonInclude.Include.NON_NULL)
            .build();

    static final MappingCatalog CATALOG = new MappingCatalog(Path.of("mappings/hl7v2"), Path.of("adapters"), "US",
            "UTC");
    private static final Hl7Mapper MAPPER = new Hl7Mapper();
    /** The receive time a golden message is mapped with (the event time of one that carries none). */
    static final Instant RECEIVED = Instant.parse("2026-03-01T15:00:00Z");

    private GoldenRender() {
    }

    static ChangeRecord map(String raw) throws Exception {
        Msh msh = Msh.read(raw);
        FeedMappings feed = CATALOG.feedFor(msh.sendingApplication(), msh.sendingFacility());
        MessageMapping mapping = feed.forTrigger(msh.trigger());
        if (mapping == null) {
            throw new IllegalArgumentException("no mapping for " + msh.trigger());
        }
        return MAPPER.map(Hl7Parsing.parse(raw), msh, feed, mapping, RECEIVED);
    }

    static ObjectNode render(String raw) throws Exception {
        return render(map(raw));
    }

    static ObjectNode render(ChangeRecord m) {
        Contact c = new Contact();
        m.patch().identifiers.forEach(i -> ContactUpdates.addIdentifier(c, i));
        if (m.demographics()) {
            ContactUpdates.applyDemographics(c, m.patch(), m.eventTime().toInstant(), null);
        }
        ObjectNode out = JSON.createObjectNode();
        out.put("feed", m.feed());
        out.put("trigger", m.sourceMessageType());
        ObjectNode contact = JSON.valueToTree(c);
        contact.remove("updatedAt");
        out.set("contact", contact);
        ArrayNode deletes = out.putArray("deletes");
        if (m.demographics()) {
            for (Map.Entry<String, Object> e : m.patch().fields.entrySet()) {
                if (e.getValue() == ContactPatch.DELETE) {
                    deletes.add(e.getKey());
                }
            }
            m.patch().attributes.forEach((k, v) -> {
                if (v == ContactPatch.DELETE) {
                    deletes.add("attribute:" + k);
                }
            });
            m.patch().restrictions.forEach((k, v) -> {
                if (!v) {
                    deletes.add("restriction:" + k);
                }
            });
        }
        if (!m.mergeFrom().isEmpty()) {
            out.set("mergeFrom", JSON.valueToTree(m.mergeFrom()));
        }
        ObjectNode event = out.putObject("event");
        event.put("type", m.eventType());
        event.put("occurredAt", m.eventTime().format(java.time.format.DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        event.putObject("source").put("feed", m.feed()).put("messageControlId", m.sourceRef());
        event.set("data", JSON.valueToTree(m.data()));
        return out;
    }
}
