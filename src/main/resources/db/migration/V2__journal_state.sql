-- The last inbound-journal sequence applied to this database, updated in the same transaction as the data it
-- covers, so recovery re-applies exactly what is missing.
CREATE TABLE journal_state (
    id          INT PRIMARY KEY,
    applied_seq BIGINT NOT NULL
);
INSERT INTO journal_state (id, applied_seq) VALUES (1, 0);
