package io.caravan.ingest;

import io.caravan.support.TestHub;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** The same MLLP contract on the production profile: a real PostgreSQL server. */
@ActiveProfiles("postgres")
class MllpIngestPostgresIT extends MllpIngestContract {

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        TestHub.postgres().register(r);
    }

    @Override
    TestHub hub() {
        return TestHub.postgres();
    }
}
