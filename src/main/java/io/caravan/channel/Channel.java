package io.caravan.channel;

import io.caravan.contact.Contact;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * A delivery channel, plugged in as a Spring bean: the planner ({@link Messages}), the send path ({@link Deliveries})
 * and the workflow engine know channels only through this contract. The channel's own route,
 * {@code direct:deliver-<name>}, receives a message the gate allowed at the moment of sending and, when it handed
 * the message over, sets {@link Deliveries#DELIVERED} (with the recipient and description) so the send path records
 * the disclosure. A channel's name must also be in the consent policy's {@code channels} (the gate denies channels it
 * does not know).
 */
public interface Channel {

    /** The channel's name in requests, workflows, opt-outs and the gate: {@code email}, {@code sms}… */
    String name();

    /** One of this channel's templates. */
    Optional<Template> template(String name);

    /** What the channel needs of a contact: its address there, or empty when the contact has none. */
    Optional<String> address(Contact contact);

    /** The content classes the channel may carry: {@code phi}, {@code phi-free} (SMS: phi-free only). */
    Set<String> contentClasses();

    /** Whether a person (not a machine) opened / clicked a message the channel delivered; most channels cannot tell. */
    default boolean engaged(UUID messageId, String what) {
        return false;
    }

    /**
     * How many of these messages (all delivered by this channel) a person opened / clicked: a workflow's report. A
     * channel that keeps engagement in a table of its own answers in one query.
     */
    default long engagedCount(java.util.Collection<UUID> messageIds, String what) {
        return messageIds.stream().filter(id -> engaged(id, what)).count();
    }

    /**
     * How many of these messages only a machine is known to have opened / clicked - a mail privacy proxy, a prefetch,
     * a link scanner: a report's figures apart from people's. Most channels cannot tell.
     */
    default long machineCount(java.util.Collection<UUID> messageIds, String what) {
        return 0;
    }

    /**
     * Whether the channel's route itself waits for the send-time decision's audit entry, with
     * {@link Deliveries#awaitDecision}, after its own preparation and before the wire: the trail's commit then
     * overlaps the channel's work (email's encryption and signature). Otherwise the gate waits before the route runs.
     */
    default boolean awaitsDecision() {
        return false;
    }

    /** Contacts a person opened / clicked a message of this channel to, as far as it can tell. */
    default java.util.Set<UUID> engagedContacts(String what) {
        return java.util.Set.of();
    }

    /**
     * Whether this node sends for the channel now. A channel whose connection one node of the cluster holds at a time
     * (SMS: the SMPP bind) says no on the others: their messages wait in the store, due, and the holder's
     * {@code message-retry} sends them.
     */
    default boolean sendsHere() {
        return true;
    }

    /**
     * Why the channel may carry no message at all on {@code today} (UTC), whoever it is to - email: its relay's BAA
     * has ended - or empty when it may. The gate then takes no decision: the message waits in the store (status
     * deferred with this reason, not an attempt) and asks again later.
     */
    default Optional<String> closed(java.time.LocalDate today) {
        return Optional.empty();
    }

    /** What a message asking {@link #admit} is: its lane, and whether it is back from a wait in the store. */
    enum Turn {
        /** The prompt lane: never told to wait, but counts. */
        PROMPT,
        /** The bulk lane, first time at the gate. */
        BULK,
        /** The bulk lane, back from a wait (for its turn, or any deferral). */
        RETURNING
    }

    /**
     * When a message to {@code address} may go, by the destination's own limit (email: the recipient domain's
     * messages/s): empty for now, or the time its turn comes. A bulk message told to wait waits in the store until
     * then (status deferred, reason {@code destination-rate}, not an attempt), before any decision is taken.
     */
    default Optional<java.time.Instant> admit(String address, Turn turn, java.time.Instant now) {
        return Optional.empty();
    }

    /**
     * A place among the sends under way to a destination ({@link #enter}): go, giving it back with {@code leave} once
     * the attempt is over, or wait in the store until {@code waitUntil}.
     */
    record Place(Runnable leave, java.time.Instant waitUntil) {
        /** A place that costs nothing to give back. */
        public static final Place GO = new Place(() -> { }, null);

        public static Place go(Runnable leave) {
            return new Place(leave, null);
        }

        public static Place waitUntil(java.time.Instant turn) {
            return new Place(null, turn);
        }

        public boolean taken() {
            return waitUntil == null;
        }
    }

    /**
     * A place among the sends under way to {@code address}'s destination (email: the recipient domain's MX host or
     * domain), taken before the decision and given back once the attempt is over; or, when the destination has as
     * many under way as it may, the time to ask again - a bulk message then waits in the store until it (status
     * deferred, reason {@code destination-busy}, not an attempt). A prompt message always gets one.
     */
    default Place enter(String address, Turn turn) {
        return Place.GO;
    }

    default String deliveryUri() {
        return "direct:deliver-" + name();
    }
}
