-- The event log. trigger_event is the log: each event gets a position, assigned by the contact writer inside the
-- group commit that stores it. event_log_head holds the last position handed out; a writer locks it (SELECT ... FOR
-- UPDATE) just before its commit, so positions become visible in order: a concurrent writer (several on PostgreSQL)
-- waits at that row until the holder has committed or rolled back, and takes the positions after it. A reader that
-- sees position p therefore never sees p+1 commit later. Events from before the log have no position.
ALTER TABLE trigger_event ADD COLUMN position BIGINT;
CREATE UNIQUE INDEX trigger_event_position ON trigger_event (position);

CREATE TABLE event_log_head (
    id            INT PRIMARY KEY,
    last_position BIGINT NOT NULL
);

-- Owned by io.caravan.eventlog: each subscriber's cursor (the last position it acted on, advanced in the transaction
-- of its effect), and the events it failed on, retried a bounded number of times and then parked for an operator.
CREATE TABLE event_cursor (
    subscriber  VARCHAR(64) PRIMARY KEY,
    position    BIGINT NOT NULL,
    updated_at  TIMESTAMP WITH TIME ZONE NOT NULL
);

CREATE TABLE event_retry (
    subscriber  VARCHAR(64) NOT NULL,
    position    BIGINT NOT NULL,
    attempts    INT NOT NULL,
    parked      BOOLEAN NOT NULL,
    error       VARCHAR(200),
    updated_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (subscriber, position)
);

-- The workflow engine's inbox becomes its cursor: the events still waiting in it get positions (those it gave up on
-- first, parked; then the rest, in the order the engine read them), and the engine's cursor starts after the parked.
UPDATE trigger_event SET position = (SELECT COUNT(*) FROM workflow_inbox w WHERE w.attempts >= 5
        AND (w.recorded_at, w.event_id) <= (trigger_event.recorded_at, trigger_event.id))
    WHERE id IN (SELECT event_id FROM workflow_inbox WHERE attempts >= 5);
UPDATE trigger_event SET position = (SELECT COUNT(*) FROM workflow_inbox WHERE attempts >= 5)
        + (SELECT COUNT(*) FROM workflow_inbox w WHERE w.attempts < 5
        AND (w.recorded_at, w.event_id) <= (trigger_event.recorded_at, trigger_event.id))
    WHERE id IN (SELECT event_id FROM workflow_inbox WHERE attempts < 5);
INSERT INTO event_log_head (id, last_position) VALUES (1, (SELECT COUNT(*) FROM workflow_inbox));
INSERT INTO event_cursor (subscriber, position, updated_at)
    VALUES ('workflow', (SELECT COUNT(*) FROM workflow_inbox WHERE attempts >= 5), CURRENT_TIMESTAMP);
INSERT INTO event_retry (subscriber, position, attempts, parked, error, updated_at)
    SELECT 'workflow', t.position, w.attempts, TRUE, 'inbox', CURRENT_TIMESTAMP
    FROM trigger_event t JOIN workflow_inbox w ON t.id = w.event_id WHERE w.attempts >= 5;

DROP TABLE workflow_inbox;
