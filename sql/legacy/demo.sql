-- Demo data for the legacy database (run after schema.sql, in one session).
--
-- Parameters (set them first, e.g. SET mdw.scale = 1; SET mdw.seed = 42; or
-- PGOPTIONS='-c mdw.scale=1 -c mdw.seed=42' psql -f demo.sql):
--   mdw.scale  integer >= 1: every table gets exactly scale times the rows of
--              the production snapshot (auth_user 9101, dispatch_office 844,
--              dispatch_patient 7849, dispatch_project 66904,
--              dispatch_office_doctors 438, dispatch_state 4751,
--              dispatch_template 152)
--   mdw.seed   bigint: same scale and seed give identical data
--
-- Plain SQL (no psql meta-commands): it is sent as one multi-statement string.
-- Set-based: one INSERT ... SELECT per table over generate_series. All
-- randomness is deterministic: pg_temp.u(i, seed, stream) maps
-- hashint8extended(i * 1024 + stream, seed) to [0,1); every column draws from
-- its own stream. Timestamps are built from epoch seconds, so the data does
-- not depend on the session's TimeZone.
--
-- Ids are sparse everywhere: row i gets id 4*i + (0, 1 or 2), so the ids
-- 4*i + 3 never exist (they stand for deleted rows, and dangling references
-- point at them). auth_user ids additionally jump by 100000 * scale after the
-- first 80% of the rows.
--
-- Dirt, every kind at a low documented rate. "rate" is the probability per
-- row (of the table named). Besides the random draws, each dirt kind drawn by
-- pg_temp.kind() is forced on one row (a seed-dependent position), so every
-- kind is present at every scale and seed.
--
-- | dirt kind                       | table                   | rate   | how it is generated                                              |
-- |---------------------------------|-------------------------|--------|------------------------------------------------------------------|
-- | email duplicate up to case/space| auth_user               | ~2%    | copy of an earlier user's email (upper-cased, capitalised and/or |
-- |                                 |                         |        | space-padded); the copy also gets that user's names and role     |
-- |                                 |                         |        | (same person registered twice); drawn only if that user is clean |
-- | blank email ''                  | auth_user               | 1%     | email = ''                                                       |
-- | malformed email                 | auth_user               | 0.5%   | '@' replaced by '.', or 'name@', or 'name@@domain'               |
-- | padded email (otherwise unique) | auth_user               | 1%     | leading and/or trailing spaces                                   |
-- | blank first_name / last_name    | auth_user               | 1% each| ''                                                               |
-- | sparse ids, 100000*scale id jump| auth_user (all: gaps)   | -      | see above                                                        |
-- | country null                    | dispatch_office         | 2%     | NULL                                                             |
-- | country lower case              | dispatch_office         | 2%     | 'us', 'ca', 'mx'                                                 |
-- | doctor_id null                  | dispatch_patient        | 2%     | NULL                                                             |
-- | doctor_id dangling              | dispatch_patient        | 1%     | a never-used auth_user id (4*j+3 [+ jump])                       |
-- | doctor with a blank email       | dispatch_patient        | ~1%    | natural: doctors are drawn among all non-staff users             |
-- | office_id null                  | dispatch_patient        | 1%     | NULL                                                             |
-- | office_id dangling              | dispatch_patient        | 1%     | a never-used dispatch_office id (4*j+3)                          |
-- | sex ''                          | dispatch_patient        | 0.5%   | ''                                                               |
-- | sex null                        | dispatch_patient        | 0.5%   | NULL                                                             |
-- | sex dirt                        | dispatch_patient        | 1%     | one of 'x','M','F','?','u','1'                                   |
-- | birthdate in the future         | dispatch_patient        | 0.25%  | a date in 2030..2098                                             |
-- | birthdate before 1900           | dispatch_patient        | 0.25%  | a date in 1800..1899 or 1000..1029 (typo of 20xx)                |
-- | patient_id null                 | dispatch_project        | 1%     | NULL                                                             |
-- | patient_id dangling             | dispatch_project        | 1%     | a never-used dispatch_patient id (4*j+3)                         |
-- | creator_id null                 | dispatch_project        | 2%     | NULL (plus: creator = the patient's doctor, which may be null)   |
-- | creator_id dangling             | dispatch_project        | 0.5%   | a never-used auth_user id (plus: the patient's dangling doctor)  |
-- | unknown type                    | dispatch_project        | 0.5%   | one of 7, 99, -1, 6                                              |
-- | size null                       | dispatch_project        | 2%     | NULL                                                             |
-- | size negative                   | dispatch_project        | 0.5%   | -size or -1                                                      |
-- | notes null                      | dispatch_project        | 5%     | NULL                                                             |
-- | notes ''                        | dispatch_project        | 1%     | ''                                                               |
-- | notes repeated exactly          | dispatch_project        | most   | drawn (skewed) from a pool of 3000*scale notes; a few are ~10 kB |
-- | office_id dangling              | dispatch_office_doctors | 2%     | a never-used dispatch_office id                                  |
-- | user_id dangling                | dispatch_office_doctors | 2%     | a never-used auth_user id                                        |
-- | duplicate after email merge     | dispatch_office_doctors | ~2%    | max(1, rows/100) pairs of rows (office, user) and (office, twin) |
-- |                                 |                         |        | where twin's email equals user's up to case/spaces (last ids)    |
-- | project_id dangling             | dispatch_state          | ~1%    | 1% of the histories point at a never-used dispatch_project id    |
-- | identical changed_at            | dispatch_state          | ~3%    | 4.5% of the non-first states repeat the previous state's time    |
-- | actor_id null (system)          | dispatch_state          | 20%    | NULL                                                             |
-- | actor_id dangling               | dispatch_state          | 0.5%   | a never-used auth_user id                                        |
-- | steps malformed JSON            | dispatch_template       | 3%     | e.g. '[{"name":"Scan",', 'not json', trailing comma, ''          |
-- | steps valid JSON, not an array  | dispatch_template       | 2%     | e.g. '{"name":"Scan"}', '42', 'null', '"Scan, Setup"'            |
-- | steps null                      | dispatch_template       | 2%     | NULL                                                             |
-- | duplicate name in one office    | dispatch_template       | ~3%    | copies the previous template's office and name                   |
-- | duplicate global name           | dispatch_template       | 2%     | every 50th row (i % 50 = 25) is a global (office NULL)           |
-- |                                 |                         |        | 'Standard aligner workflow'; other globals (10%) collide too     |
-- | office_id dangling              | dispatch_template       | 1%     | a never-used dispatch_office id                                  |
--
-- sql/legacy/dirt_summary.sql counts each kind in a database.

SET client_min_messages = warning;
-- The generator's expressions are large but cheap: JIT compilation would
-- cost more than it saves (seconds per statement). RESET at the end.
SET jit = off;

-- ---------------------------------------------------------------- parameters
DO $$
BEGIN
    IF coalesce(current_setting('mdw.scale', true), '') !~ '^\s*[0-9]+\s*$'
       OR current_setting('mdw.scale')::int < 1 THEN
        RAISE EXCEPTION 'demo.sql: mdw.scale must be set to an integer >= 1 (SET mdw.scale = 1), got "%"',
            coalesce(current_setting('mdw.scale', true), '(unset)');
    END IF;
    IF coalesce(current_setting('mdw.seed', true), '') !~ '^\s*-?[0-9]+\s*$' THEN
        RAISE EXCEPTION 'demo.sql: mdw.seed must be set to an integer (SET mdw.seed = 42), got "%"',
            coalesce(current_setting('mdw.seed', true), '(unset)');
    END IF;
END $$;

DROP TABLE IF EXISTS pg_temp._p, pg_temp._doc, pg_temp._staff, pg_temp._twins, pg_temp._notes, pg_temp._idx;
CREATE TEMP TABLE _p AS
SELECT s.n, s.seed,
       s.n * 9101::bigint AS nu, s.n * 844::bigint AS no, s.n * 7849::bigint AS np,
       s.n * 66904::bigint AS nj, s.n * 438::bigint AS nm, s.n * 4751::bigint AS ns,
       s.n * 152::bigint AS nt, s.n * 3000::bigint AS npool
FROM (SELECT current_setting('mdw.scale')::int AS n, current_setting('mdw.seed')::bigint AS seed) s;

TRUNCATE auth_user, dispatch_office, dispatch_office_doctors, dispatch_patient, dispatch_project,
         dispatch_state, dispatch_template;

-- Loading is several times faster without the secondary indexes (random
-- uuids, timestamps): remember whatever indexes and unique constraints the
-- schema defines (except the primary keys), drop them, and recreate them
-- after the load (at "recreate the indexes" below). All of this runs in the
-- caller's transaction: an error leaves nothing half done when demo.sql is
-- sent as one string (PQexec). Run statement by statement (psql -f) a failure
-- can leave them dropped: run schema.sql again.
CREATE TEMP TABLE _idx AS
SELECT row_number() OVER (ORDER BY c.relname, i.relname) AS ord,
       CASE WHEN con.oid IS NULL THEN format('DROP INDEX %I.%I', n.nspname, i.relname)
            ELSE format('ALTER TABLE %I.%I DROP CONSTRAINT %I', n.nspname, c.relname, con.conname) END AS drop_ddl,
       CASE WHEN con.oid IS NULL THEN pg_get_indexdef(i.oid)
            ELSE format('ALTER TABLE %I.%I ADD CONSTRAINT %I %s', n.nspname, c.relname, con.conname,
                        pg_get_constraintdef(con.oid)) END AS create_ddl
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class c ON c.oid = x.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_constraint con ON con.conindid = i.oid AND con.conrelid = c.oid AND con.contype IN ('u', 'x')
WHERE c.oid IN ('auth_user'::regclass, 'dispatch_office'::regclass, 'dispatch_office_doctors'::regclass,
                'dispatch_patient'::regclass, 'dispatch_project'::regclass, 'dispatch_state'::regclass,
                'dispatch_template'::regclass)
  AND NOT x.indisprimary;

DO $$
DECLARE ddl text;
BEGIN
    FOR ddl IN SELECT drop_ddl FROM _idx ORDER BY ord LOOP
        EXECUTE ddl;
    END LOOP;
END $$;

-- ---------------------------------------------------------------- helpers
-- (simple SQL functions: the planner inlines them)

-- uniform in [0,1)
CREATE OR REPLACE FUNCTION pg_temp.u(i bigint, seed bigint, stream int) RETURNS float8
LANGUAGE sql IMMUTABLE AS
$$ SELECT (hashint8extended(i * 1024 + stream, seed) & 4503599627370495)::float8 / 4503599627370496.0 $$;

-- an element of a, chosen by x in [0,1)
CREATE OR REPLACE FUNCTION pg_temp.pick(a anyarray, x float8) RETURNS anyelement
LANGUAGE sql IMMUTABLE AS
$$ SELECT a[1 + floor(x * cardinality(a))::int] $$;

-- sparse id of row i (1-based): 4*i + 0..2; 4*i + 3 is never used
CREATE OR REPLACE FUNCTION pg_temp.sid(i bigint, seed bigint, stream int) RETURNS int
LANGUAGE sql IMMUTABLE AS
$$ SELECT (4 * i + ((hashint8extended(i * 1024 + stream, seed) & 65535) % 3))::int $$;

-- auth_user: ids jump by 100000*scale after the first 80% of the rows
CREATE OR REPLACE FUNCTION pg_temp.user_id(j bigint, nu bigint, n int, seed bigint) RETURNS int
LANGUAGE sql IMMUTABLE AS
$$ SELECT pg_temp.sid(j, seed, 100) + CASE WHEN j > nu * 4 / 5 THEN 100000 * n ELSE 0 END $$;

CREATE OR REPLACE FUNCTION pg_temp.user_gap(j bigint, nu bigint, n int) RETURNS int
LANGUAGE sql IMMUTABLE AS
$$ SELECT (4 * j + 3 + CASE WHEN j > nu * 4 / 5 THEN 100000 * n ELSE 0 END)::int $$;

-- the row forced to carry dirt kind k of a stream (seed-dependent, distinct per k)
CREATE OR REPLACE FUNCTION pg_temp.pos(nrows bigint, seed bigint, stream int, k int) RETURNS bigint
LANGUAGE sql IMMUTABLE AS
$$ SELECT 1 + floor(nrows * ((pg_temp.u(0, seed, stream) + k * 0.6180339887498949)
                             - floor(pg_temp.u(0, seed, stream) + k * 0.6180339887498949)))::bigint $$;

-- dirt kind of row i: 1..4 with probabilities r1..r4, else 0 (clean)
CREATE OR REPLACE FUNCTION pg_temp.kind(i bigint, nrows bigint, seed bigint, stream int, r1 float8,
                                        r2 float8 DEFAULT 0, r3 float8 DEFAULT 0, r4 float8 DEFAULT 0)
RETURNS int LANGUAGE sql IMMUTABLE AS
$$ SELECT CASE
       WHEN i = pg_temp.pos(nrows, seed, stream, 1) THEN 1
       WHEN r2 > 0 AND i = pg_temp.pos(nrows, seed, stream, 2) THEN 2
       WHEN r3 > 0 AND i = pg_temp.pos(nrows, seed, stream, 3) THEN 3
       WHEN r4 > 0 AND i = pg_temp.pos(nrows, seed, stream, 4) THEN 4
       WHEN pg_temp.u(i, seed, stream) < r1 THEN 1
       WHEN pg_temp.u(i, seed, stream) < r1 + r2 THEN 2
       WHEN pg_temp.u(i, seed, stream) < r1 + r2 + r3 THEN 3
       WHEN pg_temp.u(i, seed, stream) < r1 + r2 + r3 + r4 THEN 4
       ELSE 0 END $$;

-- a timestamp between two epochs (seconds), by x in [0,1)
CREATE OR REPLACE FUNCTION pg_temp.ts(lo bigint, hi bigint, x float8) RETURNS timestamptz
LANGUAGE sql IMMUTABLE AS
$$ SELECT to_timestamp(lo + floor(x * (hi - lo))) $$;

-- lower-case ascii letters only (for usernames, emails)
CREATE OR REPLACE FUNCTION pg_temp.slug(s text) RETURNS text
LANGUAGE sql IMMUTABLE AS
$$ SELECT regexp_replace(translate(lower(s), 'áàâäãåçéèêëíìîïñóòôöõúùûüý', 'aaaaaaceeeeiiiinooooouuuuy'), '[^a-z]', '', 'g') $$;

-- vocabularies
CREATE OR REPLACE FUNCTION pg_temp.v_first() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'James','Mary','Robert','Patricia','John','Jennifer','Michael','Linda','David','Elizabeth','William',
 'Barbara','Richard','Susan','Joseph','Jessica','Thomas','Sarah','Charles','Karen','Christopher','Lisa',
 'Daniel','Nancy','Matthew','Betty','Anthony','Sandra','Mark','Margaret','Steven','Ashley','Andrew',
 'Kimberly','Paul','Emily','Joshua','Donna','Kevin','Michelle','Brian','Carol','George','Amanda',
 'Timothy','Melissa','Ronald','Deborah','Jason','Stephanie','Wei','Priya','José','María','Chloé',
 'Mohammed','Aisha','Hiroshi','Olga','Minh','Fatima','Sean','Zoë','Raj','Ana']::text[] $$;

CREATE OR REPLACE FUNCTION pg_temp.v_last() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'Smith','Johnson','Williams','Brown','Jones','Garcia','Miller','Davis','Rodriguez','Martinez',
 'Hernandez','Lopez','Gonzalez','Wilson','Anderson','Thomas','Taylor','Moore','Jackson','Martin','Lee',
 'Perez','Thompson','White','Harris','Sanchez','Clark','Ramirez','Lewis','Robinson','Walker','Young',
 'Allen','King','Wright','Scott','Torres','Nguyen','Hill','Flores','Green','Adams','Nelson','Baker',
 'Hall','Rivera','Campbell','Mitchell','Carter','Roberts','O''Brien','McDonald','Van der Berg',
 'Kowalski','Patel','Kim','Chen','Müller','Dubois','Schmidt','Ivanova','Tanaka','Okafor','Silva']::text[] $$;

