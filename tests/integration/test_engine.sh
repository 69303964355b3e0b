#!/usr/bin/env bash
# The engine end to end on real Postgres and Redis (issue: the migration
# engine): phases 0-2 at scale 1 with 2 workers while, on purpose, a worker
# is killed -9 holding a chunk (taken over after the lease), a poison message
# sits in a stream (dead-lettered), the coordinator is killed -9 and
# restarted (resumes), and Redis loses its data (queues rebuilt from the
# ledger). Then: exact accounting, exact counts against the legacy data, no
# duplicates, one dead letter; a second run inserts 0 rows.
source "$(dirname "$0")/lib.sh" "$1" engine
fresh_dbs
"$BUILD/mdwctl" legacy-demo --scale 1 >"$LOGS/demo.log"
"$BUILD/mdwctl" schema >/dev/null
export MDW_LEASE_MS=3000 MDW_POLL_MS=100 MDW_CHUNK_ROWS=500
PHASES=practices,profiles,patients

start_coord() {
  "$BUILD/mdw-coordinator" --phases "$PHASES" "$@" 2>>"$LOGS/coordinator.log" &
  COORD=$!
  PIDS+=($COORD)
}

# a poison message waits in the practices stream before the run starts
rcli XADD 'mdw:{1}:q:practices' '*' desc poison body 'not msgpack at all' >/dev/null

start_coord --new-run
wait_for 20 "profiles planned" 'test "$(tq "SELECT count(*) FROM mdw.chunks WHERE phase = '"'profiles'"'")" -gt 5'

# 1. a worker dies holding a chunk: hold profiles chunk 3's ledger row so that
# the worker blocks inside it, kill -9 the worker, then release the row
psql -X -q -d "$TARGET_DB" -c "BEGIN; SELECT 1 FROM mdw.chunks WHERE run_id = 1 AND phase = 'profiles'
  AND chunk_no = 3 FOR UPDATE; SELECT pg_sleep(6); COMMIT;" >/dev/null &
LOCKER=$!
sleep 0.5
VICTIM=$(start_worker victim)
wait_for 30 "the victim blocked on chunk 3" 'test "$(tq "SELECT count(*) FROM pg_stat_activity
  WHERE application_name = '"'mdw-worker/victim'"' AND wait_event_type = '"'Lock'"'")" -ge 1'
kill -9 "$VICTIM"
ok "worker killed -9 while holding profiles chunk 3"
wait "$LOCKER" || true
start_worker w1 >/dev/null
start_worker w2 >/dev/null

# 2. the coordinator dies once patients is planned, and is started again
wait_for 60 "patients planned" 'test "$(tq "SELECT count(*) FROM mdw.chunks WHERE phase = '"'patients'"'")" -gt 0'
kill -9 "$COORD"
ok "coordinator killed -9 mid-run"
start_coord

# the poison message was dead-lettered with its reason (before Redis loses it)
wait_for 20 "the dead letter" 'test "$(rcli XLEN "mdw:{1}:dead")" = 1'
rcli XRANGE 'mdw:{1}:dead' - + | grep 'undecodable body' >/dev/null || fail "the poison message's reason is missing"
ok "poison message dead-lettered with its reason"

# 3. Redis loses everything
sleep 0.3
rcli FLUSHDB >/dev/null
ok "Redis flushed mid-run"

wait "$COORD" && rc=0 || rc=$?
assert_eq "coordinator exit code" 0 "$rc"
grep -q 'took over an expired lease' "$LOGS"/worker-w*.log || fail "no worker took over the victim's chunk"
ok "the victim's chunk was taken over after the lease"

# exact accounting, chunk by chunk and phase by phase
assert_eq "unbalanced chunks" 0 "$(tq "SELECT count(*) FROM mdw.chunks WHERE run_id = 1 AND
  rows_read <> rows_inserted + rows_existing + rows_merged + rows_rejected OR status <> 'done'")"
for t in "practices dispatch_office" "profiles auth_user" "patients dispatch_patient"; do
  set -- $t
  assert_eq "$1 rows read" "$(lq "SELECT count(*) FROM $2")" \
    "$(tq "SELECT sum(rows_read) FROM mdw.chunks WHERE run_id = 1 AND phase = '$1'")"
  assert_eq "$1 rejects recorded" "$(tq "SELECT sum(rows_rejected) FROM mdw.chunks WHERE run_id = 1 AND phase = '$1'")" \
    "$(tq "SELECT count(*) FROM mdw.rejects WHERE run_id = 1 AND phase = '$1'")"
done
# against the legacy data, computed independently of the workers
psql -X -q -t -A -F'|' -d "$LEGACY_DB" -f "$ROOT/tests/integration/expected.sql" >"$LOGS/expected.txt"
while IFS='|' read -r q want; do
  case "$q" in *practices*|*profiles*|*patients*) assert_eq "$q" "$want" "$(tq "$q")" ;; esac
done <"$LOGS/expected.txt"
assert_eq "duplicate patients" 0 "$(tq "SELECT count(*) - count(DISTINCT legacy_id) FROM patients")"
"$BUILD/mdwctl" validate >"$LOGS/validate.txt" || fail "mdwctl validate: $(cat "$LOGS/validate.txt")"
ok "mdwctl validate passes"

# a second run of the same data inserts nothing
start_coord --new-run
wait "$COORD" && rc=0 || rc=$?
assert_eq "second run exit code" 0 "$rc"
assert_eq "second run inserts" 0 "$(tq "SELECT sum(rows_inserted) FROM mdw.chunks WHERE run_id = 2")"
assert_eq "second run reads" "$(tq "SELECT sum(rows_read) FROM mdw.chunks WHERE run_id = 1")" \
  "$(tq "SELECT sum(rows_existing + rows_rejected) FROM mdw.chunks WHERE run_id = 2")"

# the run's settings are JSON whatever the configuration's strings hold (a
# model id with a quote and a backslash is recorded as written)
model='my"model\v2'
MDW_EMBED_MODEL="$model" "$BUILD/mdw-coordinator" --new-run --phases practices 2>"$LOGS/coordinator-model.log" &
COORD=$!
start_worker m1 --exit-when-done >/dev/null
wait "$COORD" && rc=0 || rc=$?
assert_eq "run with a quoted model id: exit code" 0 "$rc"
assert_eq "the run's settings hold the model id as written" "$model" \
  "$(tq "SELECT settings->>'embed_model' FROM mdw.runs WHERE id = 3")"
finish
