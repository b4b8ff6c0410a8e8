package io.caravan.audit;

import io.caravan.support.TestHub;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** Tampering with the audit trail on the embedded store (H2). */
class AuditTamperIT extends AuditTamperContract {

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        TestHub.named("audit-tamper").register(r);
    }

    @Override
    TestHub hub() {
        return TestHub.named("audit-tamper");
    }
}
