-- Owned by io.caravan.stream: the random surrogate id each contact has at each de-identified destination
-- (45 CFR 164.514(c): a re-identification code not derived from any information about the individual). The mapping
-- stays in the hub; the destination only ever sees the surrogate.
CREATE TABLE stream_surrogate (
    destination VARCHAR(64) NOT NULL,
    contact_id  UUID NOT NULL,
    surrogate   UUID NOT NULL,
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (destination, contact_id)
);
CREATE UNIQUE INDEX stream_surrogate_by_surrogate ON stream_surrogate (destination, surrogate);
