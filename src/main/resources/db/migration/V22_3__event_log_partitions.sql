-- The event log partitioned by contact (contact.LogPartitions): a contact's events go to partition
-- murmur2(contact id) mod caravan.event-log.partitions, positions count per partition, each partition has its own
-- head row (locked only by the writers appending to it, so group commits on different partitions no longer wait for
-- each other's commit), and a subscriber keeps one cursor per partition.
--
-- Existing events stay where they are: all in partition 0, with their positions and in their order; cursors and
-- retries become partition 0's. Rehashing them would renumber positions under every cursor for no gain: what a
-- subscriber has acted on stays acted on. The hub creates the other partitions' head rows (and fixes the count in
-- event_log_config) when it first starts. Caveat, in the README: a contact's events appended after the upgrade go to
-- its own partition, so a subscriber that had not caught up at the upgrade may act on them before its older ones
-- still waiting in partition 0.
ALTER TABLE trigger_event ADD COLUMN log_partition INT;
UPDATE trigger_event SET log_partition = 0 WHERE position IS NOT NULL;
DROP INDEX trigger_event_position;
CREATE UNIQUE INDEX trigger_event_log ON trigger_event (log_partition, position);

CREATE TABLE event_log_head_p (
    log_partition INT PRIMARY KEY,
    last_position BIGINT NOT NULL
);
INSERT INTO event_log_head_p (log_partition, last_position) SELECT 0, last_position FROM event_log_head WHERE id = 1;
DROP TABLE event_log_head;
ALTER TABLE event_log_head_p RENAME TO event_log_head;

-- the partition count the log was created with: a different one would move contacts to other partitions
CREATE TABLE event_log_config (
    id         INT PRIMARY KEY,
    partitions INT NOT NULL
);

CREATE TABLE event_cursor_p (
    subscriber    VARCHAR(64) NOT NULL,
    log_partition INT NOT NULL,
    position      BIGINT NOT NULL,
    updated_at    TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (subscriber, log_partition)
);
INSERT INTO event_cursor_p (subscriber, log_partition, position, updated_at)
    SELECT subscriber, 0, position, updated_at FROM event_cursor;
DROP TABLE event_cursor;
ALTER TABLE event_cursor_p RENAME TO event_cursor;

CREATE TABLE event_retry_p (
    subscriber    VARCHAR(64) NOT NULL,
    log_partition INT NOT NULL,
    position      BIGINT NOT NULL,
    attempts      INT NOT NULL,
    parked        BOOLEAN NOT NULL,
    error         VARCHAR(200),
    updated_at    TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (subscriber, log_partition, position)
);
INSERT INTO event_retry_p (subscriber, log_partition, position, attempts, parked, error, updated_at)
    SELECT subscriber, 0, position, attempts, parked, error, updated_at FROM event_retry;
DROP TABLE event_retry;
ALTER TABLE event_retry_p RENAME TO event_retry;
