#!/usr/bin/env bash
# Rollback, backups and incremental runs (docs/operations.md), relational
# phases at scale 1 with 2 workers, into a target that already holds rows
# (as the plan's practices and profiles did):
# - every phase is dumped before it writes; pg_restore of a dump into an
#   empty database gives the phase's pre-phase rows;
# - rolling back projects leaves cases; cases without --cascade is refused
#   while case_states has rows; --dry-run changes nothing; --cascade removes
#   case_states, projects and cases; the rows that existed before (and the
#   profile a legacy user was merged into) survive every rollback; a new run
#   then inserts exactly what the first one did;
# - an incremental run after 100 new patients and 1,000 new projects inserts
#   exactly those and their cases; one with nothing new inserts nothing, fast.
REDIS_DB=6
source "$(dirname "$0")/lib.sh" "$1" rollback
fresh_dbs
"$BUILD/mdwctl" legacy-demo --scale 1 >"$LOGS/demo.log"
"$BUILD/mdwctl" schema >/dev/null
export MDW_POLL_MS=100
RELATIONAL=practices,profiles,patients,cases,projects,practice_members,case_states,workflow_templates
TABLES="practices profiles profile_legacy_users patients cases projects practice_members case_states workflow_templates"
BACKUPS="$LOGS/backups"
RESTORE_DB=it_rollback_restore

migrate() { # log-name [coordinator args]: a run with two workers; fails the test unless it completes
  local name=$1; shift
  start_worker "$name-w1" --exit-when-done >/dev/null
  start_worker "$name-w2" --exit-when-done >/dev/null
  "$BUILD/mdw-coordinator" --new-run --phases "$RELATIONAL" "$@" 2>"$LOGS/coordinator-$name.log" \
    && rc=0 || rc=$?
  assert_eq "$name: coordinator exit code" 0 "$rc"
  RUN=$(last_run)
}
last_run() { tq "SELECT max(id) FROM mdw.runs"; }
counts() { for t in $TABLES; do printf '%s=%s ' "$t" "$(tq "SELECT count(*) FROM $t")"; done; }
inserted() { # run: rows inserted per phase
  tq "SELECT string_agg(phase || '=' || n, ' ' ORDER BY phase) FROM (SELECT phase, sum(rows_inserted) n
      FROM mdw.chunks WHERE run_id = $1 GROUP BY phase) s"
}
pre_rows() { # a digest of the rows that existed before the migration
  tq "SELECT md5((SELECT string_agg(t::text, '|' ORDER BY id) FROM practices t WHERE mdw_run_id IS NULL) ||
      (SELECT string_agg(t::text, '|' ORDER BY id) FROM profiles t WHERE mdw_run_id IS NULL))"
}
rollback() { # mdwctl rollback ARGS, output in rollback.out and .err
  local t0=$SECONDS rc=0
  "$BUILD/mdwctl" rollback "$@" >"$LOGS/rollback.out" 2>"$LOGS/rollback.err" || rc=$?
  echo "rollback $* took $((SECONDS - t0))s (exit $rc)" >>"$LOGS/timing.txt"
  return $rc
}
restore_count() { # dump table: rows of TABLE after pg_restore of DUMP into an empty database
  psql -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $RESTORE_DB WITH (FORCE)" \
    -c "CREATE DATABASE $RESTORE_DB" >/dev/null
  # only tables and rows: constraints that point at tables outside the dump cannot be restored here
  pg_restore --no-owner --section=pre-data --section=data -d "$RESTORE_DB" "$1" 2>>"$LOGS/restore.err" \
    || fail "pg_restore $1: $(tail -3 "$LOGS/restore.err")"
  psql -X -q -t -A -d "$RESTORE_DB" -c "SELECT count(*) FROM $2"
}

# rows that existed before the migration: every third office; the first user
# of each clean email among every third user; and a profile without legacy id
# holding the email of another user, who gets merged into it
lq "COPY (SELECT id, btrim(name), is_active, created_at FROM dispatch_office WHERE id % 3 = 0
  AND btrim(name) <> '') TO STDOUT" | tq "COPY practices (legacy_id, name, is_active, created_at) FROM STDIN"
lq "COPY (SELECT DISTINCT ON (e) id, e, btrim(first_name), btrim(last_name), 'user', is_active, date_joined
  FROM (SELECT *, lower(btrim(email)) e FROM auth_user) u WHERE e ~ '^[a-z0-9._+-]+@[a-z0-9-]+(\\.[a-z0-9-]+)+$'
  ORDER BY e, id) TO STDOUT" >"$LOGS/users.txt"
