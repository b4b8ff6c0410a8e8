-- FHIR Bulk Data exports (issue 12). One row per FHIR adapter that exports: the export running now (at most one, the
-- server allows one at a time) and the transactionTime of the last complete one, the next export's _since.
CREATE TABLE fhir_export_adapter (
    adapter          VARCHAR(64) PRIMARY KEY,
    active_export    UUID,
    since_time       TIMESTAMP WITH TIME ZONE,
    last_finished_at TIMESTAMP WITH TIME ZONE
);

-- One export: requested, run by whichever node holds its lease (a node that dies leaves it to another), finished.
-- The status URL and the file checkpoints are kept so that a restarted hub resumes the same export where it stopped.
CREATE TABLE fhir_export (
    id               UUID PRIMARY KEY,
    adapter          VARCHAR(64) NOT NULL,
    trigger_kind     VARCHAR(16) NOT NULL,
    state            VARCHAR(16) NOT NULL,
    phase            VARCHAR(16),
    since_time       TIMESTAMP WITH TIME ZONE,
    types            VARCHAR(1000) NOT NULL,
    status_url       VARCHAR(2000),
    transaction_time TIMESTAMP WITH TIME ZONE,
    attempt          INT NOT NULL,
    next_at          TIMESTAMP WITH TIME ZONE,
    progress         VARCHAR(120),
    error            VARCHAR(500),
    owner            VARCHAR(64),
    lease_until      TIMESTAMP WITH TIME ZONE,
    requested_at     TIMESTAMP WITH TIME ZONE NOT NULL,
    attempt_started  TIMESTAMP WITH TIME ZONE,
    started_at       TIMESTAMP WITH TIME ZONE,
    finished_at      TIMESTAMP WITH TIME ZONE
);
CREATE INDEX fhir_export_adapter_requested ON fhir_export (adapter, requested_at);
CREATE INDEX fhir_export_state ON fhir_export (state);

-- The manifest's files of an export, with the checkpoint: lines read and committed so far. Error files (the
-- manifest's OperationOutcomes) are counted by issue code; no text of theirs is kept (it may name a patient).
CREATE TABLE fhir_export_file (
    export_id     UUID NOT NULL,
    seq           INT NOT NULL,
    kind          VARCHAR(8) NOT NULL,
    resource_type VARCHAR(64) NOT NULL,
    url           VARCHAR(2000) NOT NULL,
    lines_done    BIGINT NOT NULL,
    committed     BIGINT NOT NULL,
    duplicates    BIGINT NOT NULL,
    failed        BIGINT NOT NULL,
    passed_over   BIGINT NOT NULL,
    issues        VARCHAR(500),
    done          BOOLEAN NOT NULL,
    PRIMARY KEY (export_id, seq)
);
