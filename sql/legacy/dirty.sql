-- The dirty variant of the demo data (mdwctl legacy-demo --dirty), applied
-- after demo.sql: every dirt kind raised to a high rate, plus rows that the
-- normal generator never makes. Deterministic (no random()): rows are picked
-- by id arithmetic.
--
-- | what                                   | table                   | rate / rows                       |
-- |----------------------------------------|-------------------------|-----------------------------------|
-- | blank email                            | auth_user               | 1 in 10                           |
-- | malformed email ('@' removed)          | auth_user               | 1 in 11                           |
-- | email duplicated up to case and spaces | auth_user               | 1 in 9 (copies the previous user) |
-- | dangling doctor / office               | dispatch_patient        | 1 in 13 / 1 in 17                 |
-- | sex dirt / birthdate edge              | dispatch_patient        | 1 in 7 / 1 in 19                  |
-- | dangling patient / creator             | dispatch_project        | 1 in 12 / 1 in 23                 |
-- | unknown type / negative size           | dispatch_project        | 1 in 15 / 1 in 16                 |
-- | dangling project / equal timestamps    | dispatch_state          | 1 in 8 / 1 in 6                   |
-- | malformed / non-array steps            | dispatch_template       | 1 in 4 / 1 in 5                   |
-- | very long text (names at their column  | every text column       | a few rows each                   |
-- |   limit in 4-byte UTF-8, 200 kB notes)  |                         |                                   |
-- | 4-byte UTF-8 and combining characters  | names, notes, steps     | a few rows each                   |
-- | timestamps at the edges of the range   | created_at, changed_at  | 4713 BC and 294276 AD             |
-- | ids near 2^31-1                        | every table             | one row each at 2147483647        |
-- | ids at the low end: -2^31, -11 and 0    | all but the two below   | one chain of rows each            |
-- | an empty table                         | dispatch_office_doctors | all rows deleted                  |
-- | a table with one row                   | dispatch_template       | one row kept                      |
UPDATE auth_user SET email = '' WHERE id % 10 = 1;
UPDATE auth_user SET email = replace(email, '@', '') WHERE id % 11 = 2;
UPDATE auth_user u SET email = '  ' || upper(p.email) || ' '
  FROM auth_user p WHERE u.id % 9 = 4 AND p.id = (SELECT max(id) FROM auth_user q WHERE q.id < u.id AND q.email <> '');
UPDATE dispatch_patient SET doctor_id = 2147483000 WHERE id % 13 = 5;
UPDATE dispatch_patient SET office_id = 2147483001 WHERE id % 17 = 6;
UPDATE dispatch_patient SET sex = 'Z' WHERE id % 7 = 3;
UPDATE dispatch_patient SET birthdate = CASE WHEN id % 2 = 0 THEN '4713-01-01 BC'::date ELSE '5874897-12-31'::date END
  WHERE id % 19 = 8;
UPDATE dispatch_project SET patient_id = 2147483002 WHERE id % 12 = 7;
UPDATE dispatch_project SET creator_id = 2147483003 WHERE id % 23 = 9;
UPDATE dispatch_project SET type = 42 WHERE id % 15 = 10;
UPDATE dispatch_project SET size = -size - 1 WHERE id % 16 = 11 AND size IS NOT NULL;
UPDATE dispatch_state SET project_id = 2147483004 WHERE id % 8 = 1;
UPDATE dispatch_state s SET changed_at = (SELECT p.changed_at FROM dispatch_state p
    WHERE p.project_id = s.project_id AND p.id < s.id ORDER BY p.id LIMIT 1)
  WHERE s.id % 6 = 2 AND EXISTS (SELECT 1 FROM dispatch_state p WHERE p.project_id = s.project_id AND p.id < s.id);
UPDATE dispatch_template SET steps = '[{"name":"Scan",' WHERE id % 4 = 1;
UPDATE dispatch_template SET steps = '"Scan then setup"' WHERE id % 5 = 2;

