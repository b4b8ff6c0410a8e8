package io.caravan.consent;

import io.caravan.audit.PhiReads;
import java.net.URI;
import java.security.Principal;
import java.util.List;
import java.util.UUID;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/** Consent records and decisions of one contact (BRIEF.md). */
@RestController
@RequestMapping("/api/contacts/{id}")
class ConsentController {

    private final ConsentService consents;
    private final PhiReads reads;

    ConsentController(ConsentService consents, PhiReads reads) {
        this.consents = consents;
        this.reads = reads;
    }

    @PostMapping("/authorizations")
    ResponseEntity<ConsentRecord> authorize(@PathVariable UUID id, @RequestBody ConsentForms.Authorization form,
            Principal who) {
        return created(id, "authorizations", consents.authorize(id, form, who.getName()));
    }

    @PostMapping("/consents")
    ResponseEntity<ConsentRecord> consent(@PathVariable UUID id, @RequestBody ConsentForms.ChannelConsent form,
            Principal who) {
        return created(id, "consents", consents.consent(id, form, who.getName()));
    }

    @PostMapping("/opt-outs")
    ResponseEntity<ConsentRecord> optOut(@PathVariable UUID id, @RequestBody ConsentForms.OptOut form,
            Principal who) {
        return created(id, "opt-outs", consents.optOut(id, form, who.getName()));
    }

    /** Revokes an authorization or consent, or lifts an opt-out. */
    @PostMapping("/{kind:authorizations|consents|opt-outs}/{recordId}/revocation")
    ConsentRecord revoke(@PathVariable UUID id, @PathVariable String kind, @PathVariable UUID recordId,
            @RequestBody(required = false) ConsentForms.Revocation form, Principal who) {
        String k = switch (kind) {
            case "authorizations" -> ConsentRecord.AUTHORIZATION;
            case "consents" -> ConsentRecord.CONSENT;
            default -> ConsentRecord.OPT_OUT;
        };
        return consents.revoke(id, k, recordId, form, who.getName());
    }

    /** Every record on file for the contact, with what was signed and the evidence. */
    @GetMapping("/consent-records")
    List<ConsentRecord> records(@PathVariable UUID id, Principal who) {
        List<ConsentRecord> records = consents.records(id);
        reads.record(who.getName(), id, "consent-records", "id");
        return records;
    }

    /** The gate's decision, as a route would get it; audited like every decision. */
    @GetMapping("/decision")
    Decision decision(@PathVariable UUID id, @RequestParam String purpose, @RequestParam String channel,
            @RequestParam(defaultValue = Decision.PHI) String content,
            @RequestParam(defaultValue = "false") boolean remuneration, Principal who) {
        // an unknown contact is a 404 here rather than a bare deny
        return consents.decide(consents.requireContact(id), new DecisionRequest(purpose, channel, content,
                remuneration, List.of()), who.getName(), ConsentService.Stage.API);
    }

    private static ResponseEntity<ConsentRecord> created(UUID contact, String kind, ConsentRecord r) {
        return ResponseEntity.status(HttpStatus.CREATED)
                .location(URI.create("/api/contacts/" + contact + "/" + kind + "/" + r.id())).body(r);
    }
}
