package io.caravan.eventlog;

import io.caravan.contact.ContactStore.LoggedEvent;

/**
 * A consumer of the event log with a durable cursor of its own. Exactly once in effect: {@link #onEvent} runs inside
 * the Spring transaction that also advances the subscriber's cursor (or clears its retry), so the effect must be
 * written through the hub's {@code JdbcTemplate}/{@code DataSource} in that transaction - both commit, or neither.
 * An effect outside the database (a Kafka send, a webhook call) needs an idempotency key derived from the event's id.
 */
public interface EventSubscriber {

    /** The cursor's name: stable across releases (renaming it starts a new cursor, from the log's head). */
    String subscriberName();

    /** Acts on one event; throwing rolls the effect back and counts a failed attempt. */
    void onEvent(LoggedEvent event);

    /**
     * Whether {@link EventPump} polls this subscriber. The workflow engine says no: its Quartz tick polls it, so
     * events and due journeys are handled in one loop, on one node of a cluster at a time.
     */
    default boolean pumped() {
        return true;
    }
}
