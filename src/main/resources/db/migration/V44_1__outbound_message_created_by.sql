-- Owned by io.caravan.channel (issue 16). A campaign's report and its metrics (read every 10 s while it runs and for a
-- week after) count the messages each variant planned by created_by (campaign:<id>:<variant>); without an index that
-- is a scan of every outbound message ever planned, per variant, per read.
CREATE INDEX outbound_message_created_by ON outbound_message (created_by);
