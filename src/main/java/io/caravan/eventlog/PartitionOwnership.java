package io.caravan.eventlog;

import java.util.function.IntPredicate;

/**
 * Which of the log's partitions this node polls for a subscriber, and how it waits for more. One node alone owns
 * every partition and waits out the poll interval; on a cluster ({@link KafkaPartitions}) each subscriber is a Kafka
 * consumer group, so each partition - each contact's events, in order - is polled by one node at a time, and new
 * events wake the node that owns them.
 */
public interface PartitionOwnership {

    /** The subscriber's share on this node, held by its pump thread from start to stop. */
    Lease lease(EventSubscriber subscriber);

    /** Used by one pump thread only, except {@link #wake}. */
    interface Lease extends AutoCloseable {

        /** The partitions this node acts on now. */
        IntPredicate owned();

        /** After a poll that handled {@code handled} events: returns when there may be more, or after the interval. */
        void next(int handled, long intervalMillis);

        /** Ends a {@link #next} wait at once (the hub is stopping). Any thread. */
        void wake();

        @Override
        void close();
    }
}
