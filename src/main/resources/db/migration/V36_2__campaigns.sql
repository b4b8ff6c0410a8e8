-- Owned by io.caravan.campaign (issue 16). A campaign: variants (template and share, JSON) x a segment x a channel,
-- sent from start_at at up to rate messages/s. status: scheduled | snapshotting | running | paused | cancelled |
-- completed. data is the campaign's template data, the same for every recipient (links, dates): configuration, no PHI.
CREATE TABLE campaign (
    id          UUID PRIMARY KEY,
    name        VARCHAR(200),
    segment_id  VARCHAR(64) NOT NULL,
    channel     VARCHAR(16) NOT NULL,
    purpose     VARCHAR(16) NOT NULL,
    variants    VARCHAR(4000) NOT NULL,
    holdout     INT NOT NULL,
    data        VARCHAR(4000) NOT NULL,
    rate        INT NOT NULL,
    status      VARCHAR(16) NOT NULL,
    start_at    TIMESTAMP WITH TIME ZONE NOT NULL,
    targeted    BIGINT,
    created_by  VARCHAR(64) NOT NULL,
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at  TIMESTAMP WITH TIME ZONE NOT NULL
);

-- The recipients, snapshotted from the segment when the campaign starts, one row per contact (the key makes a
-- recipient's campaign message at most one, with the message id derived from campaign and contact). variant is the
-- variant id or 'holdout'; outcome is null until the recipient is handled: planned | blocked | holdout | capped |
-- postponed (quiet hours; next_at says until when). Reasons are rule ids, never values.
CREATE TABLE campaign_recipient (
    campaign_id UUID NOT NULL,
    seq         BIGINT NOT NULL,
    contact_id  UUID NOT NULL,
    variant     VARCHAR(32) NOT NULL,
    outcome     VARCHAR(16),
    reasons     VARCHAR(1000),
    message_id  UUID,
    next_at     TIMESTAMP WITH TIME ZONE,
    at          TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (campaign_id, contact_id)
);
CREATE UNIQUE INDEX campaign_recipient_seq ON campaign_recipient (campaign_id, seq);
