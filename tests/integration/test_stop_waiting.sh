#!/usr/bin/env bash
# SIGTERM while the coordinator's own session waits in a statement (a lock
# held by the application, a long validation: here mdw.fk_dangling wrapped in
# a pg_sleep of 120 s): the statement is cancelled and the coordinator stops
# within seconds, not when the statement ends (exit 130, "stopped by signal",
# the run left open). Started again, it resumes the run and finishes it.
source "$(dirname "$0")/lib.sh" "$1" stop_waiting
fresh_dbs
"$BUILD/mdwctl" legacy-demo --scale 1 >"$LOGS/demo.log"
"$BUILD/mdwctl" schema >/dev/null
export MDW_POLL_MS=100
tq "ALTER FUNCTION mdw.fk_dangling(oid) RENAME TO fk_dangling_fast" >/dev/null
tq "CREATE FUNCTION mdw.fk_dangling(con oid) RETURNS bigint LANGUAGE sql AS
  \$\$ SELECT pg_sleep(120); SELECT mdw.fk_dangling_fast(con) \$\$" >/dev/null

start_worker w1 >/dev/null
"$BUILD/mdw-coordinator" --new-run --phases profiles 2>>"$LOGS/coordinator.log" &
COORD=$!
PIDS+=($COORD)
wait_for 60 "the coordinator's validation waiting" 'test "$(tq "SELECT count(*) FROM pg_stat_activity WHERE application_name =
  '"'mdw-coordinator'"' AND wait_event = '"'PgSleep'"'")" -ge 1'
T0=$SECONDS
kill -TERM "$COORD"
wait_for 15 "the coordinator stopped after SIGTERM" '! kill -0 $COORD'
wait "$COORD" && rc=0 || rc=$?
ok "stopped $((SECONDS - T0)) s after SIGTERM"
assert_eq "coordinator exit code after SIGTERM" 130 "$rc"
grep -q 'msg="stopped by signal: the run stays open' "$LOGS/coordinator.log" || fail "the coordinator does not say it stopped"
assert_eq "the coordinator's statements still running" 0 "$(tq "SELECT count(*) FROM pg_stat_activity WHERE
  application_name = 'mdw-coordinator' AND state = 'active'")"
assert_eq "run 1 still open" "" "$(tq "SELECT finished_at FROM mdw.runs WHERE id = 1")"

tq "DROP FUNCTION mdw.fk_dangling(oid); ALTER FUNCTION mdw.fk_dangling_fast(oid) RENAME TO fk_dangling" >/dev/null
"$BUILD/mdw-coordinator" --phases profiles 2>>"$LOGS/coordinator.log" && rc=0 || rc=$?
assert_eq "resumed coordinator exit code" 0 "$rc"
assert_eq "runs" 1 "$(tq "SELECT count(*) FROM mdw.runs")"
assert_eq "profiles phase" complete "$(tq "SELECT status FROM mdw.run_phases WHERE run_id = 1 AND phase = 'profiles'")"

# SIGTERM while it waits to open a new run (mdw.runs locked by another
# session): the same, though the cancelled statement fails the opening
PGAPPNAME=mdw-test-locker psql -X -q -d "$TARGET_DB" -c "BEGIN" -c "LOCK TABLE mdw.runs IN ACCESS EXCLUSIVE MODE" \
  -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
LOCKER=$!
PIDS+=($LOCKER)
wait_for 20 "mdw.runs locked" 'test "$(tq "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
  WHERE c.relname = '"'runs'"' AND l.mode = '"'AccessExclusiveLock'"' AND l.granted")" -ge 1'
"$BUILD/mdw-coordinator" --new-run --phases profiles 2>>"$LOGS/coordinator3.log" &
COORD=$!
PIDS+=($COORD)
wait_for 30 "the coordinator waiting on the lock" 'test "$(tq "SELECT count(*) FROM pg_stat_activity WHERE
  application_name = '"'mdw-coordinator'"' AND wait_event_type = '"'Lock'"'")" -ge 1'
kill -TERM "$COORD"
wait_for 15 "the coordinator stopped after SIGTERM (waiting on a lock)" '! kill -0 $COORD'
wait "$COORD" && rc=0 || rc=$?
assert_eq "coordinator exit code after SIGTERM (waiting on a lock)" 130 "$rc"
grep -q 'msg="stopped by signal' "$LOGS/coordinator3.log" || fail "the coordinator does not say it stopped"
# the locker's session ends (killing psql alone would leave its backend asleep, holding the lock)
tq "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'mdw-test-locker'" >/dev/null
wait "$LOCKER" || true
assert_eq "runs after the stopped opening" 1 "$(tq "SELECT count(*) FROM mdw.runs")"
finish
