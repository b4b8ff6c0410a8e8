package io.caravan.audit;

/** The audit actions. Stable strings: compliance officers filter on them. */
public final class Actions {

    /** Protected health information was read through the API. */
    public static final String PHI_READ = "phi.read";
    /** A consent decision was taken (planning or sending a message, or asked through the API). */
    public static final String DECISION = "decision";
    /** Information left the hub: what went to whom, by which channel and protection, for which purpose. */
    public static final String DISCLOSURE = "disclosure";
    /** An authorization, channel consent or opt-out was recorded. */
    public static final String CONSENT_RECORDED = "consent.recorded";
    /** An authorization, channel consent or opt-out was revoked. */
    public static final String CONSENT_REVOKED = "consent.revoked";
    /** A feed changed a contact's restrictions or opt-outs (HL7 PD1, CON, Z-segments). */
    public static final String CONSENT_CHANGED = "consent.changed";
    /** The hub changed a contact itself (a workflow's update step): which attributes and tags, never their values. */
    public static final String CONTACT_UPDATED = "contact.updated";
    /** An operator replayed a failed inbound message through the current mappings: which message, the outcome. */
    public static final String INBOUND_REPLAYED = "inbound.replayed";
    /** An operator sent a stream destination's events again from a time: which destination, from when, how many. */
    public static final String STREAM_REPLAYED = "stream.replayed";
    /** An operator gave up a parked contact's failed event for a subscriber: which subscriber, event and position. */
    public static final String EVENT_SKIPPED = "event-log.skipped";
    /** An operator asked for a parked contact's failed event to be tried again now: which subscriber and event. */
    public static final String EVENT_RETRIED = "event-log.retried";
    /** Entries older than the retention period were purged; the chain stays verifiable from the anchor. */
    public static final String PURGED = "audit.purged";

    private Actions() {
    }
}
