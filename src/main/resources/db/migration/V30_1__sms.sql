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

-- Which contacts the hub has texted at a number: an MO text names only the number, and a STOP from it opts out
-- every one of them (a family sharing a phone). MACs of the number, never the number.
CREATE TABLE sms_number (
    number_mac VARCHAR(64) NOT NULL,
    contact_id UUID NOT NULL,
    PRIMARY KEY (number_mac, contact_id)
);

-- Numbers that texted STOP: nothing more goes to them (the one confirmation aside) until they text START.
CREATE TABLE sms_number_opt_out (
    number_mac VARCHAR(64) PRIMARY KEY,
    at         TIMESTAMP WITH TIME ZONE NOT NULL
);

-- Other MO texts, for workflows to branch on: sealed (a patient's words are PHI), by contact where known.
CREATE TABLE sms_inbound (
    id         UUID PRIMARY KEY,
    number_mac VARCHAR(64) NOT NULL,
    contact_id UUID,
    key_id     VARCHAR(32) NOT NULL,
    text       BYTEA NOT NULL,
    at         TIMESTAMP WITH TIME ZONE NOT NULL
);

-- Treatment texts per number (the FCC healthcare exemption's 1 a day, 3 a week, as policy): reserved when a text is
-- about to be submitted, released when it is not.
CREATE TABLE sms_sent (
    message_id UUID PRIMARY KEY,
    number_mac VARCHAR(64) NOT NULL,
    purpose    VARCHAR(16) NOT NULL,
    at         TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX sms_sent_number ON sms_sent (number_mac, purpose, at);

-- Receipts that arrived before the hub had recorded their text as sent (a fast SMSC answers the submit and the
-- receipt almost together): applied by the sweep once the text is sent, dropped after an hour (another system's).
CREATE TABLE sms_receipt_early (
    adapter VARCHAR(64) NOT NULL,
    smsc_id VARCHAR(65) NOT NULL,
    state   VARCHAR(16) NOT NULL,
    error   VARCHAR(16),
    at      TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (adapter, smsc_id)
);
