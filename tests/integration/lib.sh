# Shared helpers of the integration tests: a private legacy and target
# database and Redis db on the local stack, process control and assertions.
# Usage: source tests/integration/lib.sh BUILD_DIR NAME
set -euo pipefail
BUILD=${1:?build dir}
NAME=${2:?test name}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
eval "$("$ROOT/deploy/local/stack" env)"
PGHOST=127.0.0.1 PGPORT=$MDW_PG_PORT PGUSER=postgres
export PGHOST PGPORT PGUSER
LEGACY_DB="it_${NAME}_legacy"
TARGET_DB="it_${NAME}_target"
export MDW_SOURCE_DSN="host=127.0.0.1 port=$MDW_PG_PORT dbname=$LEGACY_DB user=postgres"
export MDW_TARGET_DSN="host=127.0.0.1 port=$MDW_PG_PORT dbname=$TARGET_DB user=postgres"
REDIS_DB=${REDIS_DB:-3}
export MDW_REDIS_URL="redis://127.0.0.1:$MDW_REDIS_PORT/$REDIS_DB"
LOGS="$BUILD/it-logs/$NAME"
rm -rf "$LOGS" && mkdir -p "$LOGS"
PIDS=()

# MDW_IT_LIGHT=1 (the sanitizer pass of run-tests): tests may thin the data
# where its volume only costs time (thin_projects below).
thin_projects() {
  if [ "${MDW_IT_LIGHT:-0}" = 1 ]; then
    lq "DELETE FROM dispatch_project WHERE id % 8 <> 0" >/dev/null
    echo "note: light mode: 1 legacy project in 8 kept"
  fi
}

# Keep the legacy projects that have states and 1 in P of the others and, when
# T is given, the patients that have projects and 1 in T of the others (where
# the volume only costs time); states of removed projects go with them.
keep_legacy() { # P [T]
  lq "DELETE FROM dispatch_project p WHERE id % $1 <> 0 AND NOT EXISTS (SELECT 1 FROM dispatch_state s WHERE s.project_id = p.id)" >/dev/null
  if [ -n "${2:-}" ]; then
    lq "DELETE FROM dispatch_patient t WHERE id % $2 <> 0 AND NOT EXISTS (SELECT 1 FROM dispatch_project p WHERE p.patient_id = t.id)" >/dev/null
  fi
  lq "DELETE FROM dispatch_state s WHERE NOT EXISTS (SELECT 1 FROM dispatch_project p WHERE p.id = s.project_id)" >/dev/null
}

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
rcli() { redis-cli -p "$MDW_REDIS_PORT" -n "$REDIS_DB" "$@"; }
lq() { psql -X -q -t -A -d "$LEGACY_DB" -c "$1"; }
tq() { psql -X -q -t -A -d "$TARGET_DB" -c "$1"; }

fresh_dbs() {
  for db in "$LEGACY_DB" "$TARGET_DB"; do
    psql -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
  done
  rcli FLUSHDB >/dev/null
}

fresh_target() {
  psql -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $TARGET_DB WITH (FORCE)" -c "CREATE DATABASE $TARGET_DB" >/dev/null
  rcli FLUSHDB >/dev/null
}

# Start a worker in the background; prints its pid (safe inside $(...): the
# worker's stdout is not the caller's pipe). Every pid is recorded for cleanup.
start_worker() { # id [extra args]
  local id=$1; shift
  "$BUILD/mdw-worker" --worker-id "$id" "$@" >/dev/null 2>>"$LOGS/worker-$id.log" &
  echo $! >>"$LOGS/pids"
  echo $!
}

cleanup() {
  for p in "${PIDS[@]}" $(cat "$LOGS/pids" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

assert_eq() { # what expected actual
  [ "$2" = "$3" ] || fail "$1: expected $2, got $3"
  ok "$1 = $3"
}

wait_for() { # seconds description 'shell condition' (evaluated at each try)
  local t=$1 what=$2; shift 2
  for _ in $(seq 1 $((t * 10))); do
    if eval "$1" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  fail "timed out after ${t}s waiting for $what"
}

# Run 1 ended exactly: no dead letter, every chunk done and balanced, and for
# each "phase legacy_table" given: rows read = the legacy count, rows inserted
# = the target table's count (the phase's name; a fresh target); validate passes.
assert_run_exact() { # "phase legacy_table"...
  assert_eq "dead letters" 0 "$(rcli XLEN 'mdw:{1}:dead')"
  assert_eq "chunks not done or unbalanced" 0 "$(tq "SELECT count(*) FROM mdw.chunks WHERE run_id = 1 AND
    (rows_read <> rows_inserted + rows_existing + rows_merged + rows_rejected OR status <> 'done')")"
  for t in "$@"; do
    set -- $t
    assert_eq "$1 rows read" "$(lq "SELECT count(*) FROM $2")" \
      "$(tq "SELECT sum(rows_read) FROM mdw.chunks WHERE run_id = 1 AND phase = '$1'")"
    assert_eq "$1 inserted as counted" "$(tq "SELECT sum(rows_inserted) FROM mdw.chunks WHERE phase = '$1'")" \
      "$(tq "SELECT count(*) FROM $1")"
  done
  "$BUILD/mdwctl" validate >"$LOGS/validate.txt" || fail "mdwctl validate: $(cat "$LOGS/validate.txt")"
  ok "mdwctl validate passes"
}

# A new run with two workers (--exit-when-done): mdw-coordinator --new-run
# [coordinator args], its log coordinator-NAME.log; fails unless it exits 0.
migrate() { # name [coordinator args]
  local name=$1; shift
  start_worker "$name-w1" --exit-when-done >/dev/null
  start_worker "$name-w2" --exit-when-done >/dev/null
  "$BUILD/mdw-coordinator" --new-run "$@" 2>"$LOGS/coordinator-$name.log" && rc=0 || rc=$?
  assert_eq "$name: coordinator exit code" 0 "$rc"
}

# End a test: no sanitizer report in any log (the suite also runs under
# ASan+UBSan, see run-tests), then the closing line.
finish() {
  if grep -l -E 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$LOGS"/*.log 2>/dev/null; then
    fail "sanitizer reports in the logs above"
  fi
  echo "1 passed, 0 failed"
}

# The demo legacy data at scale 1 thinned to the patients whose id is a
# multiple of N, their projects and states: a few for the embedding tests.
few_patients() { # N
  "$BUILD/mdwctl" legacy-demo --scale 1 >"$LOGS/demo.log"
  lq "DELETE FROM dispatch_patient WHERE id % $1 <> 0" >/dev/null
  lq "DELETE FROM dispatch_project WHERE patient_id IS NULL OR patient_id NOT IN (SELECT id FROM dispatch_patient)" >/dev/null
  lq "DELETE FROM dispatch_state WHERE project_id NOT IN (SELECT id FROM dispatch_project)" >/dev/null
}

# Run the relational phases that phase 8 needs with one worker; then point
# the workers at a bedrock-fake at URL with its default credentials and no
# client-side quota: embeddings_after_relational URL
embeddings_after_relational() {
  start_worker r1 --exit-when-done >/dev/null
  "$BUILD/mdw-coordinator" --new-run --phases practices,profiles,patients,cases,projects 2>"$LOGS/coord-rel.log" ||
    fail "relational phases failed"
  export MDW_EMBED_PROVIDER=bedrock MDW_BEDROCK_ENDPOINT="$1" AWS_REGION=us-east-1 \
    AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY='wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' \
    MDW_RATE_RPM=600000 MDW_RATE_TPM=100000000
}
