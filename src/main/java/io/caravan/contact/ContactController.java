package io.caravan.contact;

import io.caravan.audit.PhiReads;
import io.caravan.system.Problems.NotFound;
import java.security.Principal;
import java.util.List;
import java.util.UUID;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * The contact API of BRIEF.md. Identifiers travel in the query string as {@code SYSTEM|VALUE}, never in a path. Every
 * read is in the audit trail before the data is returned.
 */
@RestController
@RequestMapping("/api/contacts")
class ContactController {

    private final ContactStore store;
    private final PhiReads reads;

    ContactController(ContactStore store, PhiReads reads) {
        this.store = store;
        this.reads = reads;
    }

    @GetMapping
    List<Contact> byIdentifier(@RequestParam("identifier") String identifier, Principal who) {
        int bar = identifier.indexOf('|');
        if (bar < 0 || bar == identifier.length() - 1) {
            throw new IllegalArgumentException("identifier must be SYSTEM|VALUE");
        }
        String system = identifier.substring(0, bar);
        String value = identifier.substring(bar + 1);
        List<Contact> found = store.findByIdentifier(system, value).map(List::of).orElse(List.of());
        for (Contact c : found) {
            reads.record(who.getName(), c.id, "contact", "identifier");
        }
        return found;
    }

    @GetMapping("/{id}")
    Contact byId(@PathVariable UUID id, Principal who) {
        Contact c = store.findById(id).orElseThrow(() -> new NotFound("no contact with this id"));
        reads.record(who.getName(), c.id, "contact", "id");
        return c;
    }

    @GetMapping("/{id}/events")
    List<TriggerEvent> events(@PathVariable UUID id, Principal who) {
        Contact c = store.findById(id).orElseThrow(() -> new NotFound("no contact with this id"));
        reads.record(who.getName(), c.id, "events", "id");
        return store.events(c.id);
    }
}
