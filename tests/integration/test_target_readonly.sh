#!/usr/bin/env bash
# The target turns read-only mid-run (issue 15, "target disk full /
# read-only"): ALTER DATABASE ... SET default_transaction_read_only = on and
# every session of the target terminated while 2 workers migrate. The
# coordinator stops with a clear error (exit 5, the run left open); the
# workers leave every chunk pending without counting a delivery (nothing
# dead, nothing dead-lettered). Once the database is writable again, the
# workers go on by themselves, the coordinator started again resumes the run
# and it finishes with exact counts.
source "$(dirname "$0")/lib.sh" "$1" target_readonly
fresh_dbs
"$BUILD/mdwctl" legacy-demo --scale 1 >"$LOGS/demo.log"
"$BUILD/mdwctl" schema >/dev/null
export MDW_LEASE_MS=2000 MDW_POLL_MS=100 MDW_CHUNK_ROWS=200 MDW_MAX_ATTEMPTS=2
PHASES=practices,profiles,patients
trap 'psql -X -q -d postgres -c "ALTER DATABASE $TARGET_DB RESET default_transaction_read_only" >/dev/null 2>&1; cleanup' EXIT

"$BUILD/mdw-coordinator" --new-run --phases "$PHASES" 2>>"$LOGS/coordinator.log" &
COORD=$!
PIDS+=($COORD)
start_worker w1 >/dev/null
start_worker w2 >/dev/null
wait_for 60 "10 chunks done" 'test "$(tq "SELECT count(*) FROM mdw.chunks WHERE status = '"'done'"'")" -ge 10'

# the fault: read-only from now on, every session of the target ends
psql -X -q -d postgres -c "ALTER DATABASE $TARGET_DB SET default_transaction_read_only = on" \
  -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '$TARGET_DB'
      AND pid <> pg_backend_pid()" >/dev/null
DONE_AT_FAULT=$(tq "SELECT count(*) FROM mdw.chunks WHERE status = 'done'")
ok "target read-only at $DONE_AT_FAULT chunks done"
wait_for 60 "the coordinator stopped" '! kill -0 $COORD'
wait "$COORD" && rc=0 || rc=$?
assert_eq "coordinator exit code on a read-only target" 5 "$rc"
grep -q 'msg="the target database refuses writes' "$LOGS/coordinator.log" || fail "the coordinator does not say why it stopped"
wait_for 60 "4 refused attempts" 'test "$(cat "$LOGS"/worker-w*.log | grep "not mine now" | grep -c "error=\"25006")" -ge 4'
assert_eq "dead letters while read-only" 0 "$(rcli XLEN 'mdw:{1}:dead')"
assert_eq "dead chunks while read-only" 0 "$(tq "SELECT count(*) FROM mdw.chunks WHERE status = 'dead'")"
assert_eq "chunks done while read-only" "$DONE_AT_FAULT" "$(tq "SELECT count(*) FROM mdw.chunks WHERE status = 'done'")"

# the fault is lifted: the workers go on, the coordinator resumes the run
psql -X -q -d postgres -c "ALTER DATABASE $TARGET_DB RESET default_transaction_read_only" >/dev/null
wait_for 60 "a chunk done after the fault" 'test "$(tq "SELECT count(*) FROM mdw.chunks WHERE status = '"'done'"'")" -gt $DONE_AT_FAULT'
ok "the workers resumed by themselves"
"$BUILD/mdw-coordinator" --phases "$PHASES" 2>>"$LOGS/coordinator.log" && rc=0 || rc=$?
assert_eq "resumed coordinator exit code" 0 "$rc"
assert_eq "runs" 1 "$(tq "SELECT count(*) FROM mdw.runs")"
assert_run_exact "practices dispatch_office" "profiles auth_user" "patients dispatch_patient"
finish
