-- Outbound messages: what was asked (template, purpose, channel), where it stands and how it was protected. The data
-- the template is rendered with is sealed; reasons are rule ids and codes, never values.
CREATE TABLE outbound_message (
    id          UUID PRIMARY KEY,
    contact_id  UUID NOT NULL,
    channel     VARCHAR(16) NOT NULL,
    purpose     VARCHAR(16) NOT NULL,
    template    VARCHAR(64) NOT NULL,
    status      VARCHAR(16) NOT NULL,   -- planned | blocked | sent | failed
    protection  VARCHAR(16),            -- smime | pgp | tls | portal | none
    reasons     VARCHAR(1000),
    created_by  VARCHAR(64) NOT NULL,
    key_id      VARCHAR(32) NOT NULL,
    payload     BYTEA NOT NULL,
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at  TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX outbound_message_contact ON outbound_message (contact_id);
