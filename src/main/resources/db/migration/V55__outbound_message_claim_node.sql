-- Owned by io.caravan.channel (issue 17). The node that holds a send gate's claim: when that node stops (the cluster
-- job store has recovered it), its claims are taken over at once instead of when they run out two minutes later. The
-- index serves the sweep that looks for the claims of attempts under way (a finished attempt's claim is cleared).
ALTER TABLE outbound_message ADD COLUMN claim_node VARCHAR(200);
CREATE INDEX outbound_message_claim ON outbound_message (claim_until);
