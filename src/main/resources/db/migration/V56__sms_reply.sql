-- Keyword answers (STOP's one confirmation, HELP, START) waiting to go: kept until the SMSC takes them, so a restart
-- within TCPA's five minutes does not lose a confirmation. Number and text sealed; the number's MAC keeps one
-- number's answers in order.
CREATE TABLE sms_reply (
    id         UUID PRIMARY KEY,
    number_mac VARCHAR(64) NOT NULL,
    key_id     VARCHAR(32) NOT NULL,
    payload    BYTEA NOT NULL,
    attempts   INT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    due_at     TIMESTAMP WITH TIME ZONE NOT NULL,
    deadline   TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX sms_reply_created ON sms_reply (created_at);
