-- Least-privilege roles for mdw-migrate. Run with psql AFTER the target schema
-- exists (`mdwctl schema`), as a superuser or the databases' owner:
--
--   psql -v legacy_db=mdw_legacy -v target_db=mdw_target -f sql/roles.sql
--
-- Roles (create passwords or certificates for them as your site requires;
-- e.g. ALTER ROLE mdw_worker PASSWORD '...'):
--   mdw_worker    the workers: SELECT on the seven legacy tables; in the target,
--                 SELECT/INSERT on the application tables (UPDATE only on the
--                 embedding links, which follow a changed text, and DELETE only
--                 on them: a text the provider now refuses drops its stale link), the mdw ledger
--                 (update chunk rows, insert rejects, merges and row hashes), temporary
--                 staging tables. No DDL, no other DELETE, nothing else. And (Postgres
--                 15+) SET on session_replication_role, so that a chunk can
--                 load with the per-row FK triggers off (MDW_FK_CHECKS=phase;
--                 the coordinator checks every foreign key set-based before
--                 the phase completes). Without it, Postgres checks each row.
--   mdw_readonly  mdwctl status/report/validate and dashboards: SELECT only.
-- The coordinator applies the schema, so it runs as the target's owner.
\set ON_ERROR_STOP on
SELECT 'CREATE ROLE mdw_worker LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mdw_worker') \gexec
SELECT 'CREATE ROLE mdw_readonly LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mdw_readonly') \gexec

\connect :legacy_db
GRANT CONNECT ON DATABASE :"legacy_db" TO mdw_worker;
GRANT USAGE ON SCHEMA public TO mdw_worker;
GRANT SELECT ON public.auth_user, public.dispatch_office, public.dispatch_office_doctors, public.dispatch_patient,
    public.dispatch_project, public.dispatch_state, public.dispatch_template TO mdw_worker;

\connect :target_db
GRANT CONNECT, TEMPORARY ON DATABASE :"target_db" TO mdw_worker;
GRANT CONNECT ON DATABASE :"target_db" TO mdw_readonly;
GRANT USAGE ON SCHEMA public, mdw TO mdw_worker, mdw_readonly;
GRANT SELECT, INSERT ON public.practices, public.profiles, public.profile_legacy_users, public.patients,
    public.cases, public.projects, public.practice_members, public.case_states, public.workflow_templates,
    public.ai_embeddings, public.ai_embedding_sources TO mdw_worker;
GRANT UPDATE (sha256_hash, practice_id, mdw_run_id), DELETE ON public.ai_embedding_sources TO mdw_worker;
GRANT SELECT ON mdw.runs TO mdw_worker;
GRANT SELECT, UPDATE (status, attempts, worker, started_at, finished_at, last_error, rows_read, rows_inserted,
    rows_existing, rows_merged, rows_rejected, rows_updated, rows_hashed) ON mdw.chunks TO mdw_worker;
-- the hashes of the rows each chunk made (shared/row_hash.c), replacing an earlier run's of the same row
GRANT SELECT, INSERT, UPDATE (hash, run_id) ON mdw.row_hashes TO mdw_worker;
-- a catch-up run's updates in place (worker/catchup_update.c): the rows mdw.catchup_rows lists
GRANT UPDATE ON public.practices, public.patients, public.cases, public.projects, public.practice_members,
    public.case_states, public.workflow_templates TO mdw_worker;
GRANT SELECT, UPDATE (action, reason) ON mdw.catchup_rows TO mdw_worker; -- a listed row the application changed: a conflict
GRANT SELECT, UPDATE (status, error) ON mdw.run_phases TO mdw_worker;
GRANT SELECT, INSERT ON mdw.rejects, mdw.merges, mdw.flags TO mdw_worker;
GRANT USAGE ON SEQUENCE mdw.rejects_id_seq, mdw.flags_id_seq TO mdw_worker;
GRANT SELECT ON ALL TABLES IN SCHEMA public, mdw TO mdw_readonly;
-- Postgres 15+: lets the worker skip the per-row FK triggers in its own chunk
-- transactions (SET LOCAL session_replication_role = replica).
SELECT 'GRANT SET ON PARAMETER session_replication_role TO mdw_worker'
 WHERE current_setting('server_version_num')::int >= 150000 \gexec