CREATE OR REPLACE FUNCTION pg_temp.v_domain() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'smileortho.com','brightdental.net','familyortho.com','aligncare.com','gmail.com','yahoo.com',
 'outlook.com','icloud.com','dentalgroup.org','orthopartners.com','hotmail.com','clinic-dental.us']::text[] $$;

CREATE OR REPLACE FUNCTION pg_temp.v_us_city() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'New York|NY','Los Angeles|CA','Chicago|IL','Houston|TX','Phoenix|AZ','Philadelphia|PA',
 'San Antonio|TX','San Diego|CA','Dallas|TX','San Jose|CA','Austin|TX','Jacksonville|FL','Columbus|OH',
 'Charlotte|NC','Indianapolis|IN','Seattle|WA','Denver|CO','Boston|MA','Nashville|TN','Portland|OR',
 'Las Vegas|NV','Atlanta|GA','Miami|FL','Minneapolis|MN','Raleigh|NC','Omaha|NE','Tampa|FL',
 'Salt Lake City|UT','Boise|ID','Albuquerque|NM','Pittsburgh|PA','St. Louis|MO','Madison|WI',
 'Richmond|VA','Honolulu|HI','Anchorage|AK','Des Moines|IA','Louisville|KY','Baltimore|MD','Newark|NJ']::text[] $$;

