#!/usr/bin/env bash
# Issues 14 and 15 item 2: an error that every attempt meets is not retried
# forever. For each kind (a dropped target table, a revoked privilege, a
# statement_timeout that every insert exceeds, a provider that answers 5xx to
# everything) the chunks reach the dead letters with their error, the ledger
# marks them dead, no row is rejected in their stead, and the coordinator
# exits non-zero naming a dead chunk and its error. The provider's request
# count stays within max attempts x its own tries per text.
REDIS_DB=10
source "$(dirname "$0")/lib.sh" "$1" deterministic_errors
fresh_dbs
"$BUILD/mdwctl" legacy-demo --scale 1 >"$LOGS/demo.log"
lq "DELETE FROM dispatch_patient WHERE id % 50 <> 0" >/dev/null
lq "DELETE FROM dispatch_project WHERE id % 10 <> 0" >/dev/null
export MDW_POLL_MS=100 MDW_LEASE_MS=1000 MDW_MAX_ATTEMPTS=2
WORKER_ENV=(MDW_SOURCE_DSN="host=127.0.0.1 port=$MDW_PG_PORT dbname=$LEGACY_DB user=mdw_worker"
  MDW_TARGET_DSN="host=127.0.0.1 port=$MDW_PG_PORT dbname=$TARGET_DB user=mdw_worker")
restore_roles() { psql -X -q -d postgres -c "ALTER ROLE mdw_worker RESET statement_timeout" >/dev/null 2>&1 || true; }
trap 'restore_roles; cleanup' EXIT

# a fresh target with the schema and the least-privilege roles
setup() {
  fresh_target
  "$BUILD/mdwctl" schema >/dev/null
  psql -X -q -v legacy_db="$LEGACY_DB" -v target_db="$TARGET_DB" -d postgres -f "$ROOT/sql/roles.sql" >/dev/null
}

# expect_dead CASE PHASE SQLSTATE-OR-TEXT: run PHASES with 2 workers (as mdw_worker when AS_WORKER=1)
run_expect_dead() {
  local name=$1 phase=$2 want=$3 phases=$4 rc pids=()
  for i in 1 2; do
    if [ "${AS_WORKER:-0}" = 1 ]; then
      env "${WORKER_ENV[@]}" "$BUILD/mdw-worker" --worker-id "$name$i" --exit-when-done >/dev/null 2>>"$LOGS/worker-$name$i.log" &
      echo $! >>"$LOGS/pids"
      pids+=($!)
    else
      pids+=("$(start_worker "$name$i" --exit-when-done)")
    fi
  done
  # never finishing is the failure being tested for: bound it
  timeout 90 "$BUILD/mdw-coordinator" --new-run --phases "$phases" 2>"$LOGS/coordinator-$name.log" && rc=0 || rc=$?
  # the workers see the run over and exit (before the next case's run 1 begins)
  wait_for 30 "the $name workers to exit" "! kill -0 ${pids[*]} 2>/dev/null"
  assert_eq "$name: coordinator exit code" 1 "$rc"
  local run
  run=$(tq "SELECT max(id) FROM mdw.runs")
  local dead
  dead=$(tq "SELECT count(*) FROM mdw.chunks WHERE run_id = $run AND phase = '$phase' AND status = 'dead'")
  [ "$dead" -ge 1 ] || fail "$name: no $phase chunk dead in the ledger"
  assert_eq "$name: dead chunks without the error in the ledger" 0 \
    "$(tq "SELECT count(*) FROM mdw.chunks WHERE run_id = $run AND status = 'dead' AND position('$want' IN last_error) = 0")"
  rcli --raw XRANGE "mdw:{$run}:dead" - + >"$LOGS/dead-$name.txt"
  assert_eq "$name: dead letters" "$dead" "$(rcli XLEN "mdw:{$run}:dead")"
  grep -q -- "$want" "$LOGS/dead-$name.txt" || fail "$name: the dead letters do not say $want"
  assert_eq "$name: rows rejected in the error's stead" 0 \
    "$(tq "SELECT count(*) FROM mdw.rejects WHERE run_id = $run AND reason = 'db_error'")"
  grep -E "run cannot finish.*$phase #[0-9]+.*$want" "$LOGS/coordinator-$name.log" >/dev/null ||
    fail "$name: the coordinator's failure does not name a dead $phase chunk and $want: $(grep 'cannot finish' "$LOGS/coordinator-$name.log")"
  ok "$name: $dead $phase chunks dead-lettered with $want, the run failed naming one"
}

