-- Workflows. Every trigger event, committed with it by the contact writer, waits here until the workflow engine has
-- acted on it (entered or ended journeys) - in the same transaction that deletes it: exactly once.
CREATE TABLE workflow_inbox (
    event_id    UUID PRIMARY KEY,
    contact_id  UUID NOT NULL,
    type        VARCHAR(64) NOT NULL,
    recorded_at TIMESTAMP WITH TIME ZONE NOT NULL,
    attempts    INT DEFAULT 0 NOT NULL      -- failed tries; after five the event is left for an operator
);

-- One contact's way through one workflow. next_at is its persisted timer: when the current step is due. The event
-- that started it (or re-targeted it) is sealed; visited lists the steps done (a step is never repeated).
CREATE TABLE journey (
    id          UUID PRIMARY KEY,
    workflow_id VARCHAR(64) NOT NULL,
    contact_id  UUID NOT NULL,
    status      VARCHAR(16) NOT NULL,   -- active | completed | exited
    step        VARCHAR(64),
    reason      VARCHAR(200),
    next_at     TIMESTAMP WITH TIME ZONE,
    key_id      VARCHAR(32) NOT NULL,
    event       BYTEA NOT NULL,
    visited     VARCHAR(4000) NOT NULL,
    started_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at  TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX journey_due ON journey (status, next_at);
CREATE INDEX journey_contact ON journey (contact_id, workflow_id, status);

-- What each step did, once per journey and step (the key is also the idempotency key of its message): sent,
-- blocked:<reason>, waited, branched:<step>, exited... Reports count these.
CREATE TABLE journey_step (
    journey_id  UUID NOT NULL,
    step        VARCHAR(64) NOT NULL,
    workflow_id VARCHAR(64) NOT NULL,
    outcome     VARCHAR(200) NOT NULL,
    message_id  UUID,
    at          TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (journey_id, step)
);
CREATE INDEX journey_step_workflow ON journey_step (workflow_id, step);
