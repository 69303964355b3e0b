-- A catch-up's 'update' rows (mdw.catchup_rows, 008_catch_up.sql) carry the
-- version of the target row that the plan found unchanged since the migration
-- wrote it: its xmin, read in the same statement as its hash. The worker
-- updates the row only while it is still that version; a row the application
-- changed between the plan and the chunk is left alone and becomes a conflict
-- (changed_in_target). NULL (planned before this column existed): a conflict.
ALTER TABLE mdw.catchup_rows ADD COLUMN IF NOT EXISTS target_xmin xid;
