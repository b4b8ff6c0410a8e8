-- Owned by io.caravan.crypto (issue 17). The data-encryption and blind-index keys, where every node of a cluster finds
-- them: each key wrapped (AES-256-GCM, the row's kind and key id as associated data) by a key derived from the master
-- key, which never enters the database. First start inserts the keys if absent (the primary key decides between two
-- nodes starting at once); a data directory's PKCS#12 keystore from before is imported once. active marks the
-- data-encryption key new records are sealed with; the newest active row wins.
CREATE TABLE crypto_key (
    key_id     VARCHAR(32) PRIMARY KEY,
    kind       VARCHAR(16) NOT NULL,
    wrapping   VARCHAR(64) NOT NULL,
    salt       BYTEA NOT NULL,
    wrapped    BYTEA NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    active     BOOLEAN NOT NULL
);
