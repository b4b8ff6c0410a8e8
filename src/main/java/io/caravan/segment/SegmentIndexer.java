package io.caravan.segment;

import io.caravan.contact.Contact;
import io.caravan.contact.ContactStore;
import io.caravan.contact.ContactStore.LoggedEvent;
import io.caravan.eventlog.EventSubscriber;
import java.util.Optional;
import java.util.UUID;
import org.springframework.stereotype.Component;

/**
 * Keeps the attribute index current: an event-log subscriber with its own cursor ({@code segment-index}). For each
 * event it reads the contact once (the only decryption of a contact's record the index ever needs), derives the
 * indexed attributes, stores them sealed, updates the arrays in memory and re-tests the contact's segments - all in
 * the transaction that moves its cursor. The segment events it raises itself are skipped.
 */
@Component
class SegmentIndexer implements EventSubscriber {

    static final String SUBSCRIBER = "segment-index";

    private final ContactStore contacts;
    private final Segments segments;

    SegmentIndexer(ContactStore contacts, Segments segments) {
        this.contacts = contacts;
        this.segments = segments;
    }

    @Override
    public String subscriberName() {
        return SUBSCRIBER;
    }

    /** A run of events in one transaction: one cursor move and one commit for the run, not one per event. */
    @Override
    public boolean batches() {
        return true;
    }

    /** Every event but the index's own: a segment's facts come from any of them. */
    @Override
    public boolean wants(String type) {
        return !type.startsWith("segment.");
    }

    @Override
    public void onEvent(LoggedEvent logged) {
        if (!wants(logged.type())) {
            return;
        }
        Optional<UUID> owner = contacts.eventOwner(logged.contactId(), logged.event().id());
        if (owner.isEmpty()) {
            return;
        }
        // the other readers of the log read the same contact for the same event: decrypted once while it is unchanged
        Optional<Contact> found = contacts.findForSend(owner.get());
        if (found.isEmpty()) {
            return;
        }
        Contact c = found.get();
        if (!c.id.equals(logged.contactId()) && segments.stored(logged.contactId()) != null) {
            // the event's contact was merged into c: its row goes, c's takes in what it knew
            segments.forget(logged.contactId());
        }
        IndexedAttributes before = segments.stored(c.id);
        segments.indexed(c.id, before, IndexedAttributes.after(before, c, logged.event()));
    }
}