CREATE OR REPLACE FUNCTION pg_temp.v_ca_city() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'Toronto|ON','Vancouver|BC','Montréal|QC','Calgary|AB','Ottawa|ON','Edmonton|AB','Winnipeg|MB','Halifax|NS']::text[] $$;

CREATE OR REPLACE FUNCTION pg_temp.v_mx_city() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'Ciudad de México|CDMX','Guadalajara|JAL','Monterrey|NL','Puebla|PUE','Tijuana|BC','Mérida|YUC']::text[] $$;

CREATE OR REPLACE FUNCTION pg_temp.v_street() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'Main','Oak','Maple','Cedar','Elm','Washington','Lake','Hill','Park','Pine','Sunset','Lincoln',
 'Jefferson','Madison','Highland','Church','Market','Spring','River','Forest']::text[] $$;

-- clinical instructions; {t} a tooth (FDI), {t2} its distal neighbour, {t3} its mirror, {mm} a width
CREATE OR REPLACE FUNCTION pg_temp.v_phrase() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'Close anterior spacing','Close posterior spacing','IPR {mm}mm between {t}-{t2}','Attachments on {t}, {t3}',
 'No attachments on {t}','Retainer after refinement','Extract {t} before start','Level curve of Spee',
 'Correct midline to the right by {mm}mm','Correct midline to the left by {mm}mm','Expand upper arch',
 'Expand lower arch','Intrude upper incisors','Extrude {t}','Derotate {t}','Avoid movement of {t} (implant)',
 'Bridge {t}-{t2}, do not move','Class II elastics','Class III elastics','Precision cuts for buttons on {t}, {t3}',
 'Overcorrect rotation of {t} by 5°','Maintain overbite','Reduce overjet','Open bite closure',
 'Deep bite correction','Align upper arch only','Align lower arch only','Crown on {t}','Missing tooth {t}',
 'Pontic on {t}','Virtual C-chain','Night-time wear only','Rush case — patient travelling',
 'Patient''s wedding in June, prioritise anteriors','Bite ramps on upper incisors',
 'Staging: 2 weeks per aligner','Staging: 1 week per aligner','See attached photos','Use previous scan',
 'Rescan lower arch, distortion at {t}','Retainer: 3 sets','Vivera retainers after treatment',
 'Refinement: {t} and {t2} not tracking','Leave space for implant at {t}','Torque on {t} and {t3}',
 'Do not expand, thin gingiva','Patient has "sensitive" lower anteriors','Upper only, lower is fine']::text[] $$;

-- two notes per status 0..5: element status*2 + 1 or + 2
CREATE OR REPLACE FUNCTION pg_temp.v_state_note() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'Draft created','Saved as draft','Submitted via portal','Submitted by phone, see email',
 'Setup approved, in production','Printing started','Shipped via UPS','Shipped via FedEx',
 'Delivered to office','Signed for at front desk','Cancelled at patient request','Cancelled: duplicate order']::text[] $$;

CREATE OR REPLACE FUNCTION pg_temp.v_template() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'Standard aligner workflow','Express 5-stage','Refinement workflow','Retainer only','Teen comprehensive',
 'Adult comprehensive','Limited anterior','Scan to print','Lite case','Comprehensive with IPR',
 'Digital setup review','Emergency replacement']::text[] $$;

