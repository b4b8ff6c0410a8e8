package io.caravan.contact;

import io.caravan.support.TestHub;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** The identity contract on the embedded store (journal, H2). */
class IdentityIT extends IdentityContract {

    static final TestHub HUB = TestHub.named("identity");

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) throws Exception {
        register(HUB, r);
    }

    @Override
    TestHub hub() {
        return HUB;
    }
}
