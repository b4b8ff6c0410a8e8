-- Owned by io.caravan.ingest (the FHIR poller). Where each FHIR adapter's polling stands, per resource type: the
-- newest meta.lastUpdated of what has been committed through the intake step. It moves only after a page's changes
-- are committed, so a poll that fails midway starts again from the last committed page.
CREATE TABLE fhir_poll_watermark (
    adapter_id    VARCHAR(64) NOT NULL,
    resource_type VARCHAR(64) NOT NULL,
    watermark     TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at    TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (adapter_id, resource_type)
);

-- One row per polled adapter: when it may poll next (its interval, a server's Retry-After, or the backoff after
-- failures - in the database so another node taking over the Quartz job honours it too), and what the status API
-- shows. last_error is written by the hub (an HTTP status, a failure kind), never a server's text.
CREATE TABLE fhir_poll_state (
    adapter_id      VARCHAR(64) PRIMARY KEY,
    next_poll_at    TIMESTAMP WITH TIME ZONE NOT NULL,
    last_poll_at    TIMESTAMP WITH TIME ZONE,
    last_success_at TIMESTAMP WITH TIME ZONE,
    failures        INT NOT NULL,
    last_error      VARCHAR(200),
    last_error_at   TIMESTAMP WITH TIME ZONE,
    resources_read  BIGINT NOT NULL
);
