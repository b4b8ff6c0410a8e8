package io.caravan.contact;

import java.security.Principal;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code POST /api/contacts/{id}/split} (role compliance; admin has it): gives MRNs wrongly linked to one contact
 * their own contacts again. Body: {@code identifiers} (a list of {@code SYSTEM|VALUE}; omitted or empty = every
 * linking identifier beyond the first of its assigning authority) and a required {@code reason} (audited). See
 * {@link ContactSplit}.
 */
@RestController
class SplitController {

    /** The request body. */
    record SplitRequest(List<String> identifiers, String reason) {
    }

    private final ContactSplit split;

    SplitController(ContactSplit split) {
        this.split = split;
    }

    @PostMapping("/api/contacts/{id}/split")
    Map<String, Object> split(@PathVariable UUID id, @RequestBody SplitRequest body, Principal who) {
        if (body == null || body.reason() == null || body.reason().isBlank() || body.reason().length() > 500) {
            throw new IllegalArgumentException("reason is required (up to 500 characters)");
        }
        List<Identifier> ids = body.identifiers() == null ? List.of()
                : body.identifiers().stream().map(ContactSplit::parse).toList();
        ContactSplit.Result r = split.split(id, ids, who.getName(), body.reason());
        return Map.of("contactId", r.contactId(), "newContacts", List.copyOf(r.split().values()),
                "messagesMoved", r.messagesMoved());
    }
}
