package io.caravan.ingest;

import io.caravan.support.TestHub;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** The MLLP contract on the embedded default store (H2 file). */
class MllpIngestIT extends MllpIngestContract {

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        TestHub.h2().register(r);
    }

    @Override
    TestHub hub() {
        return TestHub.h2();
    }
}
