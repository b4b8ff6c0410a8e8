-- Recipients' encryption keys on file: S/MIME certificates and OpenPGP public keys, per contact. The key material
-- names the person (certificate subject, user id): sealed like every PHI record. Kept after expiry for the record;
-- expired_at set by hand (a revocation the hub cannot see through CRL/OCSP) stops its use at once.
CREATE TABLE recipient_key (
    id          UUID PRIMARY KEY,
    contact_id  UUID NOT NULL,
    kind        VARCHAR(8) NOT NULL,      -- smime | pgp
    fingerprint VARCHAR(64) NOT NULL,     -- SHA-256 of the certificate (smime), or the encryption key's v4 fingerprint
    not_before  TIMESTAMP WITH TIME ZONE,
    not_after   TIMESTAMP WITH TIME ZONE,
    uploaded_by VARCHAR(64) NOT NULL,
    uploaded_at TIMESTAMP WITH TIME ZONE NOT NULL,
    expired_at  TIMESTAMP WITH TIME ZONE,
    key_id      VARCHAR(32) NOT NULL,
    payload     BYTEA NOT NULL
);
CREATE INDEX recipient_key_contact ON recipient_key (contact_id);
