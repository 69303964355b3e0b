-- mdw.row_hashes (008_catch_up.sql) is written for every row a run inserts
-- or updates: a full run records one hash per migrated row. Its run_id names
-- the run that wrote the hash (runs are never deleted); the foreign key to
-- mdw.runs made every one of those inserts run a trigger and a lookup, about
-- half the cost of the recording, for a reference that the coordinator
-- writes itself in the same statement as the run's own id.
ALTER TABLE mdw.row_hashes DROP CONSTRAINT IF EXISTS row_hashes_run_id_fkey;
