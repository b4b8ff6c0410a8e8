package io.caravan.audit;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;

/** One entry of the audit trail as the compliance API shows it (details opened). */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record AuditEntry(long seq, UUID id, Instant at, String actor, String action, UUID contactId, String purpose,
        String channel, String outcome, Map<String, Object> details) {
}
