package io.caravan.channel;

import io.caravan.consent.ConsentService;
import io.caravan.system.Problems.NotFound;
import java.net.URI;
import java.security.Principal;
import java.util.List;
import java.util.UUID;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

/** {@code POST /api/messages} → 202 with the message; its status, and a contact's messages. */
@RestController
class MessageController {

    private final Messages messages;
    private final MessageStore store;
    private final ConsentService consents;

    MessageController(Messages messages, MessageStore store, ConsentService consents) {
        this.messages = messages;
        this.store = store;
        this.consents = consents;
    }

    @PostMapping("/api/messages")
    ResponseEntity<OutboundMessage> plan(@RequestBody Messages.Request request, Principal who) {
        OutboundMessage m = messages.plan(request, who.getName());
        return ResponseEntity.accepted().location(URI.create("/api/messages/" + m.id())).body(m);
    }

    @GetMapping("/api/messages/{id}")
    OutboundMessage status(@PathVariable UUID id) {
        return store.find(id).orElseThrow(() -> new NotFound("no message with this id"));
    }

    @GetMapping("/api/contacts/{id}/messages")
    List<OutboundMessage> forContact(@PathVariable UUID id) {
        return store.forContact(consents.requireContact(id).id);
    }
}
