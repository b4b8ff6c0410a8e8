package io.caravan.audit;

import java.util.List;
import java.util.UUID;

/**
 * The records whose audit entries are one patient's: a contact and every record merged into it. The contact store
 * answers it; the audit trail sits below every package that audits, so it asks through this interface instead of
 * depending on the store.
 */
public interface MergedRecords {

    /** The survivor's id first, then every record merged into it; empty when there is no such contact. */
    List<UUID> withMerged(UUID id);
}
