-- The HIPAA gate: consent records (authorizations, channel consents, opt-outs) and the tamper-evident audit trail.
-- Same DDL on H2 (PostgreSQL mode) and PostgreSQL.

-- One row per authorization, channel consent or opt-out, from any source. The columns a decision reads (kind, scope,
-- validity) are in clear: they say nothing about a patient's health, and a decision must not pay a decryption per
-- record. What the patient signed (description, recipients, evidence, remuneration statement) is sealed.
-- Rows are never deleted (kept at least six years, 45 CFR 164.316(b)(2) / 164.508(b)(6)); a revocation sets revoked_at.
CREATE TABLE consent_record (
    id           UUID PRIMARY KEY,
    contact_id   UUID NOT NULL,
    kind         VARCHAR(16) NOT NULL,   -- authorization | consent | opt-out
    purpose      VARCHAR(16) NOT NULL,   -- treatment | payment | operations | marketing | any
    channel      VARCHAR(64) NOT NULL,   -- email | sms | queue:<adapter> | any
    form         VARCHAR(16),            -- written | electronic | verbal (consents)
    remuneration BOOLEAN NOT NULL,       -- authorization states that the covered entity is paid for the marketing
    source       VARCHAR(64) NOT NULL,   -- api | unsubscribe | sms-keyword | fhir | hl7:<feed>
    recorded_by  VARCHAR(64) NOT NULL,
    effective_at TIMESTAMP WITH TIME ZONE NOT NULL,
    expires_at   TIMESTAMP WITH TIME ZONE,
    revoked_at   TIMESTAMP WITH TIME ZONE,
    recorded_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    key_id       VARCHAR(32) NOT NULL,
    payload      BYTEA NOT NULL
);
CREATE INDEX consent_record_contact ON consent_record (contact_id);

-- The audit trail: append-only, each entry's MAC (HMAC-SHA256, key in the keystore, not in the database) covers its
-- own fields and the previous entry's MAC, so an edited, deleted, inserted or reordered row breaks the chain. Clear
-- columns carry no PHI (ids, roles, codes); details are sealed.
CREATE TABLE audit_entry (
    seq        BIGINT PRIMARY KEY,
    id         UUID NOT NULL,
    at         TIMESTAMP WITH TIME ZONE NOT NULL,
    actor      VARCHAR(128) NOT NULL,
    action     VARCHAR(48) NOT NULL,
    contact_id UUID,
    purpose    VARCHAR(16),
    channel    VARCHAR(64),
    outcome    VARCHAR(32),
    key_id     VARCHAR(32),
    payload    BYTEA,
    mac        BYTEA NOT NULL
);

-- Entries by contact (the accounting of disclosures, compliance queries). Maintained by the audit writer about once
-- a second in one batch rather than with every group: a per-group secondary index costs a random page write per
-- contact per group (on H2 it cut durable appends from ~36,000/s to ~12,000/s). Readers take the indexed part from
-- here and scan the few entries after indexed_through. Derived data: rebuilt from audit_entry if lost.
CREATE TABLE audit_contact (
    contact_id UUID NOT NULL,
    seq        BIGINT NOT NULL,
    PRIMARY KEY (contact_id, seq)
);
CREATE TABLE audit_index_state (
    id              INT PRIMARY KEY,
    indexed_through BIGINT NOT NULL
);
INSERT INTO audit_index_state (id, indexed_through) VALUES (1, 0);

-- Where verification starts and ends: the last purged entry (retention) and the head, each MACed, updated in the same
-- transaction as the entries they describe. A truncated tail or a purge without the key shows as a mismatch.
CREATE TABLE audit_chain (
    id            INT PRIMARY KEY,
    purged_through BIGINT NOT NULL,
    purged_mac    BYTEA NOT NULL,
    head_seq      BIGINT NOT NULL,
    head_mac      BYTEA NOT NULL,
    mac           BYTEA NOT NULL
);

-- Audit entries decided inside another writer's transaction (the contact writer's HL7 consent changes) wait here
-- until the audit writer moves them into the chain, deleting them in the same transaction: none is lost or doubled.
CREATE TABLE audit_outbox (
    id         UUID PRIMARY KEY,
    at         TIMESTAMP WITH TIME ZONE NOT NULL,
    actor      VARCHAR(128) NOT NULL,
    action     VARCHAR(48) NOT NULL,
    contact_id UUID,
    purpose    VARCHAR(16),
    channel    VARCHAR(64),
    outcome    VARCHAR(32),
    key_id     VARCHAR(32),
    payload    BYTEA
);
