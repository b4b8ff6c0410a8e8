package io.caravan.ingest.fhir;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.contact.SourceMessage;
import io.caravan.mapping.MappingCatalog;
import io.caravan.mapping.fhir.FhirMappings;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.junit.jupiter.api.Test;

/**
 * What the {@code fhir} source stores is all it needs to read the resource again (crash recovery of the journal, a
 * replay, a split): the raw bytes it hands the intake step read back into the same change record, and a damaged
 * record reads as a failure, never an exception inside the writer's recovery.
 */
class FhirSourceTest {

    static final FhirSource SOURCE = new FhirSource(new FhirMappings(Path.of("mappings/fhir"), "US"),
            new MappingCatalog(Path.of("mappings/hl7v2"), Path.of("adapters"), "US", "UTC"));
    static final Instant RECEIVED = Instant.parse("2026-03-01T15:00:00Z");

    @Test
    void whatItStoresReadsBackIntoTheSameChangeRecord() throws Exception {
        IBaseResource patient = FhirSource.jsonParser().parseResource(Files.readString(
                Path.of("src/test/resources/golden/fhir/Patient/mercy-mrn-updated.json")));
        SourceMessage first = SOURCE.read("example-epic-fhir", patient, RECEIVED);
        SourceMessage again = SOURCE.read(FhirSource.raw("example-epic-fhir", patient), RECEIVED.plusSeconds(60));

        assertThat(first.change()).isNotNull();
        assertThat(again.change().patch().identifiers).isEqualTo(first.change().patch().identifiers)
                .anySatisfy(i -> assertThat(i.key()).isEqualTo("MERCY|MRN-GOLD-1"));
        assertThat(again.change().patch().fields).isEqualTo(first.change().patch().fields);
        assertThat(again.change().eventType()).isEqualTo("patient.updated");
        assertThat(again.change().eventTime()).isEqualTo(first.change().eventTime());
        assertThat(again.dedupeText()).isEqualTo(first.dedupeText());
        assertThat(again.feed()).isEqualTo("example-epic-fhir");
    }

    @Test
    void aDamagedRecordReadsAsAFailureNamingNoValue() {
        SourceMessage read = SOURCE.read("example-epic-fhir\n{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"Secret"
                .getBytes(StandardCharsets.UTF_8), RECEIVED);
        assertThat(read.failure()).isNotNull();
        assertThat(read.failure().toString()).doesNotContain("Secret");
    }
}
