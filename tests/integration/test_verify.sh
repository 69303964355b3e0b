#!/usr/bin/env bash
# Row-level verification (mdwctl verify): after a clean migration it reports
# nothing; after one patient's birth date, one project's size and one case's
# title are changed in the target (mdw-coordinator --verify runs it after each
# phase's validation), one case state deleted and one stray
# patient added, it reports exactly those five, by legacy id and column,
# without the values unless --show-values.
REDIS_DB=6
source "$(dirname "$0")/lib.sh" "$1" verify
fresh_dbs
"$BUILD/mdwctl" legacy-demo --scale 1 >"$LOGS/demo.log"
lq "DELETE FROM dispatch_project p WHERE id % 8 <> 0 AND NOT EXISTS (SELECT 1 FROM dispatch_state s WHERE s.project_id = p.id);
  DELETE FROM dispatch_state s WHERE NOT EXISTS (SELECT 1 FROM dispatch_project p WHERE p.id = s.project_id)" >/dev/null
export MDW_POLL_MS=100
start_worker v1 --exit-when-done >/dev/null
start_worker v2 --exit-when-done >/dev/null
"$BUILD/mdw-coordinator" --new-run --verify --phases practices,profiles,patients,cases,projects,case_states \
  2>"$LOGS/coordinator.log" && rc=0 || rc=$?
assert_eq "coordinator exit code" 0 "$rc"
assert_eq "phases verified row by row by the coordinator (--verify)" 4 \
  "$(grep -c 'row-level verification: .* 0 rows missing, 0 stray, 0 differing' "$LOGS/coordinator.log")"

"$BUILD/mdwctl" verify >"$LOGS/verify-clean.txt" && rc=0 || rc=$?
assert_eq "verify after a clean run: exit code" 0 "$rc"
assert_eq "verify after a clean run: rows named" 0 "$(grep -c -E ' (differs|missing|stray) ' "$LOGS/verify-clean.txt" || true)"
assert_eq "verify after a clean run: phases verified" 4 "$(grep -c ' ok: ' "$LOGS/verify-clean.txt")"

pat=$(tq "SELECT min(legacy_id) FROM patients WHERE birthdate IS NOT NULL")
prj=$(tq "SELECT min(legacy_id) FROM projects WHERE file_size_bytes IS NOT NULL")
cas=$(tq "SELECT max(legacy_project_id) FROM cases")
st=$(tq "SELECT min(legacy_id) FROM case_states")
tq "UPDATE patients SET birthdate = birthdate + 1 WHERE legacy_id = $pat;
  UPDATE projects SET file_size_bytes = file_size_bytes + 1 WHERE legacy_id = $prj;
  UPDATE cases SET title = 'Secret title' WHERE legacy_project_id = $cas;
  DELETE FROM case_states WHERE legacy_id = $st;
  INSERT INTO patients (legacy_id, first_name, last_name, status, is_archived, is_suspended, created_at, updated_at)
    SELECT 2000000000, first_name, last_name, status, is_archived, is_suspended, created_at, updated_at
    FROM patients WHERE legacy_id = $pat" >/dev/null
"$BUILD/mdwctl" verify >"$LOGS/verify.txt" && rc=0 || rc=$?
assert_eq "verify with five differences: exit code" 1 "$rc"
assert_eq "verify names exactly the five" "$(printf '%s\n' "cases $cas differs title" "case_states $st missing" \
  "patients $pat differs birthdate" "patients 2000000000 stray" "projects $prj differs size" | LC_ALL=C sort)" "$(grep -E ' (differs|missing|stray) ' "$LOGS/verify.txt" | awk '{ print $1, $2, $3, ($3 == "differs" ? $4 : "") }' |
  sed 's/ $//' | LC_ALL=C sort)"
grep -q 'Secret title' "$LOGS/verify.txt" && fail "verify printed a value without --show-values"
"$BUILD/mdwctl" verify --phase cases --show-values >"$LOGS/verify-values.txt" || true
grep -q 'Secret title' "$LOGS/verify-values.txt" || fail "--show-values: $(cat "$LOGS/verify-values.txt")"
ok "values only with --show-values"
finish