CREATE OR REPLACE FUNCTION pg_temp.v_step() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'Scan','Setup','Doctor review','Approval','Print','Trim & polish','QA','Ship','Delivery appointment',
 'Mid-course check','Refinement scan','Retainer scan']::text[] $$;

-- ---------------------------------------------------------------- auth_user
-- ek: 1 duplicate (of user tw), 2 blank, 3 malformed, 4 padded, 0 clean;
-- pj: the person (for a duplicate, the twin: same names and role)
INSERT INTO auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email,
                       is_staff, is_active, date_joined)
SELECT pg_temp.user_id(j, nu, n, seed),
       CASE WHEN pg_temp.u(j, seed, 120) < 0.02
            THEN '!' || substr(md5(seed || ':unusable:' || j), 1, 40)
            ELSE 'pbkdf2_sha256$600000$' || substr(md5(seed || ':salt:' || j), 1, 22) || '$'
                 || encode(decode(md5(seed || ':h1:' || j) || md5(seed || ':h2:' || j), 'hex'), 'base64') END,
       CASE WHEN pg_temp.u(j, seed, 121) < 0.10 THEN NULL
            ELSE pg_temp.ts(joined, 1761955200, pg_temp.u(j, seed, 122)) END,
       superuser,
       CASE WHEN superuser THEN 'admin' WHEN staff THEN 'lab.' ELSE '' END
           || left(pg_temp.slug(fn), 1) || pg_temp.slug(ln) || j,
       CASE WHEN pg_temp.kind(j, nu, seed, 108, 0.01) = 1 THEN '' ELSE fn END,
       CASE WHEN pg_temp.kind(j, nu, seed, 109, 0.01) = 1 THEN '' ELSE ln END,
       CASE ek
           WHEN 0 THEN email
           WHEN 1 THEN CASE floor(pg_temp.u(j, seed, 123) * 4)::int
                           WHEN 0 THEN upper(email)
                           WHEN 1 THEN upper(left(email, 1)) || substr(email, 2)
                           WHEN 2 THEN ' ' || email
                           ELSE upper(email) || '  ' END
           WHEN 2 THEN ''
           WHEN 3 THEN CASE floor(pg_temp.u(j, seed, 124) * 3)::int
                           WHEN 0 THEN replace(email, '@', '.')
                           WHEN 1 THEN split_part(email, '@', 1) || '@'
                           ELSE replace(email, '@', '@@') END
           ELSE CASE floor(pg_temp.u(j, seed, 125) * 3)::int
                    WHEN 0 THEN ' ' || email
                    WHEN 1 THEN email || ' '
                    ELSE '  ' || email || '  ' END
       END,
       staff,
       superuser OR pg_temp.u(j, seed, 126) < 0.92,
       to_timestamp(joined)
FROM (
    SELECT x.*, fn, ln, superuser, superuser OR pg_temp.u(pj, seed, 105) < 0.05 AS staff,
           pg_temp.slug(fn) || '.' || pg_temp.slug(ln) || '.' || pj || '@'
               || CASE WHEN superuser OR pg_temp.u(pj, seed, 105) < 0.05 THEN 'mdw-lab.com'
                       ELSE pg_temp.pick(pg_temp.v_domain(), pg_temp.u(pj, seed, 106)) END AS email,
           1325376000 + floor(pg_temp.u(j, seed, 111) * 4900 * 86400)::bigint AS joined
    FROM (
        SELECT p.n, p.seed, p.nu, g.j,
               CASE WHEN a.raw = 1 AND (a.tw = g.j OR pg_temp.kind(a.tw, p.nu, p.seed, 101, 0.02, 0.01, 0.005, 0.01) <> 0)
                    THEN 0 ELSE a.raw END AS ek,
               CASE WHEN a.raw = 1 AND a.tw <> g.j
                         AND pg_temp.kind(a.tw, p.nu, p.seed, 101, 0.02, 0.01, 0.005, 0.01) = 0
                    THEN a.tw ELSE g.j END AS pj
        FROM _p p
        CROSS JOIN generate_series(1::bigint, p.nu) g(j)
        CROSS JOIN LATERAL (
            SELECT pg_temp.kind(g.j, p.nu, p.seed, 101, 0.02, 0.01, 0.005, 0.01) AS raw,
                   greatest(1, g.j - 1 - floor(pg_temp.u(g.j, p.seed, 102) * 40))::bigint AS tw OFFSET 0) a
        OFFSET 0  -- a fence: keeps the planner from copying the expressions into every use
    ) x
    CROSS JOIN LATERAL (
        SELECT pg_temp.pick(pg_temp.v_first(), pg_temp.u(x.pj, x.seed, 103)) AS fn,
               pg_temp.pick(pg_temp.v_last(), pg_temp.u(x.pj, x.seed, 104)) AS ln,
               x.pj % 3000 = 1 AS superuser OFFSET 0) nm
    OFFSET 0
) y;

-- ---------------------------------------------------------------- dispatch_office
INSERT INTO dispatch_office (id, name, address, apt, city, state, zip, country, phone, email, is_active, created_at)
SELECT pg_temp.sid(i, seed, 200),
       oname,
       CASE WHEN pg_temp.u(i, seed, 203) < 0.02 THEN NULL
            ELSE (100 + floor(pg_temp.u(i, seed, 204) * 9800))::int || ' '
                 || pg_temp.pick(pg_temp.v_street(), pg_temp.u(i, seed, 205)) || ' '
                 || pg_temp.pick(ARRAY['St','Ave','Blvd','Rd','Dr','Way'], pg_temp.u(i, seed, 206)) END,
       CASE WHEN pg_temp.u(i, seed, 207) < 0.70 THEN NULL
            ELSE pg_temp.pick(ARRAY['Suite ','Ste. ','#','Unit '], pg_temp.u(i, seed, 208))
                 || (100 + floor(pg_temp.u(i, seed, 209) * 400))::int END,
       split_part(cs, '|', 1),
       split_part(cs, '|', 2),
       CASE cc
           WHEN 'CA' THEN chr(65 + floor(pg_temp.u(i, seed, 210) * 26)::int) || (floor(pg_temp.u(i, seed, 211) * 10))::int
                          || chr(65 + floor(pg_temp.u(i, seed, 212) * 26)::int) || ' '
                          || (floor(pg_temp.u(i, seed, 213) * 10))::int || chr(65 + floor(pg_temp.u(i, seed, 214) * 26)::int)
                          || (floor(pg_temp.u(i, seed, 215) * 10))::int
           ELSE lpad((1000 + floor(pg_temp.u(i, seed, 210) * 98000))::int::text, 5, '0') END,
       CASE pg_temp.kind(i, no, seed, 216, 0.02, 0.02) WHEN 1 THEN NULL WHEN 2 THEN lower(cc) ELSE cc END,
       CASE WHEN pg_temp.u(i, seed, 217) < 0.03 THEN NULL
            WHEN cc = 'MX' THEN '+52 ' || ph3 || ' ' || ph4a || ' ' || ph4b
            ELSE CASE floor(pg_temp.u(i, seed, 218) * 4)::int
                     WHEN 0 THEN '(' || ph3 || ') ' || ph4a || '-' || ph4b
                     WHEN 1 THEN ph3 || '-' || ph4a || '-' || ph4b
                     WHEN 2 THEN '+1 ' || ph3 || ' ' || ph4a || ' ' || ph4b
                     ELSE ph3 || ph4a || ph4b END END,
       CASE WHEN pg_temp.u(i, seed, 219) < 0.05 THEN NULL
            ELSE pg_temp.pick(ARRAY['info','frontdesk','office','appointments'], pg_temp.u(i, seed, 220))
                 || '@' || left(pg_temp.slug(oname), 40) || '.com' END,
       pg_temp.u(i, seed, 221) < 0.95,
       pg_temp.ts(1262304000, 1735689600, pg_temp.u(i, seed, 222))
