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
     * Whether events of this type are any of the subscriber's business. Those that are not are never opened or handed
     * to it: its cursor moves past them with the next event it takes. Asked for every event read, so it must be cheap;
     * it may change its answer (a workflow added), which counts from the events read after.
     */
    default boolean wants(String type) {
        return true;
    }

    /**
     * Whether {@link #onEvents} acts on a run of events more cheaply than one at a time (one wait for the audit trail,
     * one batch of inserts): then {@link Subscriptions} hands it each run it reads from a partition in one
     * transaction, and falls back to one event per transaction only when the run fails, so a bad event still fails
     * alone.
     */
    default boolean batches() {
        return false;
    }

    /**
     * Acts on consecutive events of one partition, oldest first, inside the transaction that moves the cursor past the
     * last of them; throwing rolls back the whole run (which is then handled one event at a time).
     */
    default void onEvents(java.util.List<LoggedEvent> events) {
        events.forEach(this::onEvent);
    }

    /**
     * Whether {@link EventPump} polls this subscriber. The workflow engine says no on a database event log: its Quartz
     * tick polls it, so events and due journeys are handled in one loop, on one node of a cluster at a time; with the
     * log on Kafka it is a consumer group like the others.
     */
    default boolean pumped() {
        return true;
    }
}