# 1. undefined table: the target table is gone
setup
tq "DROP TABLE public.workflow_templates" >/dev/null
run_expect_dead undefined workflow_templates 42P01 practices,workflow_templates

# 2. permission denied: the workers' role may not insert
setup
tq "REVOKE INSERT ON public.practices FROM mdw_worker" >/dev/null
AS_WORKER=1 run_expect_dead denied practices 42501 practices

# 3. a statement_timeout that every insert exceeds (a slow trigger that fires
# even with the per-row triggers off)
setup
tq "CREATE FUNCTION public.it_slow() RETURNS trigger LANGUAGE plpgsql AS \$\$BEGIN PERFORM pg_sleep(2); RETURN NULL; END\$\$;
  CREATE TRIGGER it_slow BEFORE INSERT ON public.practices FOR EACH STATEMENT EXECUTE FUNCTION public.it_slow();
  ALTER TABLE public.practices ENABLE ALWAYS TRIGGER it_slow" >/dev/null
psql -X -q -d postgres -c "ALTER ROLE mdw_worker SET statement_timeout = '200ms'" >/dev/null
AS_WORKER=1 run_expect_dead timeout practices 57014 practices
restore_roles

# 4. a provider that answers 5xx to every request. One text to embed (no
# cases or projects, one patient), one request in flight: the time goes to the
# provider's own backoff between its 8 tries (at most 25 s in all).
setup
lq "DELETE FROM dispatch_project" >/dev/null
start_worker rel --exit-when-done >/dev/null
"$BUILD/mdw-coordinator" --new-run --phases practices,profiles,patients,cases,projects 2>"$LOGS/coordinator-rel.log" ||
  fail "relational phases: $(tail -3 "$LOGS/coordinator-rel.log")"
tq "DELETE FROM public.patients WHERE id <> (SELECT min(id) FROM public.patients)" >/dev/null
"$BUILD/bedrock-fake" --port 0 --ready-file "$LOGS/fake.port" --error-rate 1 --quiet >"$LOGS/fake.log" 2>&1 &
PIDS+=($!)
wait_for 10 "the fake" 'test -s "$LOGS/fake.port"'
FAKE="http://127.0.0.1:$(cat "$LOGS/fake.port")"
entities=$(tq "SELECT (SELECT count(*) FROM patients) + (SELECT count(*) FROM cases) + (SELECT count(*) FROM projects)")
export MDW_EMBED_PROVIDER=bedrock MDW_BEDROCK_ENDPOINT="$FAKE" AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=AKIDEXAMPLE \
  AWS_SECRET_ACCESS_KEY='wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' MDW_RATE_RPM=600000 MDW_RATE_TPM=100000000 \
  MDW_EMBED_BATCH=1000 MDW_EMBED_CONCURRENCY=1 MDW_MAX_ATTEMPTS=1
run_expect_dead provider embeddings "provider kept failing" embeddings
requests=$(curl -sf "$FAKE/stats" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['requests'])")
# 8 tries per text and attempt (provider_http.c MAX_TRIES)
[ "$requests" -gt 0 ] && [ "$requests" -le $((entities * 8 * MDW_MAX_ATTEMPTS)) ] ||
  fail "provider requests: $requests for $entities texts (at most $((entities * 8 * MDW_MAX_ATTEMPTS)))"
ok "provider requests bounded: $requests for $entities texts"
finish
