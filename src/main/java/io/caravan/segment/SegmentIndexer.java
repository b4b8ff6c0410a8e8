package io.caravan.segment;

import io.caravan.contact.Contact;
import io.caravan.contact.ContactStore;
import io.caravan.contact.ContactStore.LoggedEvent;
import io.caravan.eventlog.EventSubscriber;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.springframework.stereotype.Component;

/**
 * Keeps the attribute index current: an event-log subscriber with its own cursor ({@code segment-index}). For each
 * event it reads the contact once (the only decryption of a contact's record the index ever needs), derives the
 * indexed attributes, stores them sealed, updates the arrays in memory and re-tests the contact's segments - all in
 * the transaction that moves its cursor. The segment events it raises itself are skipped. It takes the log in runs
 * ({@link #onEvents}): one transaction, one read of the contacts and their stored rows per run.
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

    /** A run of events in one transaction: the owners, contacts and stored attributes read once for the run. */
    @Override
    public boolean batches() {
        return true;
    }

    @Override
    public void onEvents(List<LoggedEvent> events) {
        List<LoggedEvent> wanted = events.stream().filter(e -> !e.event().type().startsWith("segment.")).toList();
        Map<LoggedEvent, Contact> holders = contacts.holders(wanted);
        List<Segments.Indexing> run = new ArrayList<>(wanted.size());
        for (LoggedEvent e : wanted) {
            Contact c = holders.get(e);
            if (c != null) {
                run.add(new Segments.Indexing(e.contactId(), c, e.event()));
            }
        }
        segments.indexedAll(run);
    }

    @Override
    public void onEvent(LoggedEvent logged) {
        if (logged.event().type().startsWith("segment.")) {
            return;
        }
        Optional<UUID> owner = contacts.eventOwner(logged.contactId(), logged.event().id());
        if (owner.isEmpty()) {
            return;
        }
        Optional<Contact> found = contacts.findById(owner.get());
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
