-- The migration's own state (schema mdw), next to the data it describes, so
-- that a chunk's rows and the record that the chunk is done commit together.
CREATE SCHEMA IF NOT EXISTS mdw;

CREATE TABLE IF NOT EXISTS mdw.runs (
    id          bigserial PRIMARY KEY,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    status      text NOT NULL DEFAULT 'running'
                CHECK (status IN ('running', 'complete', 'failed')),
    settings    jsonb NOT NULL DEFAULT '{}',
    summary     text
);

-- One row per phase of a run: its state, the source count taken at planning,
-- and the result of its validation.
CREATE TABLE IF NOT EXISTS mdw.run_phases (
    run_id       bigint NOT NULL REFERENCES mdw.runs (id),
    phase        text NOT NULL,
    status       text NOT NULL DEFAULT 'planning'
                 CHECK (status IN ('planning', 'running', 'validating', 'complete', 'failed')),
    source_rows  bigint,
    chunks       integer,
    planned_at   timestamptz,
    started_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    validation   jsonb,
    error        text,
    PRIMARY KEY (run_id, phase)
);

CREATE TABLE IF NOT EXISTS mdw.chunks (
    run_id        bigint NOT NULL REFERENCES mdw.runs (id),
    phase         text NOT NULL,
    chunk_no      integer NOT NULL,
    lo            bigint NOT NULL,
    hi            bigint NOT NULL,
    status        text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'running', 'done', 'dead')),
    attempts      integer NOT NULL DEFAULT 0,
    worker        text,
    started_at    timestamptz,
    finished_at   timestamptz,
    last_error    text,
    rows_read     bigint NOT NULL DEFAULT 0,
    rows_inserted bigint NOT NULL DEFAULT 0,
    rows_existing bigint NOT NULL DEFAULT 0,
    rows_merged   bigint NOT NULL DEFAULT 0,
    rows_rejected bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, phase, chunk_no),
    CHECK (lo <= hi),
    -- the accounting rule, enforced by the database itself
    CONSTRAINT chunks_accounting CHECK (status <> 'done' OR
        rows_read = rows_inserted + rows_existing + rows_merged + rows_rejected)
);

CREATE TABLE IF NOT EXISTS mdw.rejects (
    id           bigserial PRIMARY KEY,
    run_id       bigint NOT NULL REFERENCES mdw.runs (id),
    phase        text NOT NULL,
    source_table text NOT NULL,
    legacy_id    bigint NOT NULL,
    reason       text NOT NULL,
    detail       text,
    source_row   jsonb,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS rejects_phase_legacy ON mdw.rejects (phase, legacy_id);
CREATE INDEX IF NOT EXISTS rejects_run_phase ON mdw.rejects (run_id, phase, reason);

-- Rows folded into another legacy row's target row (merged): which one, and
-- the run that first merged it (later runs count the row as existing).
CREATE TABLE IF NOT EXISTS mdw.merges (
    phase      text NOT NULL,
    legacy_id  bigint NOT NULL,
    target_id  bigint NOT NULL,
    run_id     bigint NOT NULL REFERENCES mdw.runs (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (phase, legacy_id)
);

-- The detail of an orphan reject: the parent exists in the legacy data (a
-- dangling one is repaired or rejected dangling_*, 007_flags_roots.sql), so
-- it was rejected (and why), or is not in the target for another reason.
-- PARENT_PHASE is the phase that migrates the parent.
CREATE OR REPLACE FUNCTION mdw.parent_detail(what text, parent_phase text, parent_id bigint)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT COALESCE(
        (SELECT format('%s %s was rejected (%s)', what, parent_id, r.reason)
           FROM mdw.rejects r WHERE r.phase = parent_phase AND r.legacy_id = parent_id
          ORDER BY r.id DESC LIMIT 1),
        format('%s %s is not in the target', what, parent_id))
$$;
