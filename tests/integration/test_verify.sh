#!/usr/bin/env bash
# Row-level verification (mdwctl verify) of the eight relational phases:
# after a clean migration it reports nothing (mdw-coordinator --verify runs
# it after each phase's validation; merged profiles, links and templates
# included); after one patient's birth date, one project's size, one case's
# title, one practice's name and one (unreferenced) profile's email are
# changed in the target, one case state deleted, one stray patient added and
# one template's merge record lost, it reports exactly those eight, by legacy id and column, without the values
# unless --show-values. --sample N compares N random buckets and says so.
REDIS_DB=6
source "$(dirname "$0")/lib.sh" "$1" verify
fresh_dbs
"$BUILD/mdwctl" legacy-demo --scale 1 >"$LOGS/demo.log"
keep_legacy 8
export MDW_POLL_MS=100
start_worker v1 --exit-when-done >/dev/null
start_worker v2 --exit-when-done >/dev/null
"$BUILD/mdw-coordinator" --new-run --verify --phases practices,profiles,patients,cases,projects,practice_members,case_states,workflow_templates \
  2>"$LOGS/coordinator.log" && rc=0 || rc=$?
assert_eq "coordinator exit code" 0 "$rc"
assert_eq "phases verified row by row by the coordinator (--verify)" 8 \
  "$(grep -c 'row-level verification: .* 0 rows missing, 0 stray, 0 differing' "$LOGS/coordinator.log")"

"$BUILD/mdwctl" verify >"$LOGS/verify-clean.txt" && rc=0 || rc=$?
assert_eq "verify after a clean run: exit code" 0 "$rc"
assert_eq "verify after a clean run: rows named" 0 "$(grep -c -E ' (differs|missing|stray) ' "$LOGS/verify-clean.txt" || true)"
assert_eq "verify after a clean run: phases verified" 8 "$(grep -c ' ok: ' "$LOGS/verify-clean.txt")"
assert_eq "the demo data has merged profiles, links and templates" 3 \
  "$(tq "SELECT count(DISTINCT phase) FROM mdw.merges WHERE phase IN ('profiles', 'practice_members', 'workflow_templates')")"
"$BUILD/mdwctl" verify --sample 2 >"$LOGS/verify-sample-clean.txt" && rc=0 || rc=$?
assert_eq "verify --sample 2 after a clean run: exit code" 0 "$rc"
assert_eq "verify --sample 2 states the sample per phase" 8 "$(grep -c -E ' sample: buckets \{-?[0-9]+(,-?[0-9]+)?\} of [0-9]+, drawn at random' "$LOGS/verify-sample-clean.txt")"
grep -q '^verify: a sample of 2 random buckets' "$LOGS/verify-sample-clean.txt" || fail "no sample header"
"$BUILD/mdwctl" verify --full --sample 2 >/dev/null 2>&1 && rc=0 || rc=$?
assert_eq "--full with --sample: usage error" 2 "$rc"
MDW_SOURCE_DSN="host=127.0.0.1 port=1 dbname=none connect_timeout=2" "$BUILD/mdwctl" verify >/dev/null 2>&1 && rc=0 || rc=$?
assert_eq "verify without the legacy database: an error, not a difference" 2 "$rc"

