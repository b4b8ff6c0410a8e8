-- Operator view of inbound messages (GET /api/inbound) and replay. control_id is MSH-10 in clear: a sender's message
-- id, not about a patient, and what an interface engineer searches for in the sender's log; reading it from the
-- sealed raw message instead would decrypt and parse every listed row (and make a metadata list a PHI read).
-- error_location is the HL7 location of a failure (e.g. PID-3). A successful replay is a new row (replay_of = the
-- failed original); the original keeps its failure record and points at it (replayed_by).
ALTER TABLE inbound_message ADD COLUMN control_id VARCHAR(199);
ALTER TABLE inbound_message ADD COLUMN error_location VARCHAR(32);
ALTER TABLE inbound_message ADD COLUMN replay_of UUID;
ALTER TABLE inbound_message ADD COLUMN replayed_by UUID;
