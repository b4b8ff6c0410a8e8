package io.caravan.eventlog;

import io.caravan.contact.ContactStore;
import io.caravan.contact.LoggedKinds;
import io.caravan.contact.TriggerEvent;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.stereotype.Component;

/**
 * The log's append path for what happens downstream of the contact store - a message's status, an open, a click:
 * the caller's change and its log entry commit in the caller's transaction, so neither is there without the other.
 * The entry takes the next position of the contact's partition as the contact writer's group commits do, and is
 * sealed like every trigger event. Only kinds some reader wants are appended ({@link LoggedKinds}).
 */
@Component
public class EventAppends {

    private final ContactStore store;
    private final ObjectProvider<LoggedKinds> kinds;
    private volatile List<LoggedKinds> readers;

    public EventAppends(ContactStore store, ObjectProvider<LoggedKinds> kinds) {
        this.store = store;
        this.kinds = kinds;
    }

    /** Whether a reader wants this kind (see {@link LoggedKinds}): when none does, nothing is appended. */
    public boolean wanted(String type) {
        List<LoggedKinds> k = readers;
        if (k == null) {
            // the readers come from files read at start: looked up once, not on every status change
            k = kinds.orderedStream().toList();
            readers = k;
        }
        return k.stream().anyMatch(r -> r.wanted(type));
    }

    /** Appends an event of {@code contactId} to its partition; must run inside the caller's transaction. */
    public void append(UUID contactId, TriggerEvent e, Instant recordedAt) {
        store.appendToLog(contactId, e, recordedAt);
    }
}
