#!/usr/bin/env bash
# The coordinator lock outlives a long step (issue 15 item 5): a phase's
# validation is made slower than the lock's 15 s TTL (mdw.fk_dangling wrapped
# in a pg_sleep, through SQL); meanwhile the lock stays the coordinator's
# own, and a second coordinator started then is refused (exit 4) instead of
# taking the run over.
source "$(dirname "$0")/lib.sh" "$1" coord_lock
fresh_dbs
"$BUILD/mdwctl" legacy-demo --scale 1 >"$LOGS/demo.log"
"$BUILD/mdwctl" schema >/dev/null
export MDW_POLL_MS=100
tq "ALTER FUNCTION mdw.fk_dangling(oid) RENAME TO fk_dangling_fast" >/dev/null
tq "CREATE FUNCTION mdw.fk_dangling(con oid) RETURNS bigint LANGUAGE sql AS
  \$\$ SELECT pg_sleep(20); SELECT mdw.fk_dangling_fast(con) \$\$" >/dev/null

start_worker w1 >/dev/null
"$BUILD/mdw-coordinator" --new-run --phases profiles 2>>"$LOGS/coordinator.log" &
COORD=$!
PIDS+=($COORD)
TOKEN="$(hostname):$COORD"
wait_for 20 "the coordinator holds the lock" 'test "$(rcli GET mdw:lock:coordinator)" = "$TOKEN"'
# the validation has been running for longer than the lock's TTL
wait_for 40 "a validation 16 s long" 'test "$(tq "SELECT count(*) FROM pg_stat_activity WHERE application_name =
  '"'mdw-coordinator'"' AND wait_event = '"'PgSleep'"' AND now() - query_start > interval '"'16 s'"'")" -ge 1'
assert_eq "lock holder after 16 s of validation" "$TOKEN" "$(rcli GET mdw:lock:coordinator)"
"$BUILD/mdw-coordinator" --phases profiles 2>"$LOGS/coordinator2.log" && rc=0 || rc=$?
assert_eq "second coordinator exit code" 4 "$rc"
grep -q "another coordinator holds the lock: $TOKEN" "$LOGS/coordinator2.log" || fail "the refusal does not name the holder"
wait "$COORD" && rc=0 || rc=$?
assert_eq "coordinator exit code" 0 "$rc"
assert_eq "profiles complete" complete "$(tq "SELECT status FROM mdw.run_phases WHERE run_id = 1 AND phase = 'profiles'")"
assert_eq "runs" 1 "$(tq "SELECT count(*) FROM mdw.runs")"
finish
