package io.caravan.ingest.fhir;

import io.caravan.mapping.MappingCatalog;
import io.caravan.mapping.MappingProperties;
import io.caravan.mapping.fhir.FhirMappings;
import java.nio.file.Path;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The FHIR source: its mappings (validated at start-up, like the HL7 ones) and the {@code fhir} intake kind. */
@Configuration
class FhirConfig {

    @Bean
    FhirMappings fhirMappings(@Value("${caravan.fhir.mappings-dir:mappings/fhir}") Path dir,
            MappingProperties mapping) {
        return new FhirMappings(dir, mapping.phoneRegion());
    }

    @Bean
    FhirSource fhirSource(FhirMappings mappings, MappingCatalog catalog) {
        return new FhirSource(mappings, catalog);
    }

    @Bean
    FhirResourceIntake fhirResourceIntake(FhirSource source, io.caravan.ingest.Intake intake) {
        return new FhirResourceIntake(source, intake);
    }

    /** No credentials for calls to FHIR servers unless the adapters' auth provides a header. */
    @Bean
    @org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean
    FhirServerAuth fhirServerAuth() {
        return FhirServerAuth.NONE;
    }
}
