#!/usr/bin/env bash
# The ledger is the source of truth, also where the queue and the planner
# disagree with it (issue 15), on small data (1 legacy patient and project
# in 20):
# - ids past int32: a target patient with id 3000000000 gets its embedding
#   (chunk bounds are 64-bit end to end);
# - an embedding link that existed before the migration (another hash)
#   survives the run and `rollback --phase embeddings`;
# - a run failed by a dead chunk marks its phase failed, and rollback of that
#   phase is not refused;
# - after FLUSHDB, `mdwctl dead` lists the dead chunk with its last error
#   from the ledger and `retry-dead` re-enqueues it: the run then completes;
# - a done chunk whose ack was lost on its last allowed delivery is
#   acknowledged, not dead-lettered;
# - a stale message of a rolled-back chunk is not applied;
# - an office committed late inside a range an earlier run covered arrives
#   with the next --incremental run.
REDIS_DB=8
source "$(dirname "$0")/lib.sh" "$1" ledger_faults
fresh_dbs
"$BUILD/mdwctl" legacy-demo --scale 1 >"$LOGS/demo.log"
lq "DELETE FROM dispatch_patient WHERE id % 20 <> 0" >/dev/null
lq "DELETE FROM dispatch_project WHERE id % 20 <> 0" >/dev/null
lq "DELETE FROM dispatch_state WHERE id % 20 <> 0" >/dev/null
# an office that the first run does not see: it commits late, inside the covered range
LATE=$(lq "SELECT id FROM dispatch_office ORDER BY id OFFSET (SELECT count(*) / 2 FROM dispatch_office) LIMIT 1")
lq "CREATE TABLE late_office AS SELECT * FROM dispatch_office WHERE id = $LATE" >/dev/null
lq "DELETE FROM dispatch_office WHERE id = $LATE" >/dev/null
"$BUILD/mdwctl" schema >/dev/null
export MDW_POLL_MS=100
last_run() { tq "SELECT max(id) FROM mdw.runs"; }
coordinator() { # log-name args: a bounded coordinator run (a hang fails the test); sets RC
  local name=$1; shift
  timeout 180 "$BUILD/mdw-coordinator" "$@" 2>"$LOGS/coordinator-$name.log" && RC=0 || RC=$?
}
body() { # run phase chunk lo hi [part]: a chunk message body (msgpack)
  /usr/bin/python3 - "$@" <<'EOF'
import struct, sys
run, phase, chunk, lo, hi = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
s = lambda x: bytes([0xA0 | len(x)]) + x.encode()
i = lambda n: b"\xd3" + struct.pack(">q", n)
kv = [("v", i(1)), ("run", i(run)), ("phase", s(phase)), ("chunk", i(chunk)), ("lo", i(lo)), ("hi", i(hi))]
kv += [("part", s(sys.argv[6]))] if len(sys.argv) > 6 else []
sys.stdout.buffer.write(bytes([0x80 | len(kv)]) + b"".join(s(k) + v for k, v in kv))
EOF
}
stale_message() { # run phase chunk: reopen RUN and put the chunk's message on its stream; prints the entry id
  local run=$1 phase=$2 no=$3 key="mdw:{$1}:q:$2" lohi
  lohi=$(tq "SELECT concat_ws(' ', lo, hi, part) FROM mdw.chunks WHERE run_id = $run AND phase = '$phase' AND chunk_no = $no")
  tq "UPDATE mdw.runs SET status = 'running' WHERE id = $run" >/dev/null
  rcli SET mdw:current-run "$run" >/dev/null
  rcli XGROUP CREATE "$key" workers '$' MKSTREAM >/dev/null 2>&1 || true
  # shellcheck disable=SC2086
  body "$run" "$phase" "$no" $lohi | rcli -x XADD "$key" '*' desc "stale $phase #$no" body
}
pending() { rcli XPENDING "mdw:{$1}:q:$2" workers | head -1; }