-- very long and exotic text
UPDATE auth_user SET first_name = repeat('𝔄', 150), last_name = repeat('é', 150) WHERE id = (SELECT min(id) FROM auth_user);
UPDATE dispatch_office SET name = repeat('ॐ', 255), address = repeat('a', 255) WHERE id = (SELECT min(id) FROM dispatch_office);
UPDATE dispatch_patient SET first_name = repeat('🦷', 100), last_name = repeat('n' || chr(771), 50)
  WHERE id IN (SELECT id FROM dispatch_patient ORDER BY id LIMIT 3);
UPDATE dispatch_project SET notes = repeat('IPR 0.3mm between 12-13, attachments on 13 and 23 🦷. ', 4000),
  name = repeat('Ω', 255) WHERE id IN (SELECT id FROM dispatch_project ORDER BY id LIMIT 5);
UPDATE dispatch_project SET notes = E'tab\there, newline\nthere, backslash \\ and \\. and quotes '' "'
  WHERE id IN (SELECT id FROM dispatch_project ORDER BY id LIMIT 5 OFFSET 5);

-- timestamps at the edges of the range
UPDATE dispatch_office SET created_at = '4713-01-01 00:00:00+00 BC' WHERE id = (SELECT max(id) FROM dispatch_office);
UPDATE dispatch_project SET created_at = '294276-12-31 23:59:59+00', updated_at = '294276-12-31 23:59:59+00'
  WHERE id = (SELECT max(id) FROM dispatch_project);
UPDATE dispatch_state SET changed_at = '4713-01-01 00:00:00+00 BC' WHERE id = (SELECT min(id) FROM dispatch_state);

-- ids near 2^31-1
INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
  VALUES (2147483647, 'x', false, 'last.user', 'Last', 'User', 'last.user@example.com', false, true, now());
INSERT INTO dispatch_office (id, name, is_active, created_at) VALUES (2147483647, 'Last office', true, now());
INSERT INTO dispatch_patient (id, doctor_id, office_id, first_name, last_name, status, archived, suspended, created_at, updated_at)
  VALUES (2147483647, 2147483647, 2147483647, 'Last', 'Patient', 1, false, false, now(), now());
INSERT INTO dispatch_project (id, uid, patient_id, creator_id, name, type, status, size, notes, created_at, updated_at)
  VALUES (2147483647, '00000000-0000-4000-8000-7fffffffffff', 2147483647, 2147483647, 'Last scan', 4, 1,
          9223372036854775807, 'Last note', now(), now());
INSERT INTO dispatch_state (id, project_id, status, actor_id, changed_at)
  VALUES (2147483647, 2147483647, 1, 2147483647, now());

-- an empty table and a table with one row
DELETE FROM dispatch_office_doctors;
DELETE FROM dispatch_template WHERE id <> (SELECT min(id) FROM dispatch_template);

-- ids at the low end of the range: one chain per id (user, office, patient,
-- project, state), each pointing at its own parents
INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
  SELECT i, 'x', false, 'low.user' || i, 'Low', 'User', 'low.user' || i || '@example.com', false, true, now()
  FROM unnest(ARRAY[-2147483648, -11, 0]) i;
INSERT INTO dispatch_office (id, name, is_active, created_at)
  SELECT i, 'Low office ' || i, true, now() FROM unnest(ARRAY[-2147483648, -11, 0]) i;
INSERT INTO dispatch_patient (id, doctor_id, office_id, first_name, last_name, status, archived, suspended, created_at, updated_at)
  SELECT i, i, i, 'Low', 'Patient', 1, false, false, now(), now() FROM unnest(ARRAY[-2147483648, -11, 0]) i;
INSERT INTO dispatch_project (id, uid, patient_id, creator_id, name, type, status, size, notes, created_at, updated_at)
  SELECT i, md5('low' || i)::uuid, i, i, 'Low scan', 4, 1, 1, 'Low note', now(), now()
  FROM unnest(ARRAY[-2147483648, -11, 0]) i;
INSERT INTO dispatch_state (id, project_id, status, actor_id, changed_at)
  SELECT i, i, 1, i, now() FROM unnest(ARRAY[-2147483648, -11, 0]) i;
ANALYZE;
