#!/usr/bin/env bash
# Issue 19, the source sessions (the fleet-wide limits are test_source_guard): during a run, every session of ours on the
# legacy database says who it is in pg_stat_activity (mdw-coordinator,
# mdw-worker/<worker id>); they are read-only (unit_test_pgx checks on a
# live session that a write fails, 25006). And a legacy
# read slower than MDW_SOURCE_STATEMENT_TIMEOUT_MS is canceled.
REDIS_DB=12
source "$(dirname "$0")/lib.sh" "$1" source_session
fresh_dbs
"$BUILD/mdwctl" legacy-demo --scale 1 >"$LOGS/demo.log"
lq "DELETE FROM dispatch_patient WHERE id % 10 <> 0" >/dev/null
export MDW_POLL_MS=100
ours() { # the application names of our sessions on the legacy database, sorted
  lq "SELECT string_agg(application_name, ' ' ORDER BY application_name) FROM pg_stat_activity
      WHERE datname = current_database() AND application_name LIKE 'mdw-%'"
}

# the coordinator waits for workers: its session is there while the run is open
"$BUILD/mdw-coordinator" --new-run --phases practices,profiles,patients 2>"$LOGS/coordinator.log" &
coord=$!
echo $coord >>"$LOGS/pids"
wait_for 30 "the coordinator's source session during the run" \
  "[ \"\$(tq \"SELECT status FROM mdw.runs WHERE id = 1\")\" = running ] && [ \"\$(ours)\" = mdw-coordinator ]"
ok "during the run: $(ours)"
start_worker g1 >/dev/null
start_worker g2 >/dev/null
wait_for 30 "the workers' source sessions" "[ \"\$(ours)\" = 'mdw-coordinator mdw-worker/g1 mdw-worker/g2' ]"
ok "pg_stat_activity names each session: $(ours)"
# the target sees the same names
assert_eq "target sessions named per worker" 2 "$(tq "SELECT count(*) FROM pg_stat_activity
  WHERE datname = current_database() AND application_name IN ('mdw-worker/g1', 'mdw-worker/g2')")"
wait "$coord" && rc=0 || rc=$?
assert_eq "coordinator exit code" 0 "$rc"
"$BUILD/mdwctl" validate >"$LOGS/validate.txt" || fail "validate: $(cat "$LOGS/validate.txt")"
gpids=$(tail -2 "$LOGS/pids" | tr '\n' ' ')
kill $gpids 2>/dev/null || true
wait_for 30 "workers g1 and g2 to stop" "! kill -0 $gpids 2>/dev/null"

# the workers' source sessions carry MDW_SOURCE_STATEMENT_TIMEOUT_MS: a legacy
# read slower than it (a row-level policy that sleeps, for the workers' role)
# is canceled, and, every attempt meeting it, the chunk is dead-lettered
fresh_target
"$BUILD/mdwctl" schema >/dev/null
psql -X -q -v legacy_db="$LEGACY_DB" -v target_db="$TARGET_DB" -d postgres -f "$ROOT/sql/roles.sql" >/dev/null
lq "ALTER TABLE dispatch_office ENABLE ROW LEVEL SECURITY;
  CREATE POLICY it_slow ON dispatch_office TO mdw_worker USING (pg_sleep(0.05) IS NOT NULL)" >/dev/null
export MDW_LEASE_MS=1000 MDW_MAX_ATTEMPTS=1 MDW_SOURCE_STATEMENT_TIMEOUT_MS=300
for i in 1 2; do
  MDW_SOURCE_DSN="host=127.0.0.1 port=$MDW_PG_PORT dbname=$LEGACY_DB user=mdw_worker" \
    MDW_TARGET_DSN="host=127.0.0.1 port=$MDW_PG_PORT dbname=$TARGET_DB user=mdw_worker" \
    "$BUILD/mdw-worker" --worker-id "slow$i" --exit-when-done >/dev/null 2>>"$LOGS/worker-slow$i.log" &
  echo $! >>"$LOGS/pids"
done
timeout 60 "$BUILD/mdw-coordinator" --new-run --phases practices 2>"$LOGS/coordinator-slow.log" && rc=0 || rc=$?
assert_eq "coordinator exit code with a slow legacy read" 1 "$rc"
grep -E 'run cannot finish.*practices #0.*57014' "$LOGS/coordinator-slow.log" >/dev/null ||
  fail "the failure does not name the canceled read: $(grep 'cannot finish' "$LOGS/coordinator-slow.log")"
ok "a legacy read over MDW_SOURCE_STATEMENT_TIMEOUT_MS is canceled and the chunk dead-lettered"
lq "DROP POLICY it_slow ON dispatch_office; ALTER TABLE dispatch_office DISABLE ROW LEVEL SECURITY" >/dev/null

# a legacy read canceled while it opens (a DBA holds a table's exclusive lock
# past the statement timeout) leaves the worker's source session usable: once
# the lock is gone, the retried chunk loads on the same session
fresh_target
export MDW_MAX_ATTEMPTS=30 MDW_LEASE_MS=5000
migrate parents --phases practices,profiles
"$BUILD/mdw-coordinator" --new-run --phases patients 2>"$LOGS/coordinator-locked.log" &
coord=$!
echo $coord >>"$LOGS/pids"
wait_for 30 "the patients chunks planned" "[ \"\$(tq \"SELECT count(*) FROM mdw.chunks WHERE phase = 'patients'\")\" -gt 0 ]"
lq "BEGIN; LOCK TABLE dispatch_patient IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(2.5); COMMIT" >/dev/null &
locker=$!
wait_for 10 "the DBA's lock" "[ \"\$(lq \"SELECT count(*) FROM pg_locks WHERE relation = 'dispatch_patient'::regclass AND mode = 'AccessExclusiveLock' AND granted\")\" = 1 ]"
start_worker locked1 --exit-when-done >/dev/null
wait "$locker"
wait "$coord" && rc=0 || rc=$?
grep -q '57014' "$LOGS/worker-locked1.log" || fail "the worker's read did not meet the lock: $(tail -3 "$LOGS/worker-locked1.log")"
assert_eq "coordinator exit code after a read canceled on a locked table" 0 "$rc"
assert_eq "patients chunks done, none dead" "0" "$(tq "SELECT count(*) FROM mdw.chunks WHERE phase = 'patients' AND run_id = 2 AND status <> 'done'")"
grep -q '25P02' "$LOGS/worker-locked1.log" && fail "a retry met the aborted transaction of the canceled read"
finish
