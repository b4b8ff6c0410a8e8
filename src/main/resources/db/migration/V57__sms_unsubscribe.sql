-- The text a STOP is counted against (a campaign's unsubscribed figure, message.unsubscribed in the streams): the
-- last one sent to a contact at the number in the 30 days before the number's opt-out, when there was one.
CREATE TABLE sms_unsubscribe (
    message_id UUID PRIMARY KEY,
    number_mac VARCHAR(64) NOT NULL,
    at         TIMESTAMP WITH TIME ZONE NOT NULL
);
