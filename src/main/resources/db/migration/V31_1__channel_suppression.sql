-- One suppression list for every channel (email's hard bounces, SMS numbers a carrier refused for good), keyed by
-- channel and a MAC of the normalised address. The MACs carry over unchanged: each channel keeps its own MAC domain.
CREATE TABLE channel_suppression (
    channel     VARCHAR(16) NOT NULL,
    address_mac VARCHAR(64) NOT NULL,
    reason      VARCHAR(64) NOT NULL,
    message_id  UUID,
    at          TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (channel, address_mac)
);
INSERT INTO channel_suppression (channel, address_mac, reason, message_id, at)
    SELECT 'email', address_mac, reason, message_id, at FROM email_suppression;
INSERT INTO channel_suppression (channel, address_mac, reason, message_id, at)
    SELECT 'sms', number_mac, reason, message_id, at FROM sms_suppression;
DROP TABLE email_suppression;
DROP TABLE sms_suppression;
