package io.caravan.segment;

import io.caravan.contact.Contact;
import io.caravan.contact.ContactStore;
import io.caravan.contact.ContactStore.LoggedEvent;
import io.caravan.eventlog.EventSubscriber;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.springframework.stereotype.Component;

/**
 * Keeps the attribute index current: an event-log subscriber with its own cursor ({@code segment-index}). For each
 * event it reads the contact once (the only decryption of a contact's record the index ever needs), derives the
 * indexed attributes from those it holds and the event, stores them sealed, updates the arrays in memory and re-tests
 * the contact's segments - all in the transaction that moves its cursor. The segment events it raises itself are
 * skipped.
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
        Optional<UUID> owner = contacts.eventOwner(logged.contactId(), logged.id());
        if (owner.isPresent()) {
            // the other readers of the log read the same contact for the same event: decrypted once while unchanged
            contacts.findForSend(owner.get()).ifPresent(c -> index(logged, c));
        }
    }

    /**
     * A run: the events' owners and the memberships of the run's contacts are read once for the run, not once for
     * each event (they were half of the index's reads).
     */
    @Override
    public void onEvents(List<LoggedEvent> events) {
        List<LoggedEvent> wanted = events.stream().filter(e -> wants(e.type())).toList();
        if (wanted.isEmpty()) {
            return;
        }
        Map<UUID, UUID> owners = contacts.eventOwners(wanted);
        segments.readMemberships(owners.values());
        for (LoggedEvent e : wanted) {
            UUID owner = owners.get(e.id());
            // the contact at its event, not at the run's start: a merge committed meanwhile reads as the survivor
            if (owner != null) {
                contacts.findForSend(owner).ifPresent(c -> index(e, c));
            }
        }
    }

    /** The event of {@code logged}, now held by {@code c} (the event's contact, or the survivor of a merge). */
    private void index(LoggedEvent logged, Contact c) {
        if (!c.id.equals(logged.contactId()) && segments.current(logged.contactId()) != null) {
            // the event's contact was merged into c: its row goes, c's takes in what it knew
            segments.forget(logged.contactId());
        }
        IndexedAttributes before = segments.current(c.id);
        segments.indexed(c.id, before, IndexedAttributes.after(before, c, logged.event()));
    }
}
