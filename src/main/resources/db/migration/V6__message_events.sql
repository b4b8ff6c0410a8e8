-- Engagement: opens (tracking pixel) and clicks (redirects) of delivered messages, against the message and the
-- contact. bot = the request looked like a prefetch, a privacy proxy or a link scanner rather than the reader.
CREATE TABLE message_event (
    id         UUID PRIMARY KEY,
    message_id UUID NOT NULL,
    contact_id UUID NOT NULL,
    type       VARCHAR(16) NOT NULL,   -- opened | clicked
    bot        BOOLEAN NOT NULL,
    at         TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX message_event_message ON message_event (message_id);
