-- What a first migration into an empty target must have recorded, computed
-- from the legacy data alone with the rules of docs/transforms.md, for
-- test_dirty.sh (legacy-demo --dirty): expected.sql's operators' queries, then
-- per relational phase the ledger's rows read, inserted, existing, merged and
-- rejected, and per phase and reason the rejects. One row per query on the
-- target: (query, expected[, what it checks]). A reason is counted in the
-- order the worker applies the rules: the transform's own checks first, then
-- the parents. practice_members has no reason of its own here: the dirty data
-- empties its table (the last row checks that no other reason appears).
\ir expected.sql

CREATE TEMP TABLE dirt_outcome (phase, read, kept, inserted) AS VALUES
  ('practices', (SELECT count(*) FROM dispatch_office), (SELECT count(*) FROM ok_office),
   (SELECT count(*) FROM ok_office)),
  ('profiles', (SELECT count(*) FROM auth_user), (SELECT count(*) FROM ok_user),
   (SELECT count(DISTINCT email) FROM ok_user)),
  ('patients', (SELECT count(*) FROM dispatch_patient), (SELECT count(*) FROM ok_patient),
   (SELECT count(*) FROM ok_patient)),
  ('cases', (SELECT count(*) FROM dispatch_project), (SELECT count(*) FROM ok_case), (SELECT count(*) FROM ok_case)),
  ('projects', (SELECT count(*) FROM dispatch_project), (SELECT count(*) FROM ok_project),
   (SELECT count(*) FROM ok_project)),
  ('practice_members', (SELECT count(*) FROM dispatch_office_doctors), (SELECT count(*) FROM ok_member),
   (SELECT count(DISTINCT (office_id, email)) FROM ok_member)),
  ('case_states', (SELECT count(*) FROM dispatch_state), (SELECT count(*) FROM ok_state),
   (SELECT count(DISTINCT (project_id, changed_at)) FROM ok_state)),
  ('workflow_templates', (SELECT count(*) FROM dispatch_template), (SELECT count(*) FROM ok_template),
   (SELECT count(DISTINCT (office_id, name)) FROM ok_template));

-- Every row not kept is rejected; of the kept ones, a duplicate (same email,
-- same practice and profile, same case and timestamp, same practice and name)
-- is merged; nothing exists before a first run.
SELECT format('SELECT concat_ws(%L, coalesce(sum(rows_read), 0), coalesce(sum(rows_inserted), 0), '
              'coalesce(sum(rows_existing), 0), coalesce(sum(rows_merged), 0), coalesce(sum(rows_rejected), 0)) '
              'FROM mdw.chunks WHERE phase = %L', ' ', phase),
       concat_ws(' ', read, inserted, 0, kept - inserted, read - kept),
       phase || ': rows read inserted existing merged rejected'
FROM dirt_outcome;

CREATE TEMP TABLE dirt_reject (phase, reason, n) AS
WITH ws(c) AS (VALUES (E' \t\n\r\f\v')),
rejected_user AS (SELECT id FROM auth_user WHERE id NOT IN (SELECT id FROM ok_user)),
patient AS (SELECT p.*, status BETWEEN 0 AND 4 AS status_ok,
                   office_id IN (SELECT id FROM dispatch_office) AND office_id NOT IN (SELECT id FROM ok_office)
                     AS office_rejected
            FROM dispatch_patient p),
project AS (SELECT p.*, type BETWEEN 0 AND 5 AS type_ok, status BETWEEN 0 AND 5 AS status_ok FROM dispatch_project p),
state AS (SELECT s.*, project_id NOT IN (SELECT id FROM dispatch_project) AS dangles FROM dispatch_state s),
template AS (SELECT t.*, office_id NOT IN (SELECT id FROM dispatch_office) AS dangles,
                    btrim(coalesce(name, ''), (SELECT c FROM ws)) = '' AS blank
             FROM dispatch_template t)
SELECT 'practices', 'missing_name', count(*) FROM dispatch_office WHERE id NOT IN (SELECT id FROM ok_office)
UNION ALL SELECT 'profiles', 'missing_email', count(*) FROM rejected_user r JOIN auth_user u USING (id)
  WHERE btrim(u.email, (SELECT c FROM ws)) = ''
UNION ALL SELECT 'profiles', 'invalid_email', count(*) FROM rejected_user r JOIN auth_user u USING (id)
  WHERE btrim(u.email, (SELECT c FROM ws)) <> ''
UNION ALL SELECT 'patients', 'unknown_patient_status', count(*) FROM patient WHERE NOT coalesce(status_ok, false)
UNION ALL SELECT 'patients', 'orphan_practice', count(*) FROM patient WHERE status_ok AND office_rejected
UNION ALL SELECT 'patients', 'orphan_doctor', count(*) FROM patient
  WHERE status_ok AND NOT coalesce(office_rejected, false) AND doctor_id IN (SELECT id FROM rejected_user)
UNION ALL SELECT 'cases', 'unknown_case_type', count(*) FROM project WHERE NOT coalesce(type_ok, false)
UNION ALL SELECT 'cases', 'unknown_case_status', count(*) FROM project WHERE type_ok AND NOT coalesce(status_ok, false)
UNION ALL SELECT 'cases', 'orphan_patient', count(*) FROM project WHERE type_ok AND status_ok
  AND patient_id IN (SELECT id FROM dispatch_patient) AND patient_id NOT IN (SELECT id FROM ok_patient)
UNION ALL SELECT 'projects', 'orphan_case', count(*) FROM dispatch_project WHERE id NOT IN (SELECT id FROM ok_case)
UNION ALL SELECT 'projects', 'orphan_creator', count(*) FROM ok_case WHERE creator_id IN (SELECT id FROM rejected_user)
UNION ALL SELECT 'case_states', 'dangling_case', count(*) FROM state WHERE dangles
UNION ALL SELECT 'case_states', 'unknown_state', count(*) FROM state
  WHERE NOT dangles AND NOT coalesce(status BETWEEN 0 AND 5, false)
UNION ALL SELECT 'case_states', 'orphan_case', count(*) FROM state
  WHERE NOT dangles AND status BETWEEN 0 AND 5 AND project_id NOT IN (SELECT id FROM ok_case)
UNION ALL SELECT 'case_states', 'orphan_actor', count(*) FROM state
  WHERE project_id IN (SELECT id FROM ok_case) AND status BETWEEN 0 AND 5 AND actor_id IN (SELECT id FROM rejected_user)
UNION ALL SELECT 'workflow_templates', 'dangling_practice', count(*) FROM template WHERE dangles
UNION ALL SELECT 'workflow_templates', 'missing_name', count(*) FROM template WHERE NOT coalesce(dangles, false) AND blank
UNION ALL SELECT 'workflow_templates', 'invalid_steps_json', count(*) FROM template
  WHERE NOT coalesce(dangles, false) AND NOT blank AND NOT pg_temp.is_json_array(steps)
UNION ALL SELECT 'workflow_templates', 'orphan_practice', count(*) FROM template
  WHERE NOT coalesce(dangles, false) AND NOT blank AND pg_temp.is_json_array(steps)
  AND office_id NOT IN (SELECT id FROM ok_office);

SELECT format('SELECT count(*) FROM mdw.rejects WHERE phase = %L AND reason = %L', phase, reason), n,
       phase || ': rejected ' || reason FROM dirt_reject
UNION ALL SELECT format('SELECT count(*) FROM mdw.rejects WHERE (phase, reason) NOT IN (%s)',
                        string_agg(format('(%L, %L)', phase, reason), ', ')), 0, 'rejects for a reason the rules do not give'
FROM dirt_reject;
