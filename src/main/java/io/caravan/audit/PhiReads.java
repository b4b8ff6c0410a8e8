package io.caravan.audit;

import java.util.UUID;
import org.springframework.stereotype.Component;

/**
 * Records each read of PHI through the API (who, when, what) before the data is returned: a read that cannot be
 * audited is refused.
 */
@Component
public class PhiReads {

    private final AuditLog audit;

    public PhiReads(AuditLog audit) {
        this.audit = audit;
    }

    /** {@code resource}: what was read (contact, events, consent-records, disclosures, audit); never a value. */
    public void record(String actor, UUID contactId, String resource, String via) {
        audit.appendAndWait(AuditDraft.of(actor, Actions.PHI_READ).contact(contactId).outcome(resource)
                .detail("via", via));
    }
}
