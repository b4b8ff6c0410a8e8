-- Contacts, their identifiers and trigger events, and every inbound message as received.
-- PHI lives only in the sealed payload columns (AES-256-GCM, key named by key_id); lookups go through keyed
-- blind indexes (HMAC-SHA256, 32 bytes), so the clear values are nowhere in the database. Same DDL on H2
-- (PostgreSQL mode) and PostgreSQL.
--
-- Every index is paid for on each group commit (H2 rewrites each touched B-tree page per commit), so there are only
-- the ones reads need. Ids are time-ordered UUIDs (v7): inserts append to their index. Referential integrity is
-- kept by the single writer (contact.ContactWriter) rather than by foreign keys, which would add an index per
-- reference on H2 and a lookup per row on both.

CREATE TABLE contact (
    id          UUID PRIMARY KEY,
    merged_into UUID,
    key_id      VARCHAR(32) NOT NULL,
    payload     BYTEA NOT NULL,
    version     BIGINT NOT NULL,
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at  TIMESTAMP WITH TIME ZONE NOT NULL
);

-- identifier (system|value) -> contact; after a merge both the survivor's and the prior record's point at the survivor
CREATE TABLE contact_identifier (
    blind_index BYTEA PRIMARY KEY,
    contact_id  UUID NOT NULL
);

-- a contact's events are read together: the key clusters them by contact, oldest first
CREATE TABLE trigger_event (
    contact_id  UUID NOT NULL,
    id          UUID NOT NULL,
    type        VARCHAR(64) NOT NULL,
    inbound_id  UUID,
    key_id      VARCHAR(32) NOT NULL,
    payload     BYTEA NOT NULL,
    recorded_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (contact_id, id)
);

-- Every message received, kept (sealed) for replay with its processing status. dedupe_key is a blind index of
-- MSH-3|MSH-4|MSH-10, set only once a message was processed (or deliberately ignored), so a resend after a failure
-- is processed again. No index on status: replay scans are rare.
CREATE TABLE inbound_message (
    id           UUID PRIMARY KEY,
    dedupe_key   BYTEA UNIQUE,
    feed         VARCHAR(64) NOT NULL,
    message_type VARCHAR(16) NOT NULL,
    status       VARCHAR(16) NOT NULL,
    error_code   VARCHAR(64),
    contact_id   UUID,
    key_id       VARCHAR(32) NOT NULL,
    payload      BYTEA NOT NULL,
    received_at  TIMESTAMP WITH TIME ZONE NOT NULL
);
