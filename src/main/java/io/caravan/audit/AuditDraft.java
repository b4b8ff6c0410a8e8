package io.caravan.audit;

import io.caravan.system.Ids;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * An audit entry before it joins the chain. The clear fields carry no PHI (ids, role names, codes); anything that
 * could identify or describe a patient goes into {@link #detail}, which is sealed.
 */
public final class AuditDraft {

    final UUID id;
    Instant at;
    final String actor;
    final String action;
    UUID contactId;
    String purpose;
    String channel;
    String outcome;
    final Map<String, Object> details = new LinkedHashMap<>();

    private AuditDraft(UUID id, String actor, String action) {
        this.id = id;
        this.actor = actor;
        this.action = action;
    }

    /** {@code actor}: a user name, or a system part such as {@code hl7:<feed>} or {@code route:deliver-email}. */
    public static AuditDraft of(String actor, String action) {
        return new AuditDraft(Ids.next(), actor, action);
    }

    static AuditDraft restored(UUID id, Instant at, String actor, String action) {
        AuditDraft d = new AuditDraft(id, actor, action);
        d.at = at;
        return d;
    }

    public AuditDraft contact(UUID contactId) {
        this.contactId = contactId;
        return this;
    }

    public AuditDraft purpose(String purpose) {
        this.purpose = purpose;
        return this;
    }

    public AuditDraft channel(String channel) {
        this.channel = channel;
        return this;
    }

    public AuditDraft outcome(String outcome) {
        this.outcome = outcome;
        return this;
    }

    public AuditDraft at(Instant at) {
        this.at = at;
        return this;
    }

    public AuditDraft detail(String key, Object value) {
        if (value != null) {
            details.put(key, value);
        }
        return this;
    }

    public UUID id() {
        return id;
    }

    public String action() {
        return action;
    }
}
