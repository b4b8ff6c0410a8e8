-- Data-quality warnings about an accepted message (an untrusted future event time, a dropped placeholder
-- identifier, identifiers naming two contacts): codes and HL7 locations, never values.
ALTER TABLE inbound_message ADD COLUMN warnings VARCHAR(1000);
