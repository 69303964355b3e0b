#!/usr/bin/env bash
# Secondary indexes built after the load (issue 20): a phase planned into an
# empty target table drops the table's non-unique indexes (recorded in
# mdw.deferred_indexes, in the plan's transaction) and builds them again once
# its last chunk is done, before its validation; the unique keys that serve
# ON CONFLICT stay. The definitions survive a killed coordinator (the resumed
# run builds them), a run given up for a new one (built when it starts) and a
# failed phase (built when it fails); a table that already holds rows keeps
# its indexes. Every case ends with the schema's indexes, as built by the
# migrations. And the ledger tables that the chunks fill are analyzed before
# a phase is validated.
REDIS_DB=13 # lib.sh: its own Redis db
source "$(dirname "$0")/lib.sh" "$1" deferred_indexes
fresh_dbs
"$BUILD/mdwctl" legacy-demo --scale 1 >"$LOGS/demo.log"
thin_projects
export MDW_POLL_MS=100
"$BUILD/mdwctl" schema >/dev/null
INDEXES="SELECT string_agg(indexdef, '; ' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'public' AND tablename IN ('patients', 'cases')"
SCHEMA_INDEXES=$(tq "$INDEXES")
secondary() { tq "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND tablename = '$1' AND indexname IN ('patients_practice', 'patients_profile', 'cases_patient', 'cases_practice')"; }
deferred() { tq "SELECT count(*) FROM mdw.deferred_indexes"; }
assert_schema_indexes() { # what
  assert_eq "$1: indexes of patients and cases as the schema has them" "$SCHEMA_INDEXES" "$(tq "$INDEXES")"
  assert_eq "$1: deferred indexes left" 0 "$(deferred)"
}
coordinator() { # log args...
  local log=$1; shift
  "$BUILD/mdw-coordinator" "$@" 2>>"$LOGS/coordinator-$log.log"
}

# 1. parents first (no secondary index on practices or profiles)
start_worker a1 --exit-when-done >/dev/null
coordinator parents --new-run --phases practices,profiles || fail "the parent phases failed"
# the ledger tables the chunks filled are analyzed before validation (coordinator/analyze.h), not left to autovacuum
assert_eq "mdw.flags, mdw.merges, mdw.rejects analyzed by the coordinator" "flags merges rejects" \
  "$(tq "SELECT string_agg(relname, ' ' ORDER BY relname) FROM pg_stat_user_tables WHERE schemaname = 'mdw' AND relname IN ('flags', 'rejects', 'merges') AND last_analyze IS NOT NULL")"
grep -q 'phase=practices msg="tables analyzed" tables=3' "$LOGS/coordinator-parents.log" ||
  fail "the coordinator does not say it analyzed the 3 ledger tables before validating practices"

# 2. patients planned into an empty table, no worker yet: its two secondary indexes are gone, recorded
"$BUILD/mdw-coordinator" --new-run --phases patients >/dev/null 2>>"$LOGS/coordinator-killed.log" &
C=$!
echo "$C" >>"$LOGS/pids"
wait_for 30 "patients planned" "grep -q 'phase=patients msg=\"phase planned\"' '$LOGS/coordinator-killed.log'"
assert_eq "patients' secondary indexes while its chunks wait" 0 "$(secondary patients)"
assert_eq "deferred index definitions recorded" 2 "$(tq "SELECT count(*) FROM mdw.deferred_indexes WHERE run_id = 2 AND phase = 'patients'")"
assert_eq "the unique key that serves ON CONFLICT stays" 1 \
  "$(tq "SELECT count(*) FROM pg_indexes WHERE tablename = 'patients' AND indexname = 'patients_legacy_id_key'")"
grep -q 'phase=patients msg="secondary indexes deferred" indexes=2' "$LOGS/coordinator-killed.log" ||
  fail "the coordinator does not say it deferred 2 indexes"
kill -9 "$C"
wait "$C" 2>/dev/null || true
rcli DEL mdw:lock:coordinator >/dev/null # the killed coordinator's lock would last its TTL

# 3. the resumed run loads, then builds them before validating
start_worker a2 --exit-when-done >/dev/null
coordinator resumed --phases patients || fail "the resumed run failed"
grep -q 'phase=patients msg="secondary indexes built" indexes=2' "$LOGS/coordinator-resumed.log" ||
  fail "the resumed coordinator does not say it built 2 indexes"
assert_schema_indexes "resumed run"
"$BUILD/mdwctl" validate >"$LOGS/validate.txt" || fail "mdwctl validate: $(cat "$LOGS/validate.txt")"
ok "mdwctl validate passes"

# 4. a table that holds rows keeps its indexes (a second run of patients)
start_worker a3 --exit-when-done >/dev/null
coordinator second --new-run --phases patients || fail "the second run failed"
grep -q 'msg="secondary indexes deferred"' "$LOGS/coordinator-second.log" && fail "indexes deferred on a table with rows"
assert_schema_indexes "second run"

# 5. a run given up for a new one: the new run builds the old run's indexes when it starts
tq "TRUNCATE cases CASCADE" >/dev/null
"$BUILD/mdw-coordinator" --new-run --phases cases >/dev/null 2>>"$LOGS/coordinator-abandoned.log" &
C=$!
echo "$C" >>"$LOGS/pids"
wait_for 30 "cases planned" "grep -q 'phase=cases msg=\"phase planned\"' '$LOGS/coordinator-abandoned.log'"
assert_eq "cases' secondary indexes while its chunks wait" 0 "$(secondary cases)"
kill -9 "$C"
wait "$C" 2>/dev/null || true
rcli DEL mdw:lock:coordinator >/dev/null
tq "UPDATE mdw.runs SET status = 'failed' WHERE id = 4" >/dev/null # given up: no worker joins it again
start_worker a4 --exit-when-done >/dev/null
coordinator new --new-run --phases practices || fail "the new run failed"
grep -q 'phase=cases msg="secondary indexes built" indexes=2 deferred_by_run=4' "$LOGS/coordinator-new.log" ||
  fail "the new run does not say it built the 2 indexes of run 4"
assert_schema_indexes "new run after an abandoned one"

# 6. a phase that fails (its chunks die): the indexes are built when it fails
tq "TRUNCATE cases CASCADE" >/dev/null
tq "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS \$\$BEGIN RAISE EXCEPTION 'no' USING ERRCODE = '42501'; END\$\$;
    CREATE TRIGGER boom BEFORE INSERT ON cases FOR EACH STATEMENT EXECUTE FUNCTION boom();
    ALTER TABLE cases ENABLE ALWAYS TRIGGER boom" >/dev/null
MDW_MAX_ATTEMPTS=1 MDW_LEASE_MS=1000 start_worker a5 --exit-when-done >/dev/null
coordinator failed --new-run --phases cases && fail "the run with a failing cases phase succeeded"
grep -q 'phase=cases msg="secondary indexes built" indexes=2' "$LOGS/coordinator-failed.log" ||
  fail "the failed phase's indexes were not built"
assert_schema_indexes "failed phase"
finish
