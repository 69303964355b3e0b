-- Repairs and roots (docs/transforms.md, "References").
--
-- A reference that dangles in the legacy data (it names a row that does not
-- exist there) and whose column may be NULL without changing what the row
-- means is not a reason to lose the record: the row is inserted with the
-- reference NULL (or inferred where unambiguous) and the repair recorded
-- here, one row per repair, with a stable code and the legacy value. A row
-- is flagged once per code (the run that first placed it).
CREATE TABLE IF NOT EXISTS mdw.flags (
    id         bigserial PRIMARY KEY,
    run_id     bigint NOT NULL REFERENCES mdw.runs (id),
    phase      text NOT NULL,
    legacy_id  bigint NOT NULL,
    code       text NOT NULL,
    detail     text,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (phase, legacy_id, code)
);
CREATE INDEX IF NOT EXISTS flags_run_phase ON mdw.flags (run_id, phase, code);

-- A row rejected because its parent exists in the legacy data but is not in
-- the target (rejected) names its root: the first ancestor rejected for its
-- own values (phase, legacy id, reason). NULL: the row was rejected for its
-- own values (it is its own root).
ALTER TABLE mdw.rejects ADD COLUMN IF NOT EXISTS root_phase text;
ALTER TABLE mdw.rejects ADD COLUMN IF NOT EXISTS root_legacy_id bigint;
ALTER TABLE mdw.rejects ADD COLUMN IF NOT EXISTS root_reason text;
CREATE INDEX IF NOT EXISTS rejects_root ON mdw.rejects (root_phase, root_legacy_id);

-- The root of a reject through parent PARENT_ID of phase PARENT_PHASE: the
-- parent's own root, or the parent itself; no row when the parent has no
-- reject.
CREATE OR REPLACE FUNCTION mdw.reject_root(parent_phase text, parent_id bigint,
                                           OUT phase text, OUT legacy_id bigint, OUT reason text)
RETURNS SETOF record LANGUAGE sql STABLE AS $$
    SELECT COALESCE(r.root_phase, r.phase), COALESCE(r.root_legacy_id, r.legacy_id),
           COALESCE(r.root_reason, r.reason)
      FROM mdw.rejects r WHERE r.phase = parent_phase AND r.legacy_id = parent_id
     ORDER BY r.id DESC LIMIT 1
$$;