awk -F'\t' '$1 % 3 == 0' "$LOGS/users.txt" | tq "COPY profiles (legacy_id, email, first_name, last_name, role, is_active,
  joined_at) FROM STDIN"
merged_user=$(awk -F'\t' '$1 % 3 == 1 { print $1; exit }' "$LOGS/users.txt")
tq "INSERT INTO profiles (email, first_name, last_name, role, is_active)
  VALUES ('$(awk -F'\t' -v u="$merged_user" '$1 == u { print $2 }' "$LOGS/users.txt")', 'Pre', 'Existing', 'user', true)"
pre_practices=$(tq "SELECT count(*) FROM practices")
pre_profiles=$(tq "SELECT count(*) FROM profiles")
pre=$(pre_rows)
ok "before the migration: $pre_practices practices, $pre_profiles profiles"

# ---- run 1, with a backup before each phase
migrate run1 --backup-dir "$BACKUPS"
c1=$(counts)
i1=$(inserted "$RUN")
assert_eq "practices that existed count as existing" "$pre_practices" \
  "$(tq "SELECT sum(rows_existing) FROM mdw.chunks WHERE run_id = 1 AND phase = 'practices'")"
assert_eq "the legacy user merged into the pre-existing profile" 1 "$(tq "SELECT count(*) FROM mdw.merges m
  JOIN profiles p ON p.id = m.target_id WHERE m.legacy_id = $merged_user AND p.legacy_id IS NULL")"

# ---- backups: one dump per phase, recorded and listed; a restore gives the pre-phase rows
assert_eq "dumps of run 1" 8 "$(ls "$BACKUPS/1"/*.dump | wc -l)"
assert_eq "backups recorded in run 1" 8 "$(tq "SELECT count(*) FROM mdw.backups WHERE run_id = 1 AND bytes > 0")"
"$BUILD/mdwctl" backups --run 1 >"$LOGS/backups.txt"
assert_eq "backups listed" 8 "$(grep -c '\.dump' "$LOGS/backups.txt")"
assert_eq "restored pre-phase practices" "$pre_practices" "$(restore_count "$BACKUPS/1/00-practices.dump" practices)"
assert_eq "restored pre-phase profiles" "$pre_profiles" "$(restore_count "$BACKUPS/1/01-profiles.dump" profiles)"
assert_eq "restored pre-phase cases" 0 "$(restore_count "$BACKUPS/1/03-cases.dump" cases)"
# a failed backup stops the phase before it writes, and the run fails
"$BUILD/mdw-coordinator" --new-run --phases practices --backup-dir "$BACKUPS" --pg-dump false \
  2>"$LOGS/coordinator-nobackup.log" && rc=0 || rc=$?
assert_eq "coordinator exit code when the backup fails" 1 "$rc"
run=$(last_run)
assert_eq "phases planned after a failed backup" 0 "$(tq "SELECT count(*) FROM mdw.run_phases WHERE run_id = $run")"
tq "SELECT summary FROM mdw.runs WHERE id = $run" | grep 'false exited with status 1' >/dev/null \
  || fail "the run's summary does not say why: $(tq "SELECT summary FROM mdw.runs WHERE id = $run")"
assert_eq "files left by the failed backup" 0 "$(ls "$BACKUPS/$run" | wc -l)"
ok "a failed backup stops the phase before it writes"

# ---- rollback of projects: projects gone, cases stay
rollback --phase projects || fail "rollback projects: $(cat "$LOGS/rollback.err")"
assert_eq "projects after their rollback" 0 "$(tq "SELECT count(*) FROM projects")"
assert_eq "cases after the rollback of projects" "$(echo "$c1" | grep -o 'cases=[0-9]*')" "cases=$(tq "SELECT count(*) FROM cases")"
assert_eq "projects ledger" rolled_back "$(tq "SELECT status FROM mdw.run_phases WHERE run_id = 1 AND phase = 'projects'")"
"$BUILD/mdwctl" status --run 1 >"$LOGS/status-rolled-back.txt" 2>&1 || true
grep -E '^projects +rolled back ' "$LOGS/status-rolled-back.txt" >/dev/null ||
  fail "mdwctl status does not say projects was rolled back: $(grep '^projects' "$LOGS/status-rolled-back.txt")"
assert_eq "rows that existed before" "$pre" "$(pre_rows)"
# a phase whose need was rolled back cannot run on its own
"$BUILD/mdw-coordinator" --new-run --phases embeddings 2>"$LOGS/coordinator-needs.log" >/dev/null && rc=0 || rc=$?
assert_eq "coordinator exit code when projects is rolled back" 2 "$rc"
grep -q 'needs projects' "$LOGS/coordinator-needs.log" || fail "no message names the rolled-back need"

