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

    /** Plain HTTP calls to an adapter's FHIR server (Bulk Data, id-only reads, $events) use the adapter's auth and trust. */
    @Bean
    FhirServerAuth fhirServerAuth(FhirClients clients) {
        return new FhirServerAuth() {
            @Override
            public String authorization(io.caravan.mapping.AdapterProfile adapter) {
                return clients.has(adapter.id) ? clients.auth(adapter.id).authorizationHeader() : null;
            }

            @Override
            public java.net.http.HttpClient httpClient(io.caravan.mapping.AdapterProfile adapter) {
                return clients.has(adapter.id) ? clients.httpClient(adapter.id) : null;
            }
        };
    }
}
