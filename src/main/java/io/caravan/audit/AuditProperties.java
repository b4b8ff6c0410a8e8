package io.caravan.audit;

import java.time.Period;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.annotation.Validated;

/**
 * The audit trail.
 *
 * @param retention how long entries are kept; the daily purge removes older ones and records an anchor so the rest
 *                  of the chain still verifies. HIPAA asks for six years (45 CFR 164.316(b)(2)): shorter is refused.
 * @param purge     whether the daily purge runs
 * @param fsync     on H2, force each group of entries to the disk (CHECKPOINT SYNC: survives power loss); without
 *                  it each group is written to the file (survives a killed process). PostgreSQL fsyncs its commits.
 */
@Validated
@ConfigurationProperties("caravan.audit")
public record AuditProperties(Period retention, Boolean purge, Boolean fsync) {

    public AuditProperties {
        if (retention == null) {
            retention = Period.ofYears(6);
        }
        if (purge == null) {
            purge = true;
        }
        if (fsync == null) {
            fsync = false;
        }
        if (retention.toTotalMonths() < 72) {
            throw new IllegalArgumentException("caravan.audit.retention must be at least six years (P6Y)");
        }
    }
}
