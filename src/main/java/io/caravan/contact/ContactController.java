package io.caravan.contact;

import io.caravan.system.Problems.NotFound;
import java.util.List;
import java.util.UUID;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/** The contact API of BRIEF.md. Identifiers travel in the query string as {@code SYSTEM|VALUE}, never in a path. */
@RestController
@RequestMapping("/api/contacts")
class ContactController {

    private final ContactStore store;

    ContactController(ContactStore store) {
        this.store = store;
    }

    @GetMapping
    List<Contact> byIdentifier(@RequestParam("identifier") String identifier) {
        int bar = identifier.indexOf('|');
        if (bar < 0 || bar == identifier.length() - 1) {
            throw new IllegalArgumentException("identifier must be SYSTEM|VALUE");
        }
        String system = identifier.substring(0, bar);
        String value = identifier.substring(bar + 1);
        return store.findByIdentifier(system, value).map(List::of).orElse(List.of());
    }

    @GetMapping("/{id}")
    Contact byId(@PathVariable UUID id) {
        return store.findById(id).orElseThrow(() -> new NotFound("no contact with this id"));
    }

    @GetMapping("/{id}/events")
    List<TriggerEvent> events(@PathVariable UUID id) {
        Contact c = store.findById(id).orElseThrow(() -> new NotFound("no contact with this id"));
        return store.events(c.id);
    }
}