FROM (
    SELECT p.seed, p.no, g.i, c.cc, c.cs,
           CASE floor(pg_temp.u(g.i, p.seed, 223) * 6)::int
               WHEN 0 THEN l1 || ' Orthodontics'
               WHEN 1 THEN split_part(c.cs, '|', 1) || ' Smiles'
               WHEN 2 THEN 'Bright Dental of ' || split_part(c.cs, '|', 1)
               WHEN 3 THEN l1 || ' & ' || l2 || ' Family Dentistry'
               WHEN 4 THEN split_part(c.cs, '|', 1) || ' Orthodontic Associates'
               ELSE 'Dr. ' || l1 || ' Dental Care' END AS oname,
           (200 + floor(pg_temp.u(g.i, p.seed, 224) * 800))::int::text AS ph3,
           lpad(floor(pg_temp.u(g.i, p.seed, 225) * 1000)::int::text, 3, '0') AS ph4a,
           lpad(floor(pg_temp.u(g.i, p.seed, 226) * 10000)::int::text, 4, '0') AS ph4b
    FROM _p p
    CROSS JOIN generate_series(1::bigint, p.no) g(i)
    CROSS JOIN LATERAL (
        SELECT pg_temp.pick(pg_temp.v_last(), pg_temp.u(g.i, p.seed, 227)) AS l1,
               pg_temp.pick(pg_temp.v_last(), pg_temp.u(g.i, p.seed, 228)) AS l2,
               CASE WHEN pg_temp.u(g.i, p.seed, 201) < 0.90 THEN 'US'
                    WHEN pg_temp.u(g.i, p.seed, 201) < 0.96 THEN 'CA' ELSE 'MX' END AS cc) o
    CROSS JOIN LATERAL (
        SELECT o.cc,
               CASE o.cc WHEN 'US' THEN pg_temp.pick(pg_temp.v_us_city(), pg_temp.u(g.i, p.seed, 202))
                         WHEN 'CA' THEN pg_temp.pick(pg_temp.v_ca_city(), pg_temp.u(g.i, p.seed, 202))
                         ELSE pg_temp.pick(pg_temp.v_mx_city(), pg_temp.u(g.i, p.seed, 202)) END AS cs) c
    OFFSET 0
) x;

-- doctors (non-staff users) with a home office, and staff, numbered 1..n
CREATE TEMP TABLE _doc AS
SELECT d.k, d.id, pg_temp.sid(1 + floor(pg_temp.u(d.k, p.seed, 250) * p.no)::bigint, p.seed, 200) AS office_id
FROM _p p, (SELECT row_number() OVER (ORDER BY id) AS k, id FROM auth_user WHERE NOT is_staff) d;
CREATE TEMP TABLE _staff AS
SELECT row_number() OVER (ORDER BY id) AS k, id FROM auth_user WHERE is_staff;
-- pairs of users whose emails are equal up to case and surrounding spaces
CREATE TEMP TABLE _twins AS
SELECT row_number() OVER (ORDER BY b.id) AS k, a.id AS ua, b.id AS ub
FROM auth_user a JOIN auth_user b ON lower(btrim(a.email)) = lower(btrim(b.email)) AND a.id < b.id
WHERE btrim(a.email) <> '';
ANALYZE _doc;
ANALYZE _staff;
ANALYZE _twins;

-- ---------------------------------------------------------------- dispatch_patient
INSERT INTO dispatch_patient (id, doctor_id, office_id, first_name, last_name, birthdate, sex, status, archived,
                              suspended, created_at, updated_at)
SELECT pg_temp.sid(x.i, x.seed, 300),
       CASE pg_temp.kind(x.i, x.np, x.seed, 302, 0.02, 0.01)
           WHEN 1 THEN NULL
           WHEN 2 THEN pg_temp.user_gap(1 + floor(pg_temp.u(x.i, x.seed, 303) * x.nu)::bigint, x.nu, x.n)
           ELSE d.id END,
       CASE pg_temp.kind(x.i, x.np, x.seed, 304, 0.01, 0.01)
           WHEN 1 THEN NULL
           WHEN 2 THEN (4 * (1 + floor(pg_temp.u(x.i, x.seed, 305) * x.no)) + 3)::int
           ELSE CASE WHEN pg_temp.u(x.i, x.seed, 306) < 0.85 THEN d.office_id
                     ELSE pg_temp.sid(1 + floor(pg_temp.u(x.i, x.seed, 307) * x.no)::bigint, x.seed, 200) END END,
       pg_temp.pick(pg_temp.v_first(), pg_temp.u(x.i, x.seed, 308)),
       pg_temp.pick(pg_temp.v_last(), pg_temp.u(x.i, x.seed, 309)),
       CASE pg_temp.kind(x.i, x.np, x.seed, 310, 0.0025, 0.0025)
           WHEN 1 THEN date '2030-01-01' + floor(pg_temp.u(x.i, x.seed, 311) * 25000)::int
           WHEN 2 THEN CASE WHEN pg_temp.u(x.i, x.seed, 312) < 0.5
                            THEN date '1800-01-01' + floor(pg_temp.u(x.i, x.seed, 311) * 36500)::int
                            ELSE date '1000-01-01' + floor(pg_temp.u(x.i, x.seed, 311) * 10950)::int END
           ELSE CASE WHEN pg_temp.u(x.i, x.seed, 313) < 0.01 THEN NULL
                     WHEN pg_temp.u(x.i, x.seed, 314) < 0.65
                     THEN date '1998-01-01' + floor(pg_temp.u(x.i, x.seed, 311) * 6940)::int   -- 1998..2016
                     ELSE date '1940-01-01' + floor(pg_temp.u(x.i, x.seed, 311) * 28854)::int  -- 1940..2018
                END END,
       CASE pg_temp.kind(x.i, x.np, x.seed, 315, 0.005, 0.005, 0.01)
           WHEN 1 THEN ''
           WHEN 2 THEN NULL
           WHEN 3 THEN pg_temp.pick(ARRAY['x','M','F','?','u','1'], pg_temp.u(x.i, x.seed, 316))
           ELSE CASE WHEN pg_temp.u(x.i, x.seed, 316) < 0.53 THEN 'f' ELSE 'm' END END,
       x.status,
       x.status = 4 OR pg_temp.u(x.i, x.seed, 317) < 0.02,
       pg_temp.u(x.i, x.seed, 318) < 0.02,
       to_timestamp(x.created),
       CASE WHEN pg_temp.u(x.i, x.seed, 319) < 0.2 THEN to_timestamp(x.created)
            ELSE pg_temp.ts(x.created, 1761955200, pg_temp.u(x.i, x.seed, 320)) END
