-- Catch-up runs before cutover (mdw-coordinator --catch-up, docs/operations.md
-- "Catch-up and cutover").

-- A fifth outcome: a legacy row whose transformed value changed since the
-- migration wrote its target row, and whose target row was updated in place.
ALTER TABLE mdw.chunks ADD COLUMN IF NOT EXISTS rows_updated bigint NOT NULL DEFAULT 0;
ALTER TABLE mdw.chunks DROP CONSTRAINT IF EXISTS chunks_accounting;
ALTER TABLE mdw.chunks ADD CONSTRAINT chunks_accounting CHECK (status <> 'done' OR
    rows_read = rows_inserted + rows_existing + rows_updated + rows_merged + rows_rejected);

-- What the migration last wrote, per target row: md5 of the row read back in
-- legacy terms (mdwctl verify's target side), recorded when the phase of the
-- run that inserted or updated it completed. A target row whose hash is no
-- longer this one was changed by someone else since: a conflict.
CREATE TABLE IF NOT EXISTS mdw.row_hashes (
    phase      text NOT NULL,
    legacy_id  bigint NOT NULL,
    hash       text NOT NULL,
    run_id     bigint NOT NULL REFERENCES mdw.runs (id),
    PRIMARY KEY (phase, legacy_id)
);

-- What a catch-up run found, per legacy row: 'update' (planned, the worker
-- updates it in the chunk transaction), 'insert' (new, planned), 'conflict'
-- (the target row was not made by the migration, or was changed since:
-- left alone, with the reason).
CREATE TABLE IF NOT EXISTS mdw.catchup_rows (
    run_id     bigint NOT NULL REFERENCES mdw.runs (id),
    phase      text NOT NULL,
    legacy_id  bigint NOT NULL,
    action     text NOT NULL CHECK (action IN ('update', 'insert', 'conflict')),
    reason     text,
    PRIMARY KEY (run_id, phase, legacy_id)
);

-- Legacy rows deleted in the legacy database whose target row stays: found by
-- a catch-up (first_run, first_seen: since when we know), removed with
-- mdwctl catch-up --deleted --apply (applied_at).
CREATE TABLE IF NOT EXISTS mdw.catchup_deleted (
    phase      text NOT NULL,
    legacy_id  bigint NOT NULL,
    first_run  bigint NOT NULL REFERENCES mdw.runs (id),
    first_seen timestamptz NOT NULL DEFAULT now(),
    last_run   bigint NOT NULL REFERENCES mdw.runs (id),
    migrated_by bigint,            -- the run that made the target row (NULL: not the migration's)
    applied_at timestamptz,
    PRIMARY KEY (phase, legacy_id)
);
