package io.caravan.eventlog;

import io.caravan.contact.ContactStore.LoggedEvent;
import java.util.Collection;
import java.util.List;

/**
 * The trigger events in the order they were committed, each at a position. Subscribers never read it directly: {@link
 * Subscriptions} reads for them and keeps their cursors. Today the contact store's table is the log; a multi-node
 * deployment can back it with Kafka (partitioned by contact) behind this same interface - README "Event log".
 */
public interface EventLog {

    /** At most {@code max} events after position {@code after}, oldest first, for {@code subscriber}. */
    List<LoggedEvent> read(String subscriber, long after, int max);

    /** The events at these positions (a subscriber's retries), oldest first; positions no longer held are left out. */
    List<LoggedEvent> readAt(String subscriber, Collection<Long> positions);

    /** The last position appended: where a subscriber registered from now on starts. */
    long head();
}
