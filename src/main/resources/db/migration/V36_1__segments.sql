-- Owned by io.caravan.segment (issue 16). The attribute index: per contact, the few facts segments select on
-- (birth date, sex, ZIP3, state, language, diagnosis/result codes, last visit/discharge/appointment days), sealed
-- per row like every other record (associated data = the contact id), kept current by the segment-index event-log
-- subscriber in the transaction that moves its cursor. The hub reads the whole table once at start into arrays in
-- memory; segment evaluation reads only those, never a contact's sealed JSON.
CREATE TABLE segment_attribute (
    contact_id UUID PRIMARY KEY,
    key_id     VARCHAR(32) NOT NULL,
    payload    BYTEA NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL
);

-- Segments defined through the API (config/segments/*.yaml are read at start and not stored here). The expression
-- is configuration, not PHI.
CREATE TABLE segment_definition (
    id          VARCHAR(64) PRIMARY KEY,
    description VARCHAR(200),
    purpose     VARCHAR(16) NOT NULL,
    expression  VARCHAR(4000) NOT NULL,
    updated_at  TIMESTAMP WITH TIME ZONE NOT NULL
);

-- Membership as last evaluated: the baseline segment.entered / segment.exited events are raised against. expression
-- is the definition the membership was evaluated with: a different one at start means a full re-evaluation.
CREATE TABLE segment_state (
    segment_id   VARCHAR(64) PRIMARY KEY,
    expression   VARCHAR(4000) NOT NULL,
    evaluated_at TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE TABLE segment_member (
    segment_id VARCHAR(64) NOT NULL,
    contact_id UUID NOT NULL,
    since      TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (segment_id, contact_id)
);
CREATE INDEX segment_member_contact ON segment_member (contact_id);
