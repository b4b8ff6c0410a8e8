package io.caravan.ingest.fhir;

import ca.uhn.fhir.parser.DataFormatException;
import ca.uhn.fhir.parser.IParser;
import ca.uhn.fhir.parser.LenientErrorHandler;
import io.caravan.contact.IntakeSource;
import io.caravan.contact.SourceMessage;
import io.caravan.mapping.AdapterProfile;
import io.caravan.mapping.MappingCatalog;
import io.caravan.mapping.fhir.FhirMappings;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.hl7.fhir.instance.model.api.IBaseResource;

/**
 * The {@code fhir} intake source: one FHIR R4 resource per stored message. What is stored (and sealed) is the adapter
 * id on the first line and the resource as JSON after it, so the resource can be read again - crash recovery, a
 * replay, a contact split - with the adapter's identifier systems and the mappings in force then.
 */
public class FhirSource implements IntakeSource {

    public static final String KIND = "fhir";

    private final FhirMappings mappings;
    private final MappingCatalog catalog;

    public FhirSource(FhirMappings mappings, MappingCatalog catalog) {
        this.mappings = mappings;
        this.catalog = catalog;
    }

    public FhirMappings mappings() {
        return mappings;
    }

    @Override
    public String kind() {
        return KIND;
    }

    /** A parser that neither throws nor logs for unknown elements or odd values: its log lines could quote them. */
    public static IParser jsonParser() {
        return FhirMappings.R4.newJsonParser().setParserErrorHandler(new LenientErrorHandler(false));
    }

    public static IParser xmlParser() {
        return FhirMappings.R4.newXmlParser().setParserErrorHandler(new LenientErrorHandler(false));
    }

    /** What is stored for one resource from {@code adapter}. */
    public static byte[] raw(String adapter, IBaseResource resource) {
        return (adapter + "\n" + jsonParser().encodeResourceToString(resource)).getBytes(StandardCharsets.UTF_8);
    }

    /** The adapter of {@code id}, when it is a FHIR one. */
    public AdapterProfile adapter(String id) {
        return catalog.adapters().stream().filter(a -> "fhir".equals(a.kind) && a.id.equals(id)).findFirst()
                .orElse(null);
    }

    @Override
    public SourceMessage read(byte[] raw, Instant receivedAt) {
        String text = new String(raw, StandardCharsets.UTF_8);
        int nl = text.indexOf('\n');
        String feed = nl < 0 ? "fhir" : text.substring(0, nl);
        IBaseResource resource;
        try {
            resource = jsonParser().parseResource(text.substring(nl + 1));
        } catch (DataFormatException | ClassCastException e) {
            return new SourceMessage(feed, "unknown", null, null,
                    new SourceMessage.Failed("parse:fhir", null, "structure", "not a FHIR R4 resource"));
        }
        return read(feed, resource, receivedAt);
    }

    /** Maps a resource already parsed (the direct POST parses once, to answer bad input before storing it). */
    public SourceMessage read(String feed, IBaseResource resource, Instant receivedAt) {
        return mappings.map(feed, adapter(feed), resource, receivedAt);
    }
}
