-- SMS (issue 13). Each text's segments by the id the SMSC gave them: a delivery receipt names only that id, and a
-- message gets one final status once every segment is reported.
CREATE TABLE sms_segment (
    adapter    VARCHAR(64) NOT NULL,
    smsc_id    VARCHAR(65) NOT NULL,
    message_id UUID NOT NULL,
    seq        INT NOT NULL,
    total      INT NOT NULL,
    outcome    VARCHAR(16),
    at         TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (adapter, smsc_id)
);
CREATE INDEX sms_segment_message ON sms_segment (message_id);

-- Numbers the carrier refused for good (invalid, not a mobile): not texted again. Kept as MACs, never in clear.
CREATE TABLE sms_suppression (
    number_mac VARCHAR(64) PRIMARY KEY,
    reason     VARCHAR(64) NOT NULL,
    message_id UUID,
    at         TIMESTAMP WITH TIME ZONE NOT NULL
);
