-- The text a STOP is counted against (a campaign's unsubscribed figure, message.unsubscribed in the streams): the
-- last one submitted to that number in the 30 days before the number's opt-out, when there was one.
CREATE TABLE sms_unsubscribe (
    message_id UUID PRIMARY KEY,
    number_mac VARCHAR(64) NOT NULL,
    at         TIMESTAMP WITH TIME ZONE NOT NULL
);

-- Which number each text went to (its MAC), for that question: a contact texted at several numbers over time must not
-- have a STOP from an old number counted against a text to the new one.
ALTER TABLE sms_segment ADD COLUMN number_mac VARCHAR(64);
CREATE INDEX sms_segment_number ON sms_segment (number_mac, at);
