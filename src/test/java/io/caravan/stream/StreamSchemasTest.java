package io.caravan.stream;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import io.caravan.contact.Address;
import io.caravan.contact.Contact;
import io.caravan.contact.Identifier;
import io.caravan.contact.Name;
import io.caravan.contact.TriggerEvent;
import io.caravan.mapping.AdapterProfile;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The published JSON Schemas (config/schemas/streams) describe what the hub sends: the transformer's output and the
 * BAA form validate, and a payload with a field the schema does not name is rejected (the schemas are closed, as the
 * allow-list is).
 */
class StreamSchemasTest {

    static final ObjectMapper JSON = com.fasterxml.jackson.databind.json.JsonMapper.builder()
            .addModule(new com.fasterxml.jackson.datatype.jsr310.JavaTimeModule()).build();
    static final Path DIR = Path.of("config/schemas/streams");

    static JsonSchema schema(String file) throws Exception {
        SchemaValidatorsConfig cfg = SchemaValidatorsConfig.builder().formatAssertionsEnabled(true).build();
        try (InputStream in = Files.newInputStream(DIR.resolve(file))) {
            return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(in, cfg);
        }
    }

    static Contact contact(String birth) {
        Contact c = new Contact(UUID.randomUUID());
        c.identifiers.add(new Identifier("MERCY", "MR-1", "MR"));
        c.name = new Name("Schemaford", List.of("Sia"));
        c.birthDate = birth;
        c.gender = "female";
        c.email = "sia@example.org";
        c.phone = "+16175550100";
        c.language = "es";
        c.address = new Address(List.of("1 Main St"), "Boston", "MA", "03601", "US");
        return c;
    }

    @Test
    void theDeidentifiedFormMatchesItsSchema() throws Exception {
        JsonSchema schema = schema("trigger-event.deidentified.v1.json");
        SafeHarbor harbor = new SafeHarbor(SafeHarbor.Zip3List.census2010());
        for (String birth : List.of("1980-07-04", "1920-01-01", "2026", "unknown")) {
            Map<String, Object> out = harbor.deidentify(UUID.randomUUID(), "patient.discharged",
                    OffsetDateTime.parse("2026-03-14T09:30:00-05:00"), contact(birth), UUID.randomUUID());
            assertThat(schema.validate(JSON.valueToTree(out))).as(birth).isEmpty();
        }
        Map<String, Object> bare = harbor.deidentify(UUID.randomUUID(), "patient.Schemaford", null, null,
                UUID.randomUUID());
        assertThat(schema.validate(JSON.valueToTree(bare))).isEmpty();
    }

    @Test
    void theBaaFormWithEveryFieldMatchesItsSchema() throws Exception {
        JsonSchema schema = schema("trigger-event.baa.v1.json");
        StreamDestination d = new StreamDestination("partner", "webhook", "webhook:partner", "operations",
                Set.of("patient.registered"), null, new ArrayList<>(StreamDestinations.BAA_FIELDS), "signed", null,
                new AdapterProfile.Webhook(), null);
        StreamSubscriber s = new StreamSubscriber(d, null, null, null, null, null, null, null, null);
        TriggerEvent e = new TriggerEvent(UUID.randomUUID(), "patient.registered",
                OffsetDateTime.parse("2026-03-14T09:30:00-05:00"), new TriggerEvent.Source("epic", "T1", null),
                Map.of("location", "CLINIC"));
        Map<String, Object> out = s.baaPayload(UUID.randomUUID(), e, contact("1980-07-04"), UUID.randomUUID());
        Set<ValidationMessage> errors = schema.validate(JSON.valueToTree(out));
        assertThat(errors).isEmpty();
    }

    static StreamSubscriber subscriber(String baa, List<String> fields) {
        StreamDestination d = new StreamDestination("partner", "webhook", "webhook:partner", "operations",
                Set.of("contact.changed", "message.sent", "message.opened"), null, fields, baa, null,
                new AdapterProfile.Webhook(), null);
        return new StreamSubscriber(d, null, null, null, null, new SafeHarbor(SafeHarbor.Zip3List.census2010()),
                null, null, null);
    }

