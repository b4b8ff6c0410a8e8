-- Owned by io.caravan.channel (issue 17). On several nodes a planned message can reach two nodes' send gates: the
-- node that planned it queued it in memory, and a starting node hands over every message still planned. The gate of
-- a cluster node claims the row for one send attempt (a conditional update) before it decides and sends; the other
-- gate finds it claimed and leaves it, due again when the claim runs out in case the claiming node died.
ALTER TABLE outbound_message ADD COLUMN claimed_by VARCHAR(36);
ALTER TABLE outbound_message ADD COLUMN claim_until TIMESTAMP WITH TIME ZONE;
