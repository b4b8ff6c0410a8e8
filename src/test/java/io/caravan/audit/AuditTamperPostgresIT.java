package io.caravan.audit;

import io.caravan.support.TestHub;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** Tampering with the audit trail on PostgreSQL (the production profile). */
@ActiveProfiles("postgres")
class AuditTamperPostgresIT extends AuditTamperContract {

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        TestHub.namedPostgres("audit-tamper").register(r);
    }

    @Override
    TestHub hub() {
        return TestHub.namedPostgres("audit-tamper");
    }
}