FROM (
    SELECT p.n, p.seed, p.nu, p.no, p.np, g.i,
           (SELECT count(*) FROM _doc) AS ndoc,
           CASE WHEN pg_temp.u(g.i, p.seed, 321) < 0.10 THEN 0
                WHEN pg_temp.u(g.i, p.seed, 321) < 0.55 THEN 1
                WHEN pg_temp.u(g.i, p.seed, 321) < 0.70 THEN 2
                WHEN pg_temp.u(g.i, p.seed, 321) < 0.90 THEN 3 ELSE 4 END::smallint AS status,
           1420070400 + floor(pg_temp.u(g.i, p.seed, 322) * (1751241600 - 1420070400))::bigint AS created
    FROM _p p CROSS JOIN generate_series(1::bigint, p.np) g(i)
    OFFSET 0
) x
JOIN _doc d ON d.k = 1 + floor(power(pg_temp.u(x.i, x.seed, 301), 1.3) * x.ndoc)::bigint;

-- ---------------------------------------------------------------- notes pool
-- 3000*scale notes; projects draw from it with a skew (k = pool * u^2), so
-- the common notes repeat thousands of times. Pool entries 0..59 are single
-- phrases; a few (0.2%) are very long.
CREATE TEMP TABLE _notes AS
SELECT q.k, string_agg(
           replace(replace(replace(replace(ph.tpl, '{t2}', (ph.t + 1)::text), '{t3}', ph.t3::text), '{t}', ph.t::text),
                   '{mm}', ph.mm),
           q.sep ORDER BY q.j) || q.tail AS note
FROM (
    SELECT p.seed, k.k, j.j,
           pg_temp.pick(ARRAY['. ', '; ', E'\n', ', ', '. '], pg_temp.u(k.k, p.seed, 801)) AS sep,
           pg_temp.pick(ARRAY['', '', '.', '', '. Thanks!', '.'], pg_temp.u(k.k, p.seed, 802)) AS tail
    FROM _p p
    CROSS JOIN generate_series(0::bigint, p.npool - 1) k(k)
    CROSS JOIN LATERAL (
        SELECT CASE WHEN k.k < 60 THEN 1
                    WHEN pg_temp.u(k.k, p.seed, 803) < 0.35 THEN 1
                    WHEN pg_temp.u(k.k, p.seed, 803) < 0.70 THEN 2
                    WHEN pg_temp.u(k.k, p.seed, 803) < 0.88 THEN 3
                    WHEN pg_temp.u(k.k, p.seed, 803) < 0.998 THEN 4 + floor(pg_temp.u(k.k, p.seed, 804) * 6)::int
                    ELSE 200 + floor(pg_temp.u(k.k, p.seed, 804) * 200)::int END AS len) l
    CROSS JOIN generate_series(1, l.len) j(j)
) q
CROSS JOIN LATERAL (
    SELECT CASE WHEN q.k < 60 THEN (pg_temp.v_phrase())[1 + q.k % cardinality(pg_temp.v_phrase())]
                ELSE pg_temp.pick(pg_temp.v_phrase(), pg_temp.u(q.k * 512 + q.j, q.seed, 805)) END AS tpl,
           tq * 10 + tn AS t,
           (CASE tq WHEN 1 THEN 2 WHEN 2 THEN 1 WHEN 3 THEN 4 ELSE 3 END) * 10 + tn AS t3,
           pg_temp.pick(ARRAY['0.1','0.2','0.25','0.3','0.4','0.5'], pg_temp.u(q.k * 512 + q.j, q.seed, 806)) AS mm
    FROM (SELECT 1 + floor(pg_temp.u(q.k * 512 + q.j, q.seed, 807) * 4)::int AS tq,
                 1 + floor(pg_temp.u(q.k * 512 + q.j, q.seed, 808) * 6)::int AS tn) tt
) ph
GROUP BY q.k, q.sep, q.tail;
ANALYZE _notes;

-- ---------------------------------------------------------------- dispatch_project
INSERT INTO dispatch_project (id, uid, patient_id, creator_id, name, type, status, size, notes, created_at, updated_at)
SELECT pg_temp.sid(x.i, x.seed, 400),
       (substr(x.h, 1, 12) || '4' || substr(x.h, 14, 3) || 'a' || substr(x.h, 18, 15))::uuid,
       x.patient_id,
       CASE pg_temp.kind(x.i, x.nj, x.seed, 403, 0.02, 0.005)
           WHEN 1 THEN NULL
           WHEN 2 THEN pg_temp.user_gap(1 + floor(pg_temp.u(x.i, x.seed, 404) * x.nu)::bigint, x.nu, x.n)
           ELSE CASE WHEN pg_temp.u(x.i, x.seed, 405) < 0.80 THEN coalesce(pa.doctor_id, d.id) ELSE s.id END END,
       CASE x.type
           WHEN 0 THEN 'Initial treatment'
           WHEN 1 THEN 'Refinement ' || (1 + floor(pg_temp.u(x.i, x.seed, 406) * 4))::int
           WHEN 2 THEN 'Retainer'
           WHEN 3 THEN 'Replacement aligners #' || (1 + floor(pg_temp.u(x.i, x.seed, 406) * 40))::int
           WHEN 4 THEN 'Intraoral scan ' || to_char(to_timestamp(x.created) AT TIME ZONE 'UTC', 'YYYY-MM-DD')
           WHEN 5 THEN 'Treatment plan v' || (1 + floor(pg_temp.u(x.i, x.seed, 406) * 3))::int
           ELSE 'Misc upload' END,
       x.type,
       CASE WHEN pg_temp.u(x.i, x.seed, 407) < 0.05 THEN 0
            WHEN pg_temp.u(x.i, x.seed, 407) < 0.12 THEN 1
            WHEN pg_temp.u(x.i, x.seed, 407) < 0.20 THEN 2
            WHEN pg_temp.u(x.i, x.seed, 407) < 0.30 THEN 3
            WHEN pg_temp.u(x.i, x.seed, 407) < 0.92 THEN 4 ELSE 5 END::smallint,
       CASE pg_temp.kind(x.i, x.nj, x.seed, 408, 0.02, 0.005)
           WHEN 1 THEN NULL
           WHEN 2 THEN CASE WHEN pg_temp.u(x.i, x.seed, 409) < 0.3 THEN -1 ELSE -x.size END
           ELSE x.size END,
       CASE pg_temp.kind(x.i, x.nj, x.seed, 410, 0.05, 0.01)
           WHEN 1 THEN NULL
           WHEN 2 THEN ''
           ELSE nt.note END,
       to_timestamp(x.created),
       CASE WHEN pg_temp.u(x.i, x.seed, 411) < 0.15 THEN to_timestamp(x.created)
            ELSE to_timestamp(x.created + floor(pg_temp.u(x.i, x.seed, 412) * least(1761955200 - x.created, 400 * 86400))) END