# ---- cases: refused while case_states has rows; dry run; cascade
states=$(tq "SELECT count(*) FROM case_states WHERE mdw_run_id IS NOT NULL")
rollback --phase cases && fail "rollback of cases without --cascade was not refused"
grep -q 'case_states has' "$LOGS/rollback.err" || fail "refusal does not name case_states: $(cat "$LOGS/rollback.err")"
assert_eq "case_states after the refused rollback" "$states" "$(tq "SELECT count(*) FROM case_states")"
rollback --phase cases --cascade --dry-run || fail "dry run: $(cat "$LOGS/rollback.err")"
assert_eq "dry run: case_states it would delete" "$states" \
  "$(awk '$1 == "case_states" && $2 == "case_states" { print $3 }' "$LOGS/rollback.out")"
assert_eq "dry run: cases it would delete" "$(tq "SELECT count(*) FROM cases")" \
  "$(awk '$1 == "cases" && $2 == "cases" { print $3 }' "$LOGS/rollback.out")"
assert_eq "case_states after the dry run" "$states" "$(tq "SELECT count(*) FROM case_states")"
assert_eq "ledger after the dry run" complete "$(tq "SELECT status FROM mdw.run_phases WHERE run_id = 1 AND phase = 'cases'")"
flags_before=$(tq "SELECT count(*) FROM mdw.flags WHERE phase IN ('cases', 'projects')")
[ "$flags_before" -gt 0 ] || fail "no cases or projects flagged before the rollback: the check below would prove nothing"
rollback --phase cases --cascade || fail "rollback cases --cascade: $(cat "$LOGS/rollback.err")"
assert_eq "flags of the rolled-back phases (there were $flags_before)" 0 \
  "$(tq "SELECT count(*) FROM mdw.flags WHERE phase IN ('cases', 'projects', 'case_states')")"
for t in case_states projects cases; do assert_eq "$t after the cascade" 0 "$(tq "SELECT count(*) FROM $t")"; done
assert_eq "patients after the cascade" "$(echo "$c1" | grep -o 'patients=[0-9]*')" "patients=$(tq "SELECT count(*) FROM patients")"
assert_eq "case_states merges after the cascade" 0 "$(tq "SELECT count(*) FROM mdw.merges WHERE phase = 'case_states'")"
assert_eq "rows that existed before" "$pre" "$(pre_rows)"

# ---- the rest, down to the rows that existed before
rollback --phase practices --cascade || fail "rollback practices --cascade: $(cat "$LOGS/rollback.err")"
rollback --phase profiles --cascade || fail "rollback profiles --cascade: $(cat "$LOGS/rollback.err")"
assert_eq "practices left" "$pre_practices" "$(tq "SELECT count(*) FROM practices")"
assert_eq "profiles left" "$pre_profiles" "$(tq "SELECT count(*) FROM profiles")"
assert_eq "migrated rows left" 0 "$(tq "SELECT (SELECT count(*) FROM profile_legacy_users) + (SELECT count(*) FROM
  patients) + (SELECT count(*) FROM practice_members) + (SELECT count(*) FROM workflow_templates) +
  (SELECT count(*) FROM mdw.merges)")"
assert_eq "rows that existed before" "$pre" "$(pre_rows)"
assert_eq "phases of run 1 still complete" 0 "$(tq "SELECT count(*) FROM mdw.run_phases WHERE run_id = 1 AND status <> 'rolled_back'")"

# ---- migrate again: the same rows land
migrate run2
assert_eq "table counts of the second run" "$c1" "$(counts)"
assert_eq "rows inserted by the second run" "$i1" "$(inserted "$RUN")"
assert_eq "rows that existed before" "$pre" "$(pre_rows)"
"$BUILD/mdwctl" validate >"$LOGS/validate.txt" || fail "mdwctl validate: $(cat "$LOGS/validate.txt")"

# ---- incremental: 100 new patients and 1,000 new projects (200 of them for the new patients)
pids=$(tq "SELECT string_agg(legacy_id::text, ',') FROM (SELECT legacy_id FROM patients WHERE legacy_id IS NOT NULL
  ORDER BY legacy_id DESC LIMIT 100) s")
jids=$(tq "SELECT string_agg(legacy_id::text, ',') FROM (SELECT legacy_id FROM projects ORDER BY legacy_id DESC LIMIT 1000) s")
maxp=$(lq "SELECT max(id) FROM dispatch_patient")
lq "INSERT INTO dispatch_patient SELECT $maxp + row_number() OVER (ORDER BY id), doctor_id, office_id, first_name,
  last_name, birthdate, sex, status, archived, suspended, now(), now() FROM dispatch_patient WHERE id IN ($pids)"
