package io.caravan.contact;

import io.caravan.support.TestHub;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** The identity contract on the production profile: a real PostgreSQL server, group commit without the journal. */
@ActiveProfiles("postgres")
class IdentityPostgresIT extends IdentityContract {

    static final TestHub HUB = TestHub.namedPostgres("identity");

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) throws Exception {
        register(HUB, r);
    }

    @Override
    TestHub hub() {
        return HUB;
    }
}
