-- Topic-based subscriptions (Subscriptions R5 Backport IG on R4), per adapter and Subscription id: every event up to
-- `contiguous` is applied; `highest` is the highest event number the server said it has sent. A gap between them
-- (an event lost or still on its way) is recovered from the server once it has been open for the adapter's gapWait.
CREATE TABLE fhir_subscription (
    adapter          VARCHAR(64) NOT NULL,
    subscription     VARCHAR(200) NOT NULL,
    status           VARCHAR(32),
    contiguous       BIGINT NOT NULL,
    highest          BIGINT NOT NULL,
    contiguous_at    TIMESTAMP WITH TIME ZONE,
    gap_since        TIMESTAMP WITH TIME ZONE,
    last_seen_at     TIMESTAMP WITH TIME ZONE NOT NULL,
    handshake_at     TIMESTAMP WITH TIME ZONE,
    heartbeats       BIGINT NOT NULL,
    recovered        BIGINT NOT NULL,
    recovery_error   VARCHAR(200),
    PRIMARY KEY (adapter, subscription)
);

-- Event numbers above `contiguous` already applied: an out-of-order event that arrived before the ones under it.
CREATE TABLE fhir_subscription_event (
    adapter      VARCHAR(64) NOT NULL,
    subscription VARCHAR(200) NOT NULL,
    event_number BIGINT NOT NULL,
    occurred_at  TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (adapter, subscription, event_number)
);
