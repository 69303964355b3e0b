-- Secondary indexes built after the load (coordinator/defer_index.c).
--
-- A phase planned into an empty target table drops the table's non-unique
-- indexes (the unique keys that serve ON CONFLICT stay) and records each
-- definition here, in the plan's transaction; it builds them again, and
-- deletes the row, when its last chunk is done (before its validation) or
-- when it fails. A coordinator that starts builds those of every other run
-- (a run given up for a new one). One row per index: an index is deferred
-- by one run at a time.
CREATE TABLE IF NOT EXISTS mdw.deferred_indexes (
    name        text PRIMARY KEY,
    run_id      bigint NOT NULL REFERENCES mdw.runs (id),
    phase       text NOT NULL,
    definition  text NOT NULL,
    deferred_at timestamptz NOT NULL DEFAULT now()
);