FROM (
    SELECT p.n, p.seed, p.nu, p.nj, g.i,
           md5(p.seed || ':project:' || g.i) AS h,
           CASE pg_temp.kind(g.i, p.nj, p.seed, 402, 0.01, 0.01)
               WHEN 1 THEN NULL
               WHEN 2 THEN (4 * pi.pidx + 3)::int
               ELSE pg_temp.sid(pi.pidx, p.seed, 300) END AS patient_id,
           CASE WHEN pg_temp.kind(g.i, p.nj, p.seed, 413, 0.005) = 1
                THEN pg_temp.pick(ARRAY[7, 99, -1, 6], pg_temp.u(g.i, p.seed, 414))
                WHEN pg_temp.u(g.i, p.seed, 415) < 0.30 THEN 0
                WHEN pg_temp.u(g.i, p.seed, 415) < 0.55 THEN 1
                WHEN pg_temp.u(g.i, p.seed, 415) < 0.65 THEN 2
                WHEN pg_temp.u(g.i, p.seed, 415) < 0.75 THEN 3
                WHEN pg_temp.u(g.i, p.seed, 415) < 0.90 THEN 4 ELSE 5 END::smallint AS type,
           floor(exp(ln(1e5) + pg_temp.u(g.i, p.seed, 416) * (ln(5e8) - ln(1e5))))::bigint AS size,
           1420070400 + floor(pg_temp.u(g.i, p.seed, 417) * (1761868800 - 1420070400))::bigint AS created,
           floor(power(pg_temp.u(g.i, p.seed, 418), 2) * p.npool)::bigint AS note_k,
           1 + floor(pg_temp.u(g.i, p.seed, 419) * (SELECT count(*) FROM _doc))::bigint AS doc_k,
           1 + floor(pg_temp.u(g.i, p.seed, 420) * (SELECT count(*) FROM _staff))::bigint AS staff_k
    FROM _p p CROSS JOIN generate_series(1::bigint, p.nj) g(i)
    -- (a fenced subquery, so that pg_temp.sid() gets a plain column and is inlined)
    CROSS JOIN LATERAL (SELECT 1 + floor(pg_temp.u(g.i, p.seed, 401) * p.np)::bigint AS pidx OFFSET 0) pi
    OFFSET 0
) x
LEFT JOIN dispatch_patient pa ON pa.id = x.patient_id
JOIN _doc d ON d.k = x.doc_k
JOIN _staff s ON s.k = x.staff_k
JOIN _notes nt ON nt.k = x.note_k;

-- ---------------------------------------------------------------- dispatch_office_doctors
-- rows 1..m-2t: distinct doctors (stride over _doc), mostly at their home
-- office; then t pairs (office, user) + (office, email twin of user).
INSERT INTO dispatch_office_doctors (id, office_id, user_id)
SELECT pg_temp.sid(r.i, r.seed, 500), r.office_id, r.user_id
FROM (
    SELECT x.seed, x.i,
           CASE WHEN pg_temp.kind(x.i, x.mn, x.seed, 501, 0.02) = 1
                THEN (4 * (1 + floor(pg_temp.u(x.i, x.seed, 502) * x.no)) + 3)::int
                WHEN pg_temp.u(x.i, x.seed, 503) < 0.85 THEN d.office_id
                ELSE pg_temp.sid(1 + floor(pg_temp.u(x.i, x.seed, 504) * x.no)::bigint, x.seed, 200) END AS office_id,
           CASE WHEN pg_temp.kind(x.i, x.mn, x.seed, 505, 0.02) = 1
                THEN pg_temp.user_gap(1 + floor(pg_temp.u(x.i, x.seed, 506) * x.nu)::bigint, x.nu, x.n)
                ELSE d.id END AS user_id
    FROM (
        SELECT p.n, p.seed, p.nu, p.no, g.i, p.nm - 2 * greatest(1, p.nm / 100) AS mn,
               (SELECT count(*) FROM _doc) / (p.nm - 2 * greatest(1, p.nm / 100)) AS stride
        FROM _p p CROSS JOIN generate_series(1::bigint, p.nm - 2 * greatest(1, p.nm / 100)) g(i)
    ) x
    JOIN _doc d ON d.k = (x.i - 1) * x.stride + 1 + floor(pg_temp.u(x.i, x.seed, 507) * x.stride)::bigint
    UNION ALL
    SELECT p.seed, p.nm - 2 * greatest(1, p.nm / 100) + 2 * t.t - 1 + side.s,
           pg_temp.sid(1 + floor(pg_temp.u(t.t, p.seed, 508) * p.no)::bigint, p.seed, 200),
           CASE side.s WHEN 0 THEN tw.ua ELSE tw.ub END
    FROM _p p
    CROSS JOIN generate_series(1::bigint, greatest(1, p.nm / 100)) t(t)
    CROSS JOIN (VALUES (0), (1)) side(s)
    JOIN _twins tw ON tw.k = 1 + floor(pg_temp.u(t.t, p.seed, 509) * (SELECT count(*) FROM _twins))::bigint
) r;

-- ---------------------------------------------------------------- dispatch_state
-- histories of 1..5 states for distinct projects (one per stride of
-- projects), numbered in order and cut at exactly ns rows.
INSERT INTO dispatch_state (id, project_id, status, actor_id, changed_at, note)
SELECT pg_temp.sid(h.rn, h.seed, 600),
       h.project_id,
       h.status,
       CASE pg_temp.kind(h.rn, h.ns, h.seed, 606, 0.20, 0.005)
           WHEN 1 THEN NULL
           WHEN 2 THEN pg_temp.user_gap(1 + floor(pg_temp.u(h.rn, h.seed, 607) * h.nu)::bigint, h.nu, h.n)
           ELSE CASE WHEN pg_temp.u(h.rn, h.seed, 608) < 0.6 THEN s.id ELSE coalesce(pr.creator_id, d.id) END END,
       coalesce(pr.created_at, to_timestamp(1420070400 + floor(pg_temp.u(h.k, h.seed, 609) * 300000000)))
           + interval '1 second' * (
               CASE WHEN h.step > 1 AND pg_temp.u(h.k * 8 + h.step, h.seed, 605) < 0.045
                    THEN (h.step - 2) * 172800 + floor(pg_temp.u(h.k * 8 + h.step - 1, h.seed, 610) * 86400)
                    ELSE (h.step - 1) * 172800 + floor(pg_temp.u(h.k * 8 + h.step, h.seed, 610) * 86400) END),
       CASE WHEN pg_temp.u(h.rn, h.seed, 611) < 0.30
            THEN (pg_temp.v_state_note())[h.status * 2 + 1 + floor(pg_temp.u(h.rn, h.seed, 612) * 2)::int] END
