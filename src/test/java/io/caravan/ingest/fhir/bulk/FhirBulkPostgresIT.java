package io.caravan.ingest.fhir.bulk;

import io.caravan.support.TestHub;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** Bulk Data exports on the production profile: PostgreSQL, group commit without the journal. */
@ActiveProfiles("postgres")
class FhirBulkPostgresIT extends FhirBulkIT {

    /** This hub's store; the H2 class's method of the same signature registers its own (see its DirtiesContext). */
    @DynamicPropertySource
    static void hubProps(DynamicPropertyRegistry r) {
        TestHub.namedPostgres("fhir-bulk").register(r);
    }
}
