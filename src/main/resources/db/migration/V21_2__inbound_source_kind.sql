-- The intake source that read each inbound message (hl7v2; fhir next). Crash recovery, a contact split and a replay
-- read a stored message again through the source of its kind. Every message stored before kinds were recorded came
-- over HL7 v2.
ALTER TABLE inbound_message ADD COLUMN source_kind VARCHAR(16) DEFAULT 'hl7v2' NOT NULL;
