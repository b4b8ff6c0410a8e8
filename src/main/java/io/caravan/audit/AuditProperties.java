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
 * @param fsync     (default true) on H2, force each group of entries to the disk (CHECKPOINT SYNC: survives power
 *                  loss); false: each group is only written to the file (survives a killed process, not power
 *                  loss). PostgreSQL fsyncs its commits either way.
 * @param checkpointFile where the chain's head is anchored outside the database (a MACed line every minute while
 *                  the trail grows, and at start and stop); default {@code <data-dir>/audit/checkpoints.log}
 */
@Validated
@ConfigurationProperties("caravan.audit")
public record AuditProperties(Period retention, Boolean purge, Boolean fsync, java.nio.file.Path checkpointFile) {

    public AuditProperties(Period retention, Boolean purge, Boolean fsync) {
        this(retention, purge, fsync, null);
    }

    @org.springframework.boot.context.properties.bind.ConstructorBinding
    public AuditProperties {
        if (retention == null) {
            retention = Period.ofYears(6);
        }
        if (purge == null) {
            purge = true;
        }
        if (fsync == null) {
            fsync = true;
        }
        if (retention.toTotalMonths() < 72) {
            throw new IllegalArgumentException("caravan.audit.retention must be at least six years (P6Y)");
        }
    }
}
