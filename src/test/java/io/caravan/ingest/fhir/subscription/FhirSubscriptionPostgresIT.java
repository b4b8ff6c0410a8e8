package io.caravan.ingest.fhir.subscription;

import io.caravan.support.TestHub;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** The subscription story on the production profile: PostgreSQL, group commit without the journal, row locks. */
@ActiveProfiles("postgres")
class FhirSubscriptionPostgresIT extends FhirSubscriptionIT {

    @DynamicPropertySource
    static void postgres(DynamicPropertyRegistry r) {
        TestHub.namedPostgres("fhir-subscriptions").register(r);
    }
}
