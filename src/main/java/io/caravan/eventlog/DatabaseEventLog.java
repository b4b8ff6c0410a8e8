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
    public int partitions() {
        return store.logPartitions();
    }

    @Override
    public List<LoggedEvent> read(String subscriber, int partition, long after, int max) {
        return store.logAfter(partition, after, max);
    }

    @Override
    public List<LoggedEvent> readAt(String subscriber, int partition, Collection<Long> positions) {
        return store.logAt(partition, positions);
    }

    @Override
    public List<Long> heads() {
        return store.logHeads();
    }

    @Override
    public boolean hasEventOf(java.util.UUID contactId, int partition, long after) {
        return store.logHasEventOf(contactId, partition, after);
    }
}
