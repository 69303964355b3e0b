-- Rollback, backups and incremental runs (docs/operations.md).

-- A rolled-back phase of a run: its rows were removed by mdwctl rollback, so
-- it no longer counts as complete (a new run migrates it again) and its
-- chunks no longer count as covered (an incremental run plans them again).
ALTER TABLE mdw.run_phases DROP CONSTRAINT IF EXISTS run_phases_status_check;
ALTER TABLE mdw.run_phases ADD CONSTRAINT run_phases_status_check
    CHECK (status IN ('planning', 'running', 'validating', 'complete', 'failed', 'rolled_back'));
ALTER TABLE mdw.chunks DROP CONSTRAINT IF EXISTS chunks_status_check;
ALTER TABLE mdw.chunks ADD CONSTRAINT chunks_status_check
    CHECK (status IN ('pending', 'running', 'done', 'dead', 'rolled_back'));

-- The pg_dump (custom format) of a phase's target tables, taken by the
-- coordinator (--backup-dir) just before the phase wrote anything.
CREATE TABLE IF NOT EXISTS mdw.backups (
    run_id     bigint NOT NULL REFERENCES mdw.runs (id),
    phase      text NOT NULL,
    path       text NOT NULL,
    bytes      bigint NOT NULL,
    tables     text[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, phase)
);

-- What each mdwctl rollback removed, phase by phase (a cascade writes one row
-- per phase it rolled back).
CREATE TABLE IF NOT EXISTS mdw.rollbacks (
    id          bigserial PRIMARY KEY,
    phase       text NOT NULL,
    run_id      bigint,           -- the run rolled back; NULL: every run
    cascade_of  text,             -- the phase whose rollback cascaded here
    deleted     jsonb NOT NULL,   -- rows deleted, by table
    ledger_runs bigint[] NOT NULL, -- runs whose ledger of the phase was reset
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- A rollback deletes parents in bulk: every foreign key it checks needs an
-- index on the referencing column.
CREATE INDEX IF NOT EXISTS projects_practice ON public.projects (practice_id);
CREATE INDEX IF NOT EXISTS projects_creator ON public.projects (creator_id);
CREATE INDEX IF NOT EXISTS practice_members_profile ON public.practice_members (profile_id);
CREATE INDEX IF NOT EXISTS case_states_changed_by ON public.case_states (changed_by);
CREATE INDEX IF NOT EXISTS ai_embedding_sources_practice ON public.ai_embedding_sources (practice_id);
