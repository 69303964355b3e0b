-- The worker records the hashes of the rows a chunk made (mdw.row_hashes,
-- 008_catch_up.sql) in the chunk's own transaction, and how many in its
-- ledger row: rows_hashed. NULL: a chunk done without them (a worker from
-- before this column, or a phase without hashes); the coordinator records
-- those phases' hashes itself once the phase is validated.
ALTER TABLE mdw.chunks ADD COLUMN IF NOT EXISTS rows_hashed bigint;