# ---- pre-existing target rows: patients 2000000000 (with a link to another text) and 3000000000
vec=$(tq "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'ai_embeddings'::regclass
          AND attname = 'embedding'")
H0=$(printf '0%.0s' $(seq 64))
if [ "$vec" = "real[]" ]; then zero="array_fill(0::real, ARRAY[1024])"; else zero="array_fill(0::real, ARRAY[1024])::vector"; fi
tq "INSERT INTO patients (id, first_name, last_name, status, is_archived, is_suspended) VALUES
    (2000000000, 'Pre', 'One', 'new', false, false), (3000000000, 'Pre', 'Two', 'new', false, false);
    INSERT INTO ai_embeddings (sha256_hash, model_id, dimensions, embedding) VALUES ('$H0', 'pre', 1024, $zero);
    INSERT INTO ai_embedding_sources (content_type, content_id, sha256_hash) VALUES ('patient', 2000000000, '$H0')" \
  >/dev/null

start_worker r1 --exit-when-done >/dev/null
coordinator relational --new-run --phases practices,profiles,patients,cases,projects
assert_eq "relational run exit code" 0 "$RC"
RUN1=$(last_run)

# ---- item 3: a target id past int32 in an embeddings chunk
start_worker e1 --exit-when-done >/dev/null
coordinator embeddings --new-run --phases embeddings
assert_eq "embeddings run exit code (target ids up to 3000000000)" 0 "$RC"
assert_eq "link of patient 3000000000" 1 \
  "$(tq "SELECT count(*) FROM ai_embedding_sources WHERE content_type = 'patient' AND content_id = 3000000000")"
RUN2=$(last_run)
link0() { tq "SELECT sha256_hash FROM ai_embedding_sources WHERE content_type = 'patient' AND content_id = 2000000000"; }
assert_eq "the pre-existing link after the run" "$H0" "$(link0)"

# ---- item 11: a done chunk whose ack was lost on its last allowed delivery
export MDW_MAX_ATTEMPTS=1 MDW_LEASE_MS=1000
dead0=$(rcli XLEN "mdw:{$RUN2}:dead")
entry=$(stale_message "$RUN2" embeddings 0)
rcli XREADGROUP GROUP workers ghost COUNT 1 STREAMS "mdw:{$RUN2}:q:embeddings" '>' >/dev/null
rcli XCLAIM "mdw:{$RUN2}:q:embeddings" workers ghost 0 "$entry" RETRYCOUNT 1 JUSTID >/dev/null
S1=$(start_worker s1)
wait_for 30 "the stale delivery handled" '[ "$(pending "$RUN2" embeddings)" = 0 ]'
assert_eq "dead letters after a done chunk's last delivery" "$dead0" "$(rcli XLEN "mdw:{$RUN2}:dead")"
assert_eq "the chunk" done "$(tq "SELECT status FROM mdw.chunks WHERE run_id = $RUN2 AND phase = 'embeddings' AND chunk_no = 0")"
tq "UPDATE mdw.runs SET status = 'complete' WHERE id = $RUN2" >/dev/null

# ---- item 7: rollback of the embeddings keeps the link that existed before
"$BUILD/mdwctl" rollback --phase embeddings >"$LOGS/rollback-embeddings.out" 2>&1 \
  || fail "rollback of embeddings: $(cat "$LOGS/rollback-embeddings.out")"
assert_eq "the pre-existing link after rollback --phase embeddings" "$H0" "$(link0)"
assert_eq "its embedding" 1 "$(tq "SELECT count(*) FROM ai_embeddings WHERE sha256_hash = '$H0'")"
assert_eq "links left" 1 "$(tq "SELECT count(*) FROM ai_embedding_sources")"

# ---- item 10: a stale message of a rolled-back chunk is not applied
stale_message "$RUN2" embeddings 0 >/dev/null
wait_for 30 "the stale message handled" \
  '[ "$(rcli XLEN "mdw:{$RUN2}:q:embeddings")" = 0 ] && [ "$(pending "$RUN2" embeddings)" = 0 ]'
assert_eq "the rolled-back chunk" rolled_back \
  "$(tq "SELECT status FROM mdw.chunks WHERE run_id = $RUN2 AND phase = 'embeddings' AND chunk_no = 0")"
assert_eq "links after the stale message" 1 "$(tq "SELECT count(*) FROM ai_embedding_sources")"
tq "UPDATE mdw.runs SET status = 'complete' WHERE id = $RUN2" >/dev/null
kill "$S1"

# ---- item 15: a run failed by a dead chunk marks its phase failed; its rollback is not refused
tq "CREATE FUNCTION refuse_chunk() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN
      IF NEW.status = 'done' AND NEW.phase = 'practices' THEN RAISE EXCEPTION 'test: chunk refused'; END IF;
      RETURN NEW; END \$\$;
    CREATE TRIGGER refuse_chunk BEFORE UPDATE ON mdw.chunks FOR EACH ROW EXECUTE FUNCTION refuse_chunk();
    ALTER TABLE mdw.chunks ENABLE ALWAYS TRIGGER refuse_chunk" >/dev/null # (also under session_replication_role)
F1=$(start_worker f1 --exit-when-done)
coordinator failing --new-run --phases practices
wait_for 30 "the worker of the failed run to exit" '! kill -0 "$F1"'
assert_eq "run with a dead chunk: coordinator exit code" 1 "$RC"
RUN3=$(last_run)
assert_eq "the phase of the failed run" failed "$(tq "SELECT status FROM mdw.run_phases WHERE run_id = $RUN3")"
"$BUILD/mdwctl" rollback --phase practices --run "$RUN3" --dry-run >"$LOGS/rollback-failed.out" 2>&1 \
  || fail "rollback of the failed run's phase refused: $(cat "$LOGS/rollback-failed.out")"
ok "rollback of the failed run's phase is not refused"

# ---- item 14: dead letters come from the ledger (Redis is a mirror)
rcli FLUSHDB >/dev/null
"$BUILD/mdwctl" dead >"$LOGS/dead.out" 2>&1 || fail "mdwctl dead: $(cat "$LOGS/dead.out")"
grep -q "practices" "$LOGS/dead.out" && grep -q "test: chunk refused" "$LOGS/dead.out" \
  || fail "mdwctl dead after FLUSHDB does not list the dead chunk: $(cat "$LOGS/dead.out")"
ok "mdwctl dead lists the dead chunk after FLUSHDB"
tq "DROP TRIGGER refuse_chunk ON mdw.chunks" >/dev/null
"$BUILD/mdwctl" retry-dead >"$LOGS/retry.out" 2>&1 || fail "retry-dead: $(cat "$LOGS/retry.out")"
assert_eq "pending chunks after retry-dead" 1 "$(tq "SELECT count(*) FROM mdw.chunks WHERE run_id = $RUN3 AND status = 'pending'")"
assert_eq "queued after retry-dead" 1 "$(rcli XLEN "mdw:{$RUN3}:q:practices")"
start_worker r2 --exit-when-done >/dev/null
coordinator resumed
assert_eq "resumed run exit code" 0 "$RC"
assert_eq "the resumed run" "$RUN3 complete" "$(tq "SELECT id || ' ' || status FROM mdw.runs WHERE id = $RUN3")"

# ---- item 13: a row committed late inside a covered range arrives with --incremental
lq "INSERT INTO dispatch_office SELECT * FROM late_office" >/dev/null
start_worker i1 --exit-when-done >/dev/null
coordinator incremental --new-run --incremental --phases practices
assert_eq "incremental run exit code" 0 "$RC"
assert_eq "the late office in the target" 1 "$(tq "SELECT count(*) FROM practices WHERE legacy_id = $LATE")"
start_worker i2 --exit-when-done >/dev/null
coordinator incremental2 --new-run --incremental --phases practices
assert_eq "a second incremental run: exit code" 0 "$RC"
assert_eq "its chunks (nothing due)" 0 "$(tq "SELECT chunks FROM mdw.run_phases WHERE run_id = $(last_run)")"
finish
