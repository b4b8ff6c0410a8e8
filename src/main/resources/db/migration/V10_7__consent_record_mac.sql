-- Each consent record's clear columns (kind, scope, validity, revocation: what a decision reads) under an HMAC with the
-- audit trail's key, which lives in the keystore, not the database: `UPDATE consent_record SET revoked_at = NULL`
-- then fails the MAC, the gate denies and GET /api/audit/verify names the record. Rows written before this column
-- are MACed once by the Java migration V10_8 (io.caravan.consent.V10_8__MacConsentRecords), which holds the key.
ALTER TABLE consent_record ADD COLUMN mac BYTEA;