    static TriggerEvent changed(String... fields) {
        return new TriggerEvent(UUID.randomUUID(), TriggerEvent.CONTACT_CHANGED,
                OffsetDateTime.parse("2026-03-14T09:30:00-05:00"), new TriggerEvent.Source("epic", "T1", null),
                Map.of("fields", List.of(fields)));
    }

    static TriggerEvent message(String status) {
        return new TriggerEvent(UUID.randomUUID(), "message." + status, OffsetDateTime.parse("2026-03-14T09:30:00Z"),
                null, Map.of("message", UUID.randomUUID().toString(), "channel", "email", "purpose", "treatment",
                        "template", "appointment-reminder", "status", status));
    }

    @Test
    void contactChangesMatchTheirSchemasInBothForms() throws Exception {
        StreamSubscriber baa = subscriber("signed", new ArrayList<>(StreamDestinations.BAA_FIELDS));
        TriggerEvent e = changed("address", "attributes", "email", "name", "phone", "restrictions");
        Map<String, Object> listed = baa.baaPayload(UUID.randomUUID(), e, contact("1980-07-04"), UUID.randomUUID());
        assertThat(schema("contact-changed.baa.v1.json").validate(JSON.valueToTree(listed))).isEmpty();
        assertThat(listed.get("changed")).isEqualTo(List.of("address", "email", "name", "phone"));

        Map<String, Object> deid = baa.deidentified(UUID.randomUUID(), e, contact("1980-07-04"), UUID.randomUUID());
        assertThat(schema("contact-changed.deidentified.v1.json").validate(JSON.valueToTree(deid))).isEmpty();
        assertThat(deid.get("changed")).isEqualTo(List.of("address"));
        assertThat(JSON.writeValueAsString(deid)).doesNotContain("Schemaford", "Boston", "1 Main", "sia@",
                "5550100", "MR-1", "phone", "email");
    }

    @Test
    void messageEventsMatchTheirSchemasInBothFormsAndNameTheMessageByAReferenceOnly() throws Exception {
        StreamSubscriber s = subscriber("signed", List.of("contact.email", "event.data"));
        for (String status : List.of("sent", "delivered", "bounced", "opened", "clicked")) {
            TriggerEvent e = message(status);
            Map<String, Object> baa = s.baaPayload(UUID.randomUUID(), e, contact("1980-07-04"), UUID.randomUUID());
            assertThat(schema("message-status.baa.v1.json").validate(JSON.valueToTree(baa))).as(status).isEmpty();
            Map<String, Object> deid = s.deidentified(UUID.randomUUID(), e, contact("1980-07-04"), UUID.randomUUID());
            assertThat(schema("message-status.deidentified.v1.json").validate(JSON.valueToTree(deid))).as(status)
                    .isEmpty();
            String hubId = (String) e.data().get("message");
            assertThat(JSON.writeValueAsString(deid)).doesNotContain(hubId, "appointment-reminder");
            assertThat(((Map<?, ?>) deid.get("message")).get("ref"))
                    .isEqualTo(((Map<?, ?>) baa.get("message")).get("ref"))
                    .isEqualTo(EventKinds.messageRef("partner", hubId).toString());
        }
    }

    @Test
    void aFieldTheSchemaDoesNotNameIsRejected() throws Exception {
        JsonSchema schema = schema("trigger-event.deidentified.v1.json");
        Map<String, Object> out = new SafeHarbor(SafeHarbor.Zip3List.census2010()).deidentify(UUID.randomUUID(),
                "patient.registered", OffsetDateTime.parse("2026-03-14T09:30:00Z"), contact("1980-07-04"),
                UUID.randomUUID());
        JsonNode tree = JSON.valueToTree(out);
        ((com.fasterxml.jackson.databind.node.ObjectNode) tree.get("contact")).put("city", "Boston");
        assertThat(schema.validate(tree)).isNotEmpty();
        JsonNode old = JSON.valueToTree(out);
        ((com.fasterxml.jackson.databind.node.ObjectNode) old.get("contact")).put("age", "91");
        assertThat(schema.validate(old)).as("an age over 89 must be 90+").isNotEmpty();
    }
}
