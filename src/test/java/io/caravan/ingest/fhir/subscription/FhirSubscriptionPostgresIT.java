package io.caravan.ingest.fhir.subscription;

import io.caravan.support.TestHub;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** The subscription story on the production profile: PostgreSQL, group commit without the journal, row locks. */
@ActiveProfiles("postgres")
class FhirSubscriptionPostgresIT extends FhirSubscriptionIT {

    /** This hub's store; the H2 class's method of the same signature registers its own (see its DirtiesContext). */
    @DynamicPropertySource
    static void hubProps(DynamicPropertyRegistry r) {
        TestHub.namedPostgres("fhir-subscriptions").register(r);
    }
}
