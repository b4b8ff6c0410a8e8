package io.caravan.audit;

import io.caravan.system.Problems.NotFound;
import java.security.Principal;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/** The compliance API: the audit trail, its verification, and a patient's accounting of disclosures. */
@RestController
class AuditController {

    private final AuditTrail trail;
    private final MergedRecords contacts;
    private final PhiReads reads;
    private final Clock clock;

    AuditController(AuditTrail trail, MergedRecords contacts, PhiReads reads, Clock clock) {
        this.trail = trail;
        this.contacts = contacts;
        this.reads = reads;
        this.clock = clock;
    }

    /** Entries oldest first; page with {@code after} (the last seq seen). Details may name recipients: audited. */
    @GetMapping("/api/audit")
    List<AuditEntry> find(@RequestParam(required = false) UUID contact, @RequestParam(required = false) Instant from,
            @RequestParam(required = false) Instant to, @RequestParam(required = false) String action,
            @RequestParam(defaultValue = "0") long after, @RequestParam(defaultValue = "200") int limit,
            Principal who) {
        if (action != null && !action.matches("[a-z.]{1,48}")) {
            throw new IllegalArgumentException("action must be an audit action such as phi.read or consent.");
        }
        reads.record(who.getName(), contact, "audit", "filter");
        return trail.find(contact == null ? List.of() : lineage(contact), from, to, action, after, limit);
    }

    /** A contact's entries are those of every record merged into it too; an unknown id is searched as given. */
    private List<UUID> lineage(UUID contact) {
        List<UUID> records = contacts.withMerged(contact);
        if (records.isEmpty()) {
            return List.of(contact);
        }
        if (!records.contains(contact)) {
            List<UUID> withAsked = new java.util.ArrayList<>(records);
            withAsked.add(contact);
            return withAsked;
        }
        return records;
    }

    @GetMapping("/api/audit/verify")
    AuditTrail.Verification verify() {
        return trail.verify();
    }

    /** The accounting of disclosures for the six years before now (164.528(a)(1)), exempt ones marked. */
    @GetMapping("/api/contacts/{id}/disclosures")
    Map<String, Object> disclosures(@PathVariable UUID id, Principal who) {
        List<UUID> records = contacts.withMerged(id);
        if (records.isEmpty()) {
            throw new NotFound("no contact with this id");
        }
        UUID survivor = records.get(0);
        reads.record(who.getName(), survivor, "disclosures", "id");
        Instant since = clock.instant().atZone(ZoneOffset.UTC).minusYears(6).toInstant();
        // the merged-away records' disclosures are the patient's too (164.528): a merge must not hide them
        List<Disclosures.Accounted> list = trail.find(records, since, null, Actions.DISCLOSURE, 0, 1000)
                .stream().map(Disclosures::accounted).toList();
        return Map.of("contactId", survivor, "since", since, "disclosures", list);
    }
}
