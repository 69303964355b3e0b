#!/usr/bin/env bash
# The target turns read-only mid-run (issue 15, "target disk full /
# read-only"): ALTER DATABASE ... SET default_transaction_read_only = on and
# every session of the target terminated while 2 workers migrate. The
# coordinator stops with a clear error (exit 5, the run left open); the
# workers leave every chunk pending without counting a delivery (nothing
# dead, nothing dead-lettered). Once the database is writable again, the
# workers go on by themselves, the coordinator started again resumes the run
# and it finishes with exact counts. The same for the embeddings phase, and
# for an embeddings chunk whose writes are refused after its claim (a
# trigger raising 25006): given back uncounted, never dead-lettered.
source "$(dirname "$0")/lib.sh" "$1" target_readonly
fresh_dbs
"$BUILD/mdwctl" legacy-demo --scale 1 >"$LOGS/demo.log"
keep_legacy 16 8 # (the embeddings part below: fewer cases, projects and patients)
"$BUILD/mdwctl" schema >/dev/null
export MDW_LEASE_MS=2000 MDW_POLL_MS=100 MDW_CHUNK_ROWS=200 MDW_MAX_ATTEMPTS=2
PHASES=practices,profiles,patients
trap 'psql -X -q -d postgres -c "ALTER DATABASE $TARGET_DB RESET default_transaction_read_only" >/dev/null 2>&1; cleanup' EXIT

"$BUILD/mdw-coordinator" --new-run --phases "$PHASES" 2>>"$LOGS/coordinator.log" &
COORD=$!
PIDS+=($COORD)
W1=$(start_worker w1)
W2=$(start_worker w2)
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

# the same fault in the embeddings phase (workers e1, e2 alone): its chunks too
# are left pending, none dead, no worker lost (a retried chunk once used the
# session its reconnect had freed), and the phase completes once the target is
# writable again
kill "$W1" "$W2"
start_worker r1 --exit-when-done >/dev/null
"$BUILD/mdw-coordinator" --new-run --phases cases,projects 2>>"$LOGS/coordinator.log" || fail "cases, projects"
export MDW_EMBED_BATCH=20 MDW_RATE_RPM=150000
"$BUILD/mdw-coordinator" --new-run --phases embeddings 2>>"$LOGS/coordinator-embed.log" &
COORD=$!
PIDS+=($COORD)
E1=$(start_worker e1)
E2=$(start_worker e2)
done_embed() { tq "SELECT count(*) FROM mdw.chunks WHERE run_id = 3 AND status = 'done'"; }
wait_for 60 "5 embeddings chunks done" 'test "$(done_embed)" -ge 5'
psql -X -q -d postgres -c "ALTER DATABASE $TARGET_DB SET default_transaction_read_only = on" \
  -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '$TARGET_DB'
      AND pid <> pg_backend_pid()" >/dev/null
DONE_AT_FAULT=$(done_embed)
ok "target read-only at $DONE_AT_FAULT embeddings chunks done"
wait_for 60 "the coordinator stopped" '! kill -0 $COORD'
wait "$COORD" && rc=0 || rc=$?
assert_eq "coordinator exit code on a read-only target (embeddings)" 5 "$rc"
wait_for 60 "4 refused embeddings attempts" 'test "$(cat "$LOGS"/worker-e*.log | grep "not mine now" | grep -c "error=\"25006")" -ge 4'
kill -0 "$E1" && kill -0 "$E2" || fail "a worker died while the target was read-only: $(tail -2 "$LOGS"/worker-e*.log)"
assert_eq "embeddings dead letters while read-only" 0 "$(rcli XLEN 'mdw:{3}:dead')"
assert_eq "embeddings chunks dead while read-only" 0 "$(tq "SELECT count(*) FROM mdw.chunks WHERE run_id = 3 AND status = 'dead'")"
psql -X -q -d postgres -c "ALTER DATABASE $TARGET_DB RESET default_transaction_read_only" >/dev/null
"$BUILD/mdw-coordinator" --phases embeddings 2>>"$LOGS/coordinator-embed.log" && rc=0 || rc=$?
assert_eq "resumed coordinator exit code (embeddings)" 0 "$rc"
assert_eq "every patient, case and project linked" 0 "$(tq "SELECT (SELECT count(*) FROM patients) + (SELECT count(*) FROM cases)
  + (SELECT count(*) FROM projects) - (SELECT count(*) FROM ai_embedding_sources)")"

# the target refuses an embeddings chunk's writes after its claim (its ledger
# row written, the texts embedded; a trigger raises 25006 on ai_embeddings, as
# a target made read-only in between does): each time the chunk is given back
# uncounted, never retried into the dead letters, until the writes are accepted
kill "$E1" "$E2"
tq "UPDATE cases SET clinical_notes = 'read-only test note ' || id WHERE id % 3 = 0" >/dev/null
tq "CREATE FUNCTION refuse_writes() RETURNS trigger LANGUAGE plpgsql AS \$\$BEGIN
      RAISE EXCEPTION 'cannot execute INSERT in a read-only transaction' USING ERRCODE = '25006'; END\$\$;
    CREATE TRIGGER refuse_writes BEFORE INSERT ON ai_embeddings FOR EACH STATEMENT EXECUTE FUNCTION refuse_writes()"
"$BUILD/mdw-coordinator" --new-run --phases embeddings 2>>"$LOGS/coordinator-embed4.log" &
COORD=$!
PIDS+=($COORD)
E3=$(start_worker e3)
refused4() { cat "$LOGS/worker-e3.log" | grep "not mine now" | grep -c "error=\"25006" || true; }
wait_for 60 "4 embeddings chunks refused after their claim" 'test "$(refused4)" -ge 4'
# each refusal makes the worker wait longer before it looks again (a line every
# 30 ms per worker once flooded the log for as long as the fault lasted)
N1=$(refused4)
sleep 3
N2=$(refused4)
test $((N2 - N1)) -le 12 || fail "a refusing target: $((N2 - N1)) chunks given back in 3 s, no growing wait"
grep "not mine now" "$LOGS/worker-e3.log" | tail -1 | grep -q 'wait_ms=[0-9]' || fail "a refusal does not say how long the worker waits"
ok "a refusing target: $((N2 - N1)) chunks given back in 3 s, each refusal waits longer"
assert_eq "embeddings dead letters while the writes are refused" 0 "$(rcli XLEN 'mdw:{4}:dead')"
assert_eq "embeddings chunks dead while the writes are refused" 0 \
  "$(tq "SELECT count(*) FROM mdw.chunks WHERE run_id = 4 AND status = 'dead'")"
tq "DROP TRIGGER refuse_writes ON ai_embeddings" >/dev/null
wait "$COORD" && rc=0 || rc=$?
assert_eq "coordinator exit code once the writes are accepted (embeddings)" 0 "$rc"
assert_eq "every patient, case and project linked (run 4)" 0 "$(tq "SELECT (SELECT count(*) FROM patients) + (SELECT count(*) FROM cases)
  + (SELECT count(*) FROM projects) - (SELECT count(*) FROM ai_embedding_sources)")"
finish
