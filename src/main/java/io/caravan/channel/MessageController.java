package io.caravan.channel;

import io.caravan.audit.PhiReads;
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
    private final PhiReads reads;

    MessageController(Messages messages, MessageStore store, ConsentService consents, PhiReads reads) {
        this.messages = messages;
        this.store = store;
        this.consents = consents;
        this.reads = reads;
    }

    /** A sent (or delivered) message moves on to opened, then clicked, when a person (not a machine) did so. */
    private OutboundMessage withEngagement(OutboundMessage m) {
        if (m.status() != MessageStatus.SENT && m.status() != MessageStatus.DELIVERED) {
            return m;
        }
        MessageStatus status = messages.engaged(m.id(), "clicked") ? MessageStatus.CLICKED
                : messages.engaged(m.id(), "opened") ? MessageStatus.OPENED : m.status();
        return new OutboundMessage(m.id(), m.contactId(), m.channel(), m.purpose(), m.template(), status,
                m.protection(), m.reasons(), m.createdAt(), m.updatedAt());
    }

    @PostMapping("/api/messages")
    ResponseEntity<OutboundMessage> plan(@RequestBody Messages.Request request, Principal who) {
        OutboundMessage m = messages.plan(request, who.getName());
        return ResponseEntity.accepted().location(URI.create("/api/messages/" + m.id())).body(m);
    }

    // A template's name can say what the patient is treated for (diabetes-education): reading one is a PHI read.
    @GetMapping("/api/messages/{id}")
    OutboundMessage status(@PathVariable UUID id, Principal who) {
        OutboundMessage m = store.find(id).orElseThrow(() -> new NotFound("no message with this id"));
        reads.record(who.getName(), m.contactId(), "message", "id");
        return withEngagement(m);
    }

    @GetMapping("/api/contacts/{id}/messages")
    List<OutboundMessage> forContact(@PathVariable UUID id, Principal who) {
        UUID contact = consents.requireContact(id).id;
        reads.record(who.getName(), contact, "messages", "id");
        return store.forContact(contact).stream().map(this::withEngagement).toList();
    }
}
