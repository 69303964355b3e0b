-- Counts each kind of dirt in a legacy database (see the table at the top of
-- demo.sql): one row (kind, table_name, n) per kind, n = number of offending
-- rows (for duplicates: the rows beyond the first of each group). On the demo
-- data every n is > 0. One SELECT, read-only, no helper functions.
--
-- JSON validity (PostgreSQL 15 has no IS JSON): steps_red reduces each text
-- the way a parser would: strings -> S, numbers/true/false/null -> N, drop
-- whitespace, then repeatedly [V,V,...] -> V and {S:V,...} -> V; the text is
-- valid JSON iff it reduces to a single S, N or V.
WITH RECURSIVE
users AS (
    SELECT id, email, lower(btrim(email)) AS norm FROM auth_user
),
canon AS (  -- the user each user becomes once emails are merged (lowest id)
    SELECT id, CASE WHEN norm = '' THEN id ELSE min(id) OVER (PARTITION BY norm) END AS cid FROM users
),
steps_red (id, s, prev, depth) AS (
    SELECT id,
           regexp_replace(
               regexp_replace(
                   regexp_replace(steps, '"([^"\\[:cntrl:]]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"', 'S', 'g'),
                   '-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?|true|false|null', 'N', 'g'),
               '[ \t\n\r]+', '', 'g'),
           NULL::text, 0
    FROM dispatch_template WHERE steps IS NOT NULL
    UNION ALL
    SELECT id,
           regexp_replace(regexp_replace(s, '\[([SNV](,[SNV])*)?\]', 'V', 'g'),
                          '\{(S:[SNV](,S:[SNV])*)?\}', 'V', 'g'),
           s, depth + 1
    FROM steps_red WHERE s IS DISTINCT FROM prev AND depth < 200
),
steps_ok AS (
    SELECT DISTINCT ON (r.id) r.id, r.s IN ('S', 'N', 'V') AS valid,
           left(btrim(t.steps, E' \t\n\r'), 1) = '[' AS is_array
    FROM steps_red r JOIN dispatch_template t ON t.id = r.id
    ORDER BY r.id, r.depth DESC
),
gaps AS (
    SELECT 'auth_user' AS t, count(*) AS c, max(id)::bigint - min(id) + 1 AS span FROM auth_user
    UNION ALL SELECT 'dispatch_office', count(*), max(id)::bigint - min(id) + 1 FROM dispatch_office
    UNION ALL SELECT 'dispatch_office_doctors', count(*), max(id)::bigint - min(id) + 1 FROM dispatch_office_doctors
    UNION ALL SELECT 'dispatch_patient', count(*), max(id)::bigint - min(id) + 1 FROM dispatch_patient
    UNION ALL SELECT 'dispatch_project', count(*), max(id)::bigint - min(id) + 1 FROM dispatch_project
    UNION ALL SELECT 'dispatch_state', count(*), max(id)::bigint - min(id) + 1 FROM dispatch_state
    UNION ALL SELECT 'dispatch_template', count(*), max(id)::bigint - min(id) + 1 FROM dispatch_template
),
summary (ord, kind, table_name, n) AS (
    -- auth_user
    SELECT 1, 'duplicate_email', 'auth_user',
           (SELECT coalesce(sum(c - 1), 0) FROM (SELECT count(*) AS c FROM users WHERE norm <> '' GROUP BY norm) g)
    UNION ALL SELECT 2, 'blank_email', 'auth_user', (SELECT count(*) FROM users WHERE norm = '')
    UNION ALL SELECT 3, 'malformed_email', 'auth_user',
           (SELECT count(*) FROM users WHERE norm <> '' AND norm !~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$')
    UNION ALL SELECT 4, 'padded_email', 'auth_user', (SELECT count(*) FROM users WHERE norm <> '' AND email <> btrim(email))
    UNION ALL SELECT 5, 'blank_first_name', 'auth_user', (SELECT count(*) FROM auth_user WHERE btrim(first_name) = '')
    UNION ALL SELECT 6, 'blank_last_name', 'auth_user', (SELECT count(*) FROM auth_user WHERE btrim(last_name) = '')
    UNION ALL SELECT 7, 'id_jump', 'auth_user',
           (SELECT count(*) FROM (SELECT id - lag(id) OVER (ORDER BY id) AS d FROM auth_user) j WHERE d > 10000)
    -- dispatch_office
    UNION ALL SELECT 10, 'null_country', 'dispatch_office', (SELECT count(*) FROM dispatch_office WHERE country IS NULL)
    UNION ALL SELECT 11, 'lowercase_country', 'dispatch_office',
           (SELECT count(*) FROM dispatch_office WHERE country <> upper(country))
    -- dispatch_patient
    UNION ALL SELECT 20, 'null_doctor', 'dispatch_patient', (SELECT count(*) FROM dispatch_patient WHERE doctor_id IS NULL)
    UNION ALL SELECT 21, 'dangling_doctor', 'dispatch_patient',
           (SELECT count(*) FROM dispatch_patient p
            WHERE p.doctor_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM auth_user u WHERE u.id = p.doctor_id))
    UNION ALL SELECT 22, 'doctor_blank_email', 'dispatch_patient',
           (SELECT count(*) FROM dispatch_patient p JOIN auth_user u ON u.id = p.doctor_id WHERE btrim(u.email) = '')
    UNION ALL SELECT 23, 'null_office', 'dispatch_patient', (SELECT count(*) FROM dispatch_patient WHERE office_id IS NULL)
    UNION ALL SELECT 24, 'dangling_office', 'dispatch_patient',
           (SELECT count(*) FROM dispatch_patient p
            WHERE p.office_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dispatch_office o WHERE o.id = p.office_id))
    UNION ALL SELECT 25, 'missing_sex', 'dispatch_patient',
           (SELECT count(*) FROM dispatch_patient WHERE sex IS NULL OR sex = '')
    UNION ALL SELECT 26, 'bad_sex', 'dispatch_patient',
           (SELECT count(*) FROM dispatch_patient WHERE sex NOT IN ('m', 'f', ''))
    UNION ALL SELECT 27, 'bad_birthdate', 'dispatch_patient',
           (SELECT count(*) FROM dispatch_patient WHERE birthdate > current_date OR birthdate < date '1900-01-01')
    -- dispatch_project
    UNION ALL SELECT 30, 'null_patient', 'dispatch_project', (SELECT count(*) FROM dispatch_project WHERE patient_id IS NULL)
    UNION ALL SELECT 31, 'dangling_patient', 'dispatch_project',
           (SELECT count(*) FROM dispatch_project j
            WHERE j.patient_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dispatch_patient p WHERE p.id = j.patient_id))
    UNION ALL SELECT 32, 'null_creator', 'dispatch_project', (SELECT count(*) FROM dispatch_project WHERE creator_id IS NULL)
    UNION ALL SELECT 33, 'dangling_creator', 'dispatch_project',
           (SELECT count(*) FROM dispatch_project j
            WHERE j.creator_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM auth_user u WHERE u.id = j.creator_id))
    UNION ALL SELECT 34, 'unknown_type', 'dispatch_project',
           (SELECT count(*) FROM dispatch_project WHERE type NOT BETWEEN 0 AND 5)
    UNION ALL SELECT 35, 'null_size', 'dispatch_project', (SELECT count(*) FROM dispatch_project WHERE size IS NULL)
    UNION ALL SELECT 36, 'negative_size', 'dispatch_project', (SELECT count(*) FROM dispatch_project WHERE size < 0)
    UNION ALL SELECT 37, 'null_notes', 'dispatch_project', (SELECT count(*) FROM dispatch_project WHERE notes IS NULL)
    UNION ALL SELECT 38, 'blank_notes', 'dispatch_project', (SELECT count(*) FROM dispatch_project WHERE btrim(notes) = '')
    UNION ALL SELECT 39, 'repeated_notes', 'dispatch_project',
           (SELECT count(*) - count(DISTINCT notes) FROM dispatch_project WHERE btrim(notes) <> '')
    -- dispatch_office_doctors
    UNION ALL SELECT 40, 'dangling_member_office', 'dispatch_office_doctors',
           (SELECT count(*) FROM dispatch_office_doctors m
            WHERE NOT EXISTS (SELECT 1 FROM dispatch_office o WHERE o.id = m.office_id))
    UNION ALL SELECT 41, 'dangling_member_user', 'dispatch_office_doctors',
           (SELECT count(*) FROM dispatch_office_doctors m
            WHERE NOT EXISTS (SELECT 1 FROM auth_user u WHERE u.id = m.user_id))
    UNION ALL SELECT 42, 'duplicate_member_after_merge', 'dispatch_office_doctors',
           (SELECT coalesce(sum(c - 1), 0)
            FROM (SELECT count(*) AS c FROM dispatch_office_doctors m JOIN canon ON canon.id = m.user_id
                  GROUP BY m.office_id, canon.cid) g)
    -- dispatch_state
    UNION ALL SELECT 50, 'dangling_state_project', 'dispatch_state',
           (SELECT count(*) FROM dispatch_state s
            WHERE NOT EXISTS (SELECT 1 FROM dispatch_project j WHERE j.id = s.project_id))
    UNION ALL SELECT 51, 'duplicate_state_ts', 'dispatch_state',
           (SELECT coalesce(sum(c - 1), 0)
            FROM (SELECT count(*) AS c FROM dispatch_state GROUP BY project_id, changed_at) g)
    UNION ALL SELECT 52, 'null_actor', 'dispatch_state', (SELECT count(*) FROM dispatch_state WHERE actor_id IS NULL)
    UNION ALL SELECT 53, 'dangling_actor', 'dispatch_state',
           (SELECT count(*) FROM dispatch_state s
            WHERE s.actor_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM auth_user u WHERE u.id = s.actor_id))
    -- dispatch_template
    UNION ALL SELECT 60, 'invalid_steps_json', 'dispatch_template', (SELECT count(*) FROM steps_ok WHERE NOT valid)
    UNION ALL SELECT 61, 'nonarray_steps', 'dispatch_template', (SELECT count(*) FROM steps_ok WHERE valid AND NOT is_array)
    UNION ALL SELECT 62, 'null_steps', 'dispatch_template', (SELECT count(*) FROM dispatch_template WHERE steps IS NULL)
    UNION ALL SELECT 63, 'duplicate_template_name', 'dispatch_template',
           (SELECT coalesce(sum(c - 1), 0)
            FROM (SELECT count(*) AS c FROM dispatch_template WHERE office_id IS NOT NULL GROUP BY office_id, name) g)
    UNION ALL SELECT 64, 'duplicate_global_template_name', 'dispatch_template',
           (SELECT coalesce(sum(c - 1), 0)
            FROM (SELECT count(*) AS c FROM dispatch_template WHERE office_id IS NULL GROUP BY name) g)
    UNION ALL SELECT 65, 'dangling_template_office', 'dispatch_template',
           (SELECT count(*) FROM dispatch_template t
            WHERE t.office_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dispatch_office o WHERE o.id = t.office_id))
    -- every table
    UNION ALL SELECT 70 + row_number() OVER (ORDER BY t), 'sparse_ids', t, span - c FROM gaps
)
SELECT kind::text, table_name::text, n::bigint FROM summary ORDER BY ord;
