package io.caravan.mapping;

/**
 * {@code fhir.subscription} of a FHIR adapter: topic-based subscription notifications (Subscriptions R5 Backport IG on
 * R4) the EHR posts to {@code /fhir/subscriptions/{adapter}} (io.caravan.ingest.fhir.subscription).
 */
public final class FhirSubscriptionSettings {

    /** The header the EHR sends the shared secret in (the Subscription's {@code channel.header}). */
    public String header = "X-Subscription-Secret";
    /** The environment variable holding the secret; the endpoint refuses every notification until it is set. */
    public String secretEnv;
    /** The Subscription's {@code heartbeatPeriod}: no notification for this long and the hub asks {@code $status}. */
    public String heartbeatPeriod;
    /**
     * How long a missing event number may stay missing before it is recovered from the server: notifications arrive
     * out of order, so a gap often closes by itself a moment later.
     */
    public String gapWait = "10s";
}
