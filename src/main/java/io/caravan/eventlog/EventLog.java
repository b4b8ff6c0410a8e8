package io.caravan.eventlog;

import io.caravan.contact.ContactStore.LoggedEvent;
import java.util.Collection;
import java.util.List;

/**
 * The trigger events, partitioned by contact: a contact's events are all in one partition, at positions 1, 2, 3… in
 * the order they were committed; partitions are independent. Subscribers never read it directly: {@link
 * Subscriptions} reads for them and keeps their cursors, one per partition. Today the contact store's table is the
 * log; a multi-node deployment can back it with a Kafka topic of as many partitions (a partition's position is the
 * record's offset + 1) behind this same interface - README "Event log".
 */
public interface EventLog {

    /** The number of partitions; fixed once the log holds events. */
    int partitions();

    /** At most {@code max} events of a partition after position {@code after}, oldest first, for {@code subscriber}. */
    List<LoggedEvent> read(String subscriber, int partition, long after, int max);

    /** The events of a partition at these positions (a subscriber's retries), oldest first; gone ones left out. */
    List<LoggedEvent> readAt(String subscriber, int partition, Collection<Long> positions);

    /**
     * The last position appended to each partition, by partition number: where a subscriber registered from now on
     * starts, and what a cursor behind it has yet to read.
     */
    List<Long> heads();

    /**
     * Whether the partition holds an event of this contact after position {@code after}. This default reads the events;
     * a log that can answer from an index does.
     */
    default boolean hasEventOf(java.util.UUID contactId, int partition, long after) {
        for (long from = after;;) {
            List<LoggedEvent> run = read(null, partition, from, 500);
            if (run.isEmpty()) {
                return false;
            }
            if (run.stream().anyMatch(e -> contactId.equals(e.contactId()))) {
                return true;
            }
            from = run.get(run.size() - 1).position();
        }
    }
}