lq "INSERT INTO dispatch_project SELECT max_id + k, gen_random_uuid(), CASE WHEN k <= 200 THEN $maxp + 1 + (k - 1) % 100 ELSE patient_id
  END, creator_id, name, type, status, size, notes, now(), now()
  FROM (SELECT *, row_number() OVER (ORDER BY id) k, (SELECT max(id) FROM dispatch_project) max_id
        FROM dispatch_project WHERE id IN ($jids)) p"
# five patients updated in the legacy database: read again, counted as existing, not changed
lq "UPDATE dispatch_patient SET updated_at = now(), first_name = 'Changed' WHERE id IN (SELECT id FROM dispatch_patient
  WHERE id IN ($pids) ORDER BY id LIMIT 5)"
before=$(tq "SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM patients t")
migrate run3 --incremental --backup-dir "$BACKUPS"
assert_eq "rows inserted by the incremental run" "cases=1000 patients=100 projects=1000" "$(inserted "$RUN")"
assert_eq "the incremental run's source rows" "cases=1000 projects=1000" "$(tq "SELECT string_agg(phase || '=' ||
  source_rows, ' ' ORDER BY phase) FROM mdw.run_phases WHERE run_id = $RUN AND source_rows > 0 AND phase <> 'patients'")"
read=$(tq "SELECT source_rows FROM mdw.run_phases WHERE run_id = $RUN AND phase = 'patients'")
[ "$read" -ge 105 ] && [ "$read" -lt 1000 ] || fail "the incremental run read $read patients (new 100, updated 5)"
ok "patients read by the incremental run: $read (100 new, 5 updated, and the rows between them)"
assert_eq "patients that existed, untouched" "$before" "$(tq "SELECT md5(string_agg(t::text, '|' ORDER BY id))
  FROM patients t WHERE mdw_run_id IS DISTINCT FROM $RUN")"
assert_eq "new cases of the new patients" 200 "$(tq "SELECT count(*) FROM cases c JOIN patients p ON p.id = c.patient_id
  WHERE c.mdw_run_id = $RUN AND p.mdw_run_id = $RUN")"
assert_eq "restored pre-phase cases of run 3" "$(echo "$c1" | grep -o 'cases=[0-9]*')" \
  "cases=$(restore_count "$BACKUPS/$RUN/03-cases.dump" cases)"
"$BUILD/mdwctl" validate >"$LOGS/validate.txt" || fail "mdwctl validate (incremental): $(cat "$LOGS/validate.txt")"
# the report after an incremental run shows where the migration stands, not only what the run did
"$BUILD/mdwctl" report --report "$LOGS/report-incremental.md" >/dev/null
assert_eq "report after the incremental run: practices expected/current, run read" \
  "$(lq "SELECT count(*) FROM dispatch_office") $(tq "SELECT count(*) FROM practices") 0" \
  "$(python3 -c "import json; p = {x['phase']: x for x in json.load(open('$LOGS/report-incremental.json'))['phases']}['practices']
print(p['expectedCount'], p['currentCount'], p['read'])")"
assert_eq "report after the incremental run: patients current, outstanding rejects, run inserted" \
  "$(tq "SELECT count(*) FROM patients") $(tq "SELECT count(DISTINCT legacy_id) FROM mdw.rejects j WHERE phase = 'patients'
    AND NOT EXISTS (SELECT 1 FROM patients p WHERE p.legacy_id = j.legacy_id)") 100" \
  "$(python3 -c "import json; p = {x['phase']: x for x in json.load(open('$LOGS/report-incremental.json'))['phases']}['patients']
print(p['currentCount'], p['rejectedOutstanding'], p['inserted'])")"

# ---- nothing new: no chunk, no insert, seconds
t0=$(date +%s)
"$BUILD/mdw-coordinator" --new-run --incremental --phases "$RELATIONAL" 2>"$LOGS/coordinator-run4.log" && rc=0 || rc=$?
secs=$(( $(date +%s) - t0 ))
assert_eq "idle incremental run exit code" 0 "$rc"
assert_eq "chunks of the idle incremental run" 0 "$(tq "SELECT count(*) FROM mdw.chunks WHERE run_id = $(last_run)")"
assert_eq "phases of the idle incremental run" 8 "$(tq "SELECT count(*) FROM mdw.run_phases WHERE run_id = $(last_run)
  AND status = 'complete'")"
[ "$secs" -le 15 ] || fail "the idle incremental run took ${secs}s"
ok "the idle incremental run took ${secs}s"
rm -rf "$BACKUPS"
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $RESTORE_DB WITH (FORCE)" >/dev/null
echo "1 passed, 0 failed"