FROM (
    SELECT y.*, row_number() OVER (ORDER BY y.k, y.step) AS rn,
           CASE WHEN y.step = y.len AND y.len > 1 AND pg_temp.u(y.k, y.seed, 604) < 0.10 THEN 5
                ELSE least(y.step - 1, 4) END::smallint AS status
    FROM (
        SELECT p.n, p.seed, p.nu, p.ns, g.k, st.step, l.len,
               CASE WHEN pg_temp.kind(g.k, p.ns / 2, p.seed, 603, 0.01) = 1
                    THEN (4 * l.pj + 3)::int
                    ELSE pg_temp.sid(l.pj, p.seed, 400) END AS project_id
        FROM _p p
        CROSS JOIN generate_series(1::bigint, p.ns / 2) g(k)
        CROSS JOIN LATERAL (
            SELECT 1 + floor(pg_temp.u(g.k, p.seed, 601) * 5)::int AS len,
                   (g.k - 1) * (p.nj / (p.ns / 2)) + 1
                       + floor(pg_temp.u(g.k, p.seed, 602) * (p.nj / (p.ns / 2)))::bigint AS pj OFFSET 0) l
        CROSS JOIN generate_series(1, l.len) st(step)
    ) y
) h
LEFT JOIN dispatch_project pr ON pr.id = h.project_id
JOIN _staff s ON s.k = 1 + floor(pg_temp.u(h.rn, h.seed, 613) * (SELECT count(*) FROM _staff))::bigint
JOIN _doc d ON d.k = 1 + floor(pg_temp.u(h.rn, h.seed, 614) * (SELECT count(*) FROM _doc))::bigint
WHERE h.rn <= h.ns;

-- ---------------------------------------------------------------- dispatch_template
-- office of template i before duplication: 10% global (NULL), 1% dangling
CREATE OR REPLACE FUNCTION pg_temp.tpl_office(i bigint, nt bigint, no bigint, seed bigint) RETURNS int
LANGUAGE sql IMMUTABLE AS
$$ SELECT CASE pg_temp.kind(i, nt, seed, 701, 0.10, 0.01)
              WHEN 1 THEN NULL
              WHEN 2 THEN (4 * (1 + floor(pg_temp.u(i, seed, 702) * no)) + 3)::int
              ELSE pg_temp.sid(1 + floor(pg_temp.u(i, seed, 703) * no)::bigint, seed, 200) END $$;

INSERT INTO dispatch_template (id, office_id, name, steps, is_active, created_at)
SELECT pg_temp.sid(x.i, x.seed, 700),
       CASE WHEN x.i % 50 = 25 THEN NULL
            WHEN x.dup THEN pg_temp.tpl_office(x.i - 1, x.nt, x.no, x.seed)
            ELSE pg_temp.tpl_office(x.i, x.nt, x.no, x.seed) END,
       CASE WHEN x.i % 50 = 25 THEN 'Standard aligner workflow'
            WHEN x.dup THEN pg_temp.pick(pg_temp.v_template(), pg_temp.u(x.i - 1, x.seed, 704))
            ELSE pg_temp.pick(pg_temp.v_template(), pg_temp.u(x.i, x.seed, 704)) END,
       CASE pg_temp.kind(x.i, x.nt, x.seed, 705, 0.03, 0.02, 0.02)
           WHEN 1 THEN pg_temp.pick(ARRAY['[{"name":"Scan",', 'not json', '[{"name":"Scan","days":3},]',
                                          '{name: Scan}', '[{"name":"Setup","days":"5"', ''], pg_temp.u(x.i, x.seed, 706))
           WHEN 2 THEN pg_temp.pick(ARRAY['{"name":"Scan"}', '42', 'null', '"Scan, Setup, Print"', 'true',
                                          '{"steps":[{"name":"Scan","days":3}]}'], pg_temp.u(x.i, x.seed, 706))
           WHEN 3 THEN NULL
           ELSE (SELECT '[' || string_agg('{"name":"' || pg_temp.pick(pg_temp.v_step(), pg_temp.u(x.i * 16 + s, x.seed, 707))
                                          || '","days":' || (1 + floor(pg_temp.u(x.i * 16 + s, x.seed, 708) * 14))::int
                                          || CASE WHEN pg_temp.u(x.i * 16 + s, x.seed, 709) < 0.1 THEN ',"optional":true' ELSE '' END
                                          || '}', ',' ORDER BY s) || ']'
                 FROM generate_series(1, 2 + floor(pg_temp.u(x.i, x.seed, 710) * 6)::int) s)
       END,
       pg_temp.u(x.i, x.seed, 711) < 0.90,
       pg_temp.ts(1420070400, 1761868800, pg_temp.u(x.i, x.seed, 712))
FROM (
    SELECT p.seed, p.no, p.nt, g.i,
           -- a duplicate copies the previous template's office and name; only
           -- when that one is itself a plain template at a real office
           g.i > 1 AND (g.i - 1) % 50 <> 25
               AND pg_temp.kind(g.i, p.nt, p.seed, 720, 0.03) = 1
               AND pg_temp.kind(g.i - 1, p.nt, p.seed, 720, 0.03) = 0
               AND pg_temp.kind(g.i - 1, p.nt, p.seed, 701, 0.10, 0.01) = 0 AS dup
    FROM _p p CROSS JOIN generate_series(1::bigint, p.nt) g(i)
    OFFSET 0
) x;

-- ---------------------------------------------------------------- recreate the indexes
DO $$
DECLARE ddl text;
BEGIN
    FOR ddl IN SELECT create_ddl FROM _idx ORDER BY ord LOOP
        EXECUTE ddl;
    END LOOP;
END $$;

-- ---------------------------------------------------------------- clean up
DROP TABLE _p, _doc, _staff, _twins, _notes, _idx;
DROP FUNCTION pg_temp.tpl_office(bigint, bigint, bigint, bigint), pg_temp.kind(bigint, bigint, bigint, int, float8, float8, float8, float8),
              pg_temp.pos(bigint, bigint, int, int), pg_temp.user_gap(bigint, bigint, int),
              pg_temp.user_id(bigint, bigint, int, bigint), pg_temp.sid(bigint, bigint, int),
              pg_temp.ts(bigint, bigint, float8), pg_temp.slug(text), pg_temp.pick(anyarray, float8),
              pg_temp.u(bigint, bigint, int),
              pg_temp.v_first(), pg_temp.v_last(), pg_temp.v_domain(), pg_temp.v_us_city(), pg_temp.v_ca_city(),
              pg_temp.v_mx_city(), pg_temp.v_street(), pg_temp.v_phrase(), pg_temp.v_state_note(),
              pg_temp.v_template(), pg_temp.v_step();

RESET jit;

ANALYZE auth_user, dispatch_office, dispatch_office_doctors, dispatch_patient, dispatch_project,
        dispatch_state, dispatch_template;
