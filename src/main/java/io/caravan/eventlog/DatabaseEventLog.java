package io.caravan.eventlog;

import io.caravan.contact.ContactStore;
import io.caravan.contact.ContactStore.LoggedEvent;
import java.util.Collection;
import java.util.List;
import org.springframework.stereotype.Component;

/** The log on the hub's own database: the contact store's trigger events, read through its methods. */
@Component
class DatabaseEventLog implements EventLog {

    private final ContactStore store;

    DatabaseEventLog(ContactStore store) {
        this.store = store;
    }

    @Override
    public List<LoggedEvent> read(String subscriber, long after, int max) {
        return store.logAfter(after, max);
    }

    @Override
    public List<LoggedEvent> readAt(String subscriber, Collection<Long> positions) {
        return store.logAt(positions);
    }

    @Override
    public long head() {
        return store.logHead();
    }
}
