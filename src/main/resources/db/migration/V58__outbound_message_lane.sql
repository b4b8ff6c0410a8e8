-- Owned by io.caravan.channel. Two send lanes: a message planned one at a time (an API call, a journey step, a portal
-- code) goes in the prompt lane; one planned in a batch (a campaign, a bulk send) or for marketing goes in the bulk
-- lane. Each lane has its own queue and senders, and parked messages are handed over per lane, so a pre-op
-- instruction planned during a campaign of a million does not wait behind it.
ALTER TABLE outbound_message ADD COLUMN bulk BOOLEAN DEFAULT FALSE NOT NULL;
-- only messages still to be handed over need their lane: the rest keep the default (no rewrite of the history)
UPDATE outbound_message SET bulk = TRUE WHERE status IN ('planned', 'deferred')
    AND (purpose = 'marketing' OR created_by LIKE 'campaign:%');
CREATE INDEX outbound_message_due_lane ON outbound_message (status, bulk, next_attempt_at);
