-- Delivery over an SMTP relay: temporary failures wait and retry (attempts, next_attempt_at); statuses gain
-- deferred, delivered (a DSN said so) and bounced.
ALTER TABLE outbound_message ADD COLUMN attempts INT DEFAULT 0 NOT NULL;
ALTER TABLE outbound_message ADD COLUMN next_attempt_at TIMESTAMP WITH TIME ZONE;
CREATE INDEX outbound_message_due ON outbound_message (status, next_attempt_at);

-- Addresses that bounced permanently (a 5xx, or a failed DSN) are not sent to again. Keyed by a MAC of the
-- lower-cased address: the table answers "is this address suppressed?" without holding addresses in clear.
CREATE TABLE email_suppression (
    address_mac VARCHAR(64) PRIMARY KEY,
    reason      VARCHAR(64) NOT NULL,
    message_id  UUID,
    at          TIMESTAMP WITH TIME ZONE NOT NULL
);

-- Portal pickup: a message that could not go protected stays here, sealed, until the recipient proves who they are
-- (an emailed one-time code and a second factor). Codes are kept as MACs; failures lock the pickup for a while.
CREATE TABLE portal_pickup (
    id              UUID PRIMARY KEY,
    message_id      UUID NOT NULL UNIQUE,
    contact_id      UUID NOT NULL,
    purpose         VARCHAR(16) NOT NULL,
    key_id          VARCHAR(32) NOT NULL,
    content         BYTEA NOT NULL,
    expires_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    code_mac        VARCHAR(64),
    code_expires_at TIMESTAMP WITH TIME ZONE,
    code_sent_at    TIMESTAMP WITH TIME ZONE,
    failures        INT DEFAULT 0 NOT NULL,
    locked_until    TIMESTAMP WITH TIME ZONE,
    views           INT DEFAULT 0 NOT NULL,
    created_at      TIMESTAMP WITH TIME ZONE NOT NULL
);
