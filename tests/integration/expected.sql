-- What the operators' validation queries must return after a first migration
-- into an empty target, computed from the legacy data alone, independently
-- of the worker code, from the rules documented in docs/transforms.md.
-- One row per operators' query: (query, expected).
CREATE TEMP TABLE ok_office AS
  SELECT id FROM dispatch_office WHERE btrim(name, E' \t\n\r\f\v') <> '';
CREATE TEMP TABLE ok_user AS
  SELECT id, e AS email FROM (SELECT id, lower(btrim(email, E' \t\n\r\f\v')) AS e FROM auth_user) u
  WHERE e ~ '^[^@[:space:][:cntrl:]]+@[^@[:space:][:cntrl:].][^@[:space:][:cntrl:]]*$'
    AND e LIKE '%@%.%' AND e NOT LIKE '%.';
-- A reference that dangles in the legacy data (no such row there) is
-- repaired: NULL, or for a patient's office the only office of its doctor;
-- a reference to a legacy row that was rejected rejects the row.
CREATE TEMP TABLE ok_patient AS
  SELECT id, CASE WHEN office_id IS NULL OR office_id IN (SELECT id FROM dispatch_office) THEN office_id
                  ELSE (SELECT min(d.office_id) FROM dispatch_office_doctors d JOIN dispatch_office o ON o.id = d.office_id
                        WHERE d.user_id = p.doctor_id AND p.doctor_id IN (SELECT id FROM auth_user)
                        HAVING count(DISTINCT d.office_id) = 1) END AS office_id
  FROM dispatch_patient p
  WHERE status BETWEEN 0 AND 4
    AND (office_id IS NULL OR office_id IN (SELECT id FROM ok_office) OR office_id NOT IN (SELECT id FROM dispatch_office))
    AND (doctor_id IS NULL OR doctor_id IN (SELECT id FROM ok_user) OR doctor_id NOT IN (SELECT id FROM auth_user));
CREATE TEMP TABLE ok_case AS
  SELECT id, CASE WHEN patient_id IN (SELECT id FROM ok_patient) THEN patient_id END AS patient_id, creator_id
  FROM dispatch_project
  WHERE type BETWEEN 0 AND 5 AND status BETWEEN 0 AND 5
    AND (patient_id IS NULL OR patient_id IN (SELECT id FROM ok_patient)
         OR patient_id NOT IN (SELECT id FROM dispatch_patient));
CREATE TEMP TABLE ok_project AS
  SELECT id FROM ok_case WHERE creator_id IS NULL OR creator_id IN (SELECT id FROM ok_user)
    OR creator_id NOT IN (SELECT id FROM auth_user);
CREATE TEMP TABLE ok_member AS
  SELECT d.office_id, u.email FROM dispatch_office_doctors d JOIN ok_user u ON u.id = d.user_id
  WHERE d.office_id IN (SELECT id FROM ok_office);
CREATE TEMP TABLE ok_state AS
  SELECT project_id, changed_at FROM dispatch_state
  WHERE status BETWEEN 0 AND 5 AND project_id IN (SELECT id FROM ok_case)
    AND (actor_id IS NULL OR actor_id IN (SELECT id FROM ok_user) OR actor_id NOT IN (SELECT id FROM auth_user));
CREATE FUNCTION pg_temp.is_json_array(t text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  RETURN t IS NULL OR jsonb_typeof(t::jsonb) = 'array';
EXCEPTION WHEN others THEN
  RETURN false;
END $$;
CREATE TEMP TABLE ok_template AS
  SELECT id, office_id, btrim(name, E' \t\n\r\f\v') AS name, is_active FROM dispatch_template
  WHERE (office_id IS NULL OR office_id IN (SELECT id FROM ok_office))
    AND btrim(name, E' \t\n\r\f\v') <> '' AND pg_temp.is_json_array(steps);

SELECT 'SELECT COUNT(*) FROM practices' AS q, count(*) AS expected FROM ok_office
UNION ALL SELECT 'SELECT COUNT(*) FROM profiles', count(DISTINCT email) FROM ok_user
UNION ALL SELECT 'SELECT COUNT(DISTINCT email) FROM profiles', count(DISTINCT email) FROM ok_user
UNION ALL SELECT 'SELECT COUNT(*) FROM patients', count(*) FROM ok_patient
UNION ALL SELECT 'SELECT COUNT(*) FROM patients WHERE practice_id IS NOT NULL', count(office_id) FROM ok_patient
UNION ALL SELECT 'SELECT COUNT(*) FROM cases', count(*) FROM ok_case
UNION ALL SELECT 'SELECT COUNT(*) FROM cases WHERE patient_id IS NOT NULL', count(patient_id) FROM ok_case
UNION ALL SELECT 'SELECT COUNT(*) FROM projects', count(*) FROM ok_project
UNION ALL SELECT 'SELECT COUNT(*) FROM projects WHERE case_id IS NOT NULL', count(*) FROM ok_project
UNION ALL SELECT 'SELECT COUNT(*) FROM practice_members', count(DISTINCT (office_id, email)) FROM ok_member
UNION ALL SELECT 'SELECT COUNT(*) FROM practice_members WHERE is_active = true', count(DISTINCT (office_id, email)) FROM ok_member
UNION ALL SELECT 'SELECT COUNT(*) FROM case_states', count(DISTINCT (project_id, changed_at)) FROM ok_state
UNION ALL SELECT 'SELECT COUNT(DISTINCT case_id) FROM case_states', count(DISTINCT project_id) FROM ok_state
UNION ALL SELECT 'SELECT COUNT(*) FROM workflow_templates', count(DISTINCT (office_id, name)) FROM ok_template
UNION ALL SELECT 'SELECT COUNT(*) FROM workflow_templates WHERE is_active = true',
  -- within one chunk the lowest legacy id of a (practice, name) group wins
  count(*) FILTER (WHERE is_active) FROM (SELECT DISTINCT ON (office_id, name) is_active FROM ok_template
                                          ORDER BY office_id, name, id) w;
