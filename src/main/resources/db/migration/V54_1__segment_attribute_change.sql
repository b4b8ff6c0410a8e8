-- Owned by io.caravan.segment (issue 17). Several nodes each hold the attribute index in memory; each refreshes it
-- from the rows other nodes changed. change_seq orders the changes across nodes (a database sequence, not a node's
-- clock); 0 on rows written before it, or by a single node, which reads the whole table at start anyway.
CREATE SEQUENCE segment_attribute_change;
ALTER TABLE segment_attribute ADD COLUMN change_seq BIGINT DEFAULT 0 NOT NULL;
CREATE INDEX segment_attribute_change_seq ON segment_attribute (change_seq);

-- A row deleted (its contact merged into another) leaves nothing to read: the other nodes learn of it here. Only ids
-- and the change's number; kept an hour (a node away longer has restarted and read the table afresh).
CREATE TABLE segment_attribute_gone (
    change_seq BIGINT PRIMARY KEY,
    contact_id UUID NOT NULL,
    gone_at    TIMESTAMP WITH TIME ZONE NOT NULL
);