pat=$(tq "SELECT min(legacy_id) FROM patients WHERE birthdate IS NOT NULL")
prj=$(tq "SELECT min(legacy_id) FROM projects WHERE file_size_bytes IS NOT NULL")
cas=$(tq "SELECT max(legacy_project_id) FROM cases")
st=$(tq "SELECT min(legacy_id) FROM case_states")
pr=$(tq "SELECT max(legacy_id) FROM practices")
# a profile nothing else reads back (no patient, project, state, link or merged user names it)
pf=$(tq "SELECT min(p.legacy_id) FROM profiles p WHERE NOT EXISTS (SELECT 1 FROM patients x WHERE x.profile_id = p.id)
  AND NOT EXISTS (SELECT 1 FROM projects x WHERE x.creator_id = p.id) AND NOT EXISTS (SELECT 1 FROM case_states x WHERE x.changed_by = p.id)
  AND NOT EXISTS (SELECT 1 FROM practice_members x WHERE x.profile_id = p.id)
  AND NOT EXISTS (SELECT 1 FROM profile_legacy_users x WHERE x.profile_id = p.id AND x.merged)")
[ -n "$pf" ] || fail "no unreferenced profile in the demo data"
# a template merged into another of the same practice and name: its merge record lost
wt=$(tq "SELECT min(legacy_id) FROM mdw.merges WHERE phase = 'workflow_templates'")
tq "DELETE FROM mdw.merges WHERE phase = 'workflow_templates' AND legacy_id = $wt;
  UPDATE practices SET name = name || ' (renamed)' WHERE legacy_id = $pr;
  UPDATE profiles SET email = 'changed.' || email WHERE legacy_id = $pf;
  UPDATE patients SET birthdate = birthdate + 1 WHERE legacy_id = $pat;
  UPDATE projects SET file_size_bytes = file_size_bytes + 1 WHERE legacy_id = $prj;
  UPDATE cases SET title = 'Secret title' WHERE legacy_project_id = $cas;
  DELETE FROM case_states WHERE legacy_id = $st;
  INSERT INTO patients (legacy_id, first_name, last_name, status, is_archived, is_suspended, created_at, updated_at)
    SELECT 2000000000, first_name, last_name, status, is_archived, is_suspended, created_at, updated_at
    FROM patients WHERE legacy_id = $pat" >/dev/null
"$BUILD/mdwctl" verify >"$LOGS/verify.txt" && rc=0 || rc=$?
assert_eq "verify with eight differences: exit code" 1 "$rc"
assert_eq "verify names exactly the eight" "$(printf '%s\n' "cases $cas differs title" "case_states $st missing" \
  "patients $pat differs birthdate" "patients 2000000000 stray" "projects $prj differs size" \
  "practices $pr differs name" "profiles $pf differs email" "workflow_templates $wt missing" | LC_ALL=C sort)" "$(grep -E ' (differs|missing|stray) ' "$LOGS/verify.txt" | awk '{ print $1, $2, $3, ($3 == "differs" ? $4 : "") }' |
  sed 's/ $//' | LC_ALL=C sort)"
grep -q 'Secret title' "$LOGS/verify.txt" && fail "verify printed a value without --show-values"
"$BUILD/mdwctl" verify --phase cases --show-values >"$LOGS/verify-values.txt" || true
grep -q 'Secret title' "$LOGS/verify-values.txt" || fail "--show-values: $(cat "$LOGS/verify-values.txt")"
ok "values only with --show-values"
"$BUILD/mdwctl" verify --phase cases --sample 1000000 >"$LOGS/verify-sample.txt" && rc=0 || rc=$?
assert_eq "a sample covering every bucket finds the case: exit code" 1 "$rc"
assert_eq "a sample covering every bucket finds the case" "cases $cas differs title" \
  "$(grep -E ' (differs|missing|stray) ' "$LOGS/verify-sample.txt" | awk '{ print $1, $2, $3, $4 }')"
# one case changed in every bucket: the differing buckets are read in batches, every row is named
tq "UPDATE cases SET title = title || '.' WHERE legacy_project_id IN
  (SELECT min(legacy_project_id) FROM cases GROUP BY floor(legacy_project_id / 4096.0))" >/dev/null
want=$(tq "SELECT count(*) FROM cases WHERE title LIKE '%.' OR legacy_project_id = $cas")
[ "$want" -gt 20 ] || fail "expected more than 20 buckets of cases, got $want"
"$BUILD/mdwctl" verify --phase cases >"$LOGS/verify-many.txt" && rc=0 || rc=$?
assert_eq "a case changed in each of $want buckets: exit code" 1 "$rc"
assert_eq "a case changed in each bucket: every one named" "$want" "$(grep -c ' differs   title' "$LOGS/verify-many.txt")"
finish
