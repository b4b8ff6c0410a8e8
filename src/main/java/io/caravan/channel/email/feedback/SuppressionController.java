package io.caravan.channel.email.feedback;

import io.caravan.channel.Suppressions;
import io.caravan.consent.ConsentService;
import io.caravan.contact.Contact;
import io.caravan.system.Problems.NotFound;
import java.security.Principal;
import java.util.UUID;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code DELETE /api/contacts/{id}/email-suppression} (compliance): sends to the contact's current address again after
 * it was suppressed (the patient fixed the mailbox, or the refusal was a mistake). The address is looked up from the
 * contact, never taken from the URL; the lifting is audited with the reason the suppression had.
 */
@RestController
class SuppressionController {

    /** What was lifted: the suppression's reason and time, never the address. */
    record Lifted(UUID contactId, String reason, UUID messageId, java.time.Instant suppressedAt) {
    }

    private final Suppressions suppressions;
    private final ConsentService consents;

    SuppressionController(Suppressions suppressions, ConsentService consents) {
        this.suppressions = suppressions;
        this.consents = consents;
    }

    @DeleteMapping("/api/contacts/{id}/email-suppression")
    Lifted lift(@PathVariable UUID id, Principal who) {
        Contact c = consents.requireContact(id);
        if (c.email == null || c.email.isBlank()) {
            throw new NotFound("the contact has no email address");
        }
        Suppressions.Suppression s = suppressions.lift("email", c.id, c.email, who.getName())
                .orElseThrow(() -> new NotFound("the contact's email address is not suppressed"));
        return new Lifted(c.id, s.reason(), s.messageId(), s.at());
    }
}
