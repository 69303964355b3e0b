#!/usr/bin/env bash
# docker-compose.yml run for real (issue 14), on a Docker engine with no
# registry: deploy/local/dockerd starts Debian's dockerd when none answers;
# deploy/images/build makes debian:12-slim (debootstrap, cached) and the
# postgres/redis stand-ins, which MDW_POSTGRES_IMAGE, MDW_PGVECTOR_IMAGE and
# MDW_REDIS_IMAGE put in place of the official images.
#   1. a copy of the checkout as the project folder, a .env with generated
#      passwords, `up -d --build` with the bedrock-fake (profile fake) serving
#      HTTPS with a certificate of a CA made here, trusted by the workers via
#      MDW_CA_FILE; all 9 phases, embeddings through the fake under a quota
#   2. while phase 8 runs: --scale worker=4, `docker kill` of a worker with a
#      chunk in hand, `restart redis`, `docker stop` of a worker with a chunk
#      in hand (exit 0, the chunk done, "stopped" in its log)
#   3. the coordinator exits 0; per table the counts of a run of the same
#      seed on the local stack (local provider), exactly; every patient, case
#      and project has its link; no hash twice
#   4. redis-cli XINFO GROUPS and XRANGE COUNT 3 show the desc field; /metrics
#      answers on the published loopback port with the token, 401 without
#   5. phase 8 again with 4 workers through the fake, for new case texts:
#      every request signed and accepted, no text embedded twice
#   6. down -v: no container, network or volume of the project is left
# Exit 77 (skip) when no Docker engine can run here, except with CI=true.
set -euo pipefail
REDIS_DB=6
source "$(dirname "$0")/../integration/lib.sh" "$1" compose_docker
T0=$SECONDS
STATE=$BUILD/compose-state # dockerd's log and pid, when this test starts it
SEED=4242
PROJECT=mdwtest$$
phase_t() { ok "[$((SECONDS - T0)) s] $*"; }

skip_or_fail() {
  if [ "${CI:-}" = true ]; then fail "CI=true and $*: the compose test must run in CI"; fi
  echo "SKIP: $*"
  exit 77
}

# ---- 0. a Docker engine, images without a registry
rc=0
"$ROOT/deploy/local/dockerd" start "$STATE" || rc=$?
[ "$rc" -eq 0 ] || skip_or_fail "no Docker engine answers and none could be started here (see above)"
if docker compose version >/dev/null 2>&1; then
  DC=(docker compose)
else
  command -v docker-compose >/dev/null || fail "neither docker compose nor docker-compose (deploy/local/install-deps)"
  DC=(docker-compose)
fi
PROJ=$LOGS/project
compose() { "${DC[@]}" --project-directory "$PROJ" -f "$PROJ/docker-compose.yml" -p "$PROJECT" --profile fake "$@"; }
teardown() {
  set +e
  if [ -f "$PROJ/docker-compose.yml" ]; then
    compose logs --no-color >"$LOGS/compose.log" 2>&1
    compose down -v --remove-orphans >>"$LOGS/down.log" 2>&1
  fi
  cleanup
  "$ROOT/deploy/local/dockerd" stop "$STATE"
}
trap teardown EXIT
"$ROOT/deploy/images/build" >"$LOGS/images.log" 2>&1 || fail "deploy/images/build: $(tail -n 5 "$LOGS/images.log")"
phase_t "$(tail -n 1 "$LOGS/images.log") (${DC[*]}, $(docker info --format '{{.ServerVersion}} {{.Driver}}'))"

# 1 legacy project in 32 kept, in the cluster and in the expectation: phase 8
# through the fake embeds every text once (about 3,300), which takes time here
THIN="DELETE FROM dispatch_project WHERE id % 32 <> 0"
# ---- the expectation: the same seed on the local stack, local provider, in
# the background while the cluster starts (EXPECT_PID; counts in expected.txt)
# every table of public, and the rejects and merges (one query, so one docker exec)
COUNTS="SELECT string_agg(table_schema || '.' || table_name || '=' || (xpath('/row/c/text()',
  query_to_xml(format('SELECT count(*) AS c FROM %I.%I', table_schema, table_name), false, true, '')))[1]::text,
  ' ' ORDER BY table_schema, table_name) FROM information_schema.tables WHERE table_type = 'BASE TABLE'
  AND (table_schema = 'public' OR (table_schema = 'mdw' AND table_name IN ('rejects', 'merges')))"
expect_local() {
  trap - EXIT # the main shell tears down
  fresh_dbs
  "$BUILD/mdwctl" legacy-demo --scale 1 --seed "$SEED" >"$LOGS/demo.log"
  lq "$THIN" >/dev/null
  for i in 1 2; do start_worker "local$i" --exit-when-done >/dev/null; done
  "$BUILD/mdw-coordinator" --new-run 2>"$LOGS/coord-local.log" || fail "local run: $(tail -n 3 "$LOGS/coord-local.log")"
  tq "$COUNTS" >"$LOGS/expected.txt"
}
(expect_local) >"$LOGS/expect.log" 2>&1 &
EXPECT_PID=$!

# ---- 1. the project: a copy of the checkout, .env, TLS material
mkdir -p "$PROJ"
if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
  (cd "$ROOT" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$PROJ" 2>/dev/null) || true
else
  (cd "$ROOT" && tar --exclude=./build --exclude='./build-*' --exclude=./.state -cf - .) | tar -C "$PROJ" -xf -
fi
[ -f "$PROJ/docker-compose.yml" ] && [ -f "$PROJ/deploy/Dockerfile" ] || fail "the project copy lacks its files"
"$ROOT/tests/lib/test-ca" "$LOGS/tls" bedrock-fake localhost 127.0.0.1
METRICS_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
TOKEN=$(openssl rand -hex 24)
write_env() { # extra KEY=VALUE lines
  {
    echo "LEGACY_DB_PASSWORD=$(openssl rand -hex 24)"
    echo "TARGET_DB_PASSWORD=$(openssl rand -hex 24)"
    echo "REDIS_PASSWORD=$(openssl rand -hex 24)"
    echo "MDW_METRICS_TOKEN=$TOKEN"
    echo "MDW_DEMO_SCALE=1"
    echo "MDW_DEMO_SEED=$SEED"
    printf '%s\n' "$@"
  } >"$PROJ/.env.new"
  if [ -f "$PROJ/.env" ]; then # the passwords stay those of the volumes
    grep -E '^(LEGACY_DB|TARGET_DB|REDIS)_PASSWORD=' "$PROJ/.env" >"$PROJ/.env.keep"
    grep -vE '^(LEGACY_DB|TARGET_DB|REDIS)_PASSWORD=' "$PROJ/.env.new" >>"$PROJ/.env.keep"
    mv "$PROJ/.env.keep" "$PROJ/.env.new"
  fi
  mv "$PROJ/.env.new" "$PROJ/.env"
}
# phase 8 alone through the bedrock-fake over HTTPS (the lines of .env.example)
FAKE_ENV=(MDW_EMBED_PROVIDER=bedrock MDW_BEDROCK_ENDPOINT=https://bedrock-fake:8443 MDW_CA_FILE=/etc/mdw/tls/ca.pem
  AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
  MDW_RATE_TPM=100000000 MDW_PHASES=embeddings MDW_DEMO_RELOAD=never)
write_env
export MDW_POSTGRES_IMAGE=mdw-postgres-standin:15 MDW_PGVECTOR_IMAGE=mdw-postgres-standin:15 \
  MDW_REDIS_IMAGE=mdw-redis-standin:7 MDW_TLS_DIR=$LOGS/tls MDW_METRICS_PORT=$METRICS_PORT

tdb() { compose exec -T target-db psql -X -q -t -A -U mdw -d mdw_target -c "$1"; }
rcli_c() { compose exec -T redis redis-cli --no-auth-warning "$@"; }
cid() { compose ps -q "$1"; }
workers() { docker ps -q --no-trunc --filter "label=com.docker.compose.project=$PROJECT" \
  --filter label=com.docker.compose.service=worker; }
fake() { compose exec -T bedrock-fake curl -fsS --cacert /etc/mdw/tls/ca.pem "$@"; }
stat() { fake https://localhost:8443/stats | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
# the newest run, once its phase 8 runs with a chunk done
wait_phase8() { # after-run
  wait_for 300 "phase 8 of a run after run $1 running" \
    '[ "$(tdb "SELECT r.status FROM mdw.run_phases r WHERE r.phase = '"'embeddings'"' AND r.run_id > '"$1"'
        AND EXISTS (SELECT 1 FROM mdw.chunks c WHERE c.run_id = r.run_id AND c.phase = r.phase AND c.status = '"'done'"')")" = running ]'
  tdb "SELECT max(id) FROM mdw.runs"
}
wait_coordinator() { # what seconds
  local rc
  rc=$(timeout "$2" docker wait "$(cid coordinator)") || fail "the coordinator of $1 did not exit within $2 s"
  assert_eq "$1: coordinator container exit code" 0 "$rc"
}
assert_links() { # what
  assert_eq "$1: entities without an embedding link" 0 "$(tdb "SELECT
  (SELECT count(*) FROM public.patients p WHERE NOT EXISTS (SELECT 1 FROM public.ai_embedding_sources s WHERE s.content_type = 'patient' AND s.content_id = p.id))
+ (SELECT count(*) FROM public.cases c WHERE NOT EXISTS (SELECT 1 FROM public.ai_embedding_sources s WHERE s.content_type = 'case' AND s.content_id = c.id))
+ (SELECT count(*) FROM public.projects j WHERE NOT EXISTS (SELECT 1 FROM public.ai_embedding_sources s WHERE s.content_type = 'project' AND s.content_id = j.id))")"
  assert_eq "$1: hashes stored twice" 0 "$(tdb "SELECT count(*) - count(DISTINCT sha256_hash) FROM public.ai_embeddings")"
}
# the counts without the two embedding tables' (they grow with new texts)
relational() { tr ' ' '\n' <<<"$1" | grep -v '^public.ai_embedding' | tr '\n' ' '; }

# ---- run 1: docker compose up -d --build, all 9 phases, local provider
# (legacy-init first, to thin the demo data before the coordinator plans)
compose up -d --build legacy-init >"$LOGS/up-1.log" 2>&1 || fail "up -d --build: $(tail -n 15 "$LOGS/up-1.log")"
rc=$(timeout 300 docker wait "$(cid legacy-init)") || fail "legacy-init did not exit within 300 s"
assert_eq "legacy-init exit code" 0 "$rc"
compose exec -T legacy-db psql -X -q -U mdw -d mdw_legacy -c "$THIN" >/dev/null
write_env MDW_DEMO_RELOAD=never
compose up -d --build >>"$LOGS/up-1.log" 2>&1 || fail "up -d --build: $(tail -n 15 "$LOGS/up-1.log")"
phase_t "up -d --build"
# the metrics endpoint, while the coordinator serves it: it exits when the run
# completes, and phase 8 can end a few seconds after its first chunk
metrics() { curl -s -o "$LOGS/metrics.txt" -w '%{http_code}' "$@" "http://127.0.0.1:$METRICS_PORT/metrics"; }
wait_for 120 "GET /metrics with the token (127.0.0.1:$METRICS_PORT): 200 with mdw_ series" \
  '[ "$(metrics -H "Authorization: Bearer $TOKEN")" = 200 ] && grep -q "^mdw_" "$LOGS/metrics.txt"'
ok "GET /metrics with the token (127.0.0.1:$METRICS_PORT) = 200, mdw_ series"
assert_eq "GET /metrics without the token" 401 "$(metrics)"
RUN=$(tdb "SELECT max(id) FROM mdw.runs") # the coordinator made it before it served /metrics
[ -n "$RUN" ] || fail "no run in mdw.runs while the coordinator serves /metrics"
# 4. the queue as an operator sees it, while phase 8's chunks are on it: a
# chunk leaves the stream when it is acknowledged (XDEL), and the phase can
# drain within seconds, so XRANGE is tried until it shows entries
Q="mdw:{$RUN}:q:embeddings"
wait_for 300 "XRANGE $Q COUNT 3 with a readable desc" \
  'rcli_c XRANGE "$Q" - + COUNT 3 >"$LOGS/xrange.txt" && grep -qx desc "$LOGS/xrange.txt" &&
   grep -q "^embeddings #[0-9]* " "$LOGS/xrange.txt"'
phase_t "run $RUN: phase 8 on the queue"
rcli_c XINFO GROUPS "$Q" >"$LOGS/xinfo.txt"
grep -qx workers "$LOGS/xinfo.txt" || fail "XINFO GROUPS $Q: $(tr '\n' ' ' <"$LOGS/xinfo.txt")"
ok "redis-cli XINFO GROUPS / XRANGE COUNT 3 on $Q: group workers, desc \"$(grep -m1 '^embeddings #' "$LOGS/xrange.txt")\""
wait_coordinator "run $RUN" 600
phase_t "run $RUN complete"
wait "$EXPECT_PID" || fail "the local run of seed $SEED: $(tail -n 3 "$LOGS/expect.log")"
expected=$(cat "$LOGS/expected.txt")
phase_t "local run of seed $SEED: $expected"
assert_eq "run $RUN: per-table counts = the local stack's run of seed $SEED" "$expected" "$(tdb "$COUNTS")"
assert_links "run $RUN"
assert_eq "embedding type (no pgvector in the stand-in)" "real[]" "$(tdb "SELECT format_type(atttypid, atttypmod)
  FROM pg_attribute WHERE attrelid = 'public.ai_embeddings'::regclass AND attname = 'embedding'")"
exp_embeddings=$(tdb "SELECT count(*) FROM public.ai_embeddings")

# ---- run 2: phase 8 through the fake (another model than run 1's local one,
# so every text is embedded again) under a quota that makes it last about
# 90 s, and the faults
write_env "${FAKE_ENV[@]}" "MDW_RATE_RPM=$((exp_embeddings * 60 / 90 + 1))"
MDW_NEW_RUN=1 compose up -d >"$LOGS/up-2.log" 2>&1 || fail "up (run 2): $(tail -n 10 "$LOGS/up-2.log")"
RUN2=$(wait_phase8 "$RUN")
phase_t "run $RUN2: phase 8 through the fake running"
compose up -d --no-deps --no-recreate --scale worker=4 worker >"$LOGS/scale.log" 2>&1 ||
  fail "--scale worker=4: $(tail -n 5 "$LOGS/scale.log")"
wait_for 60 "4 workers" '[ "$(workers | wc -l)" -eq 4 ]'
phase_t "--scale worker=4"
# busy_worker: a worker container whose heartbeat shows an embeddings chunk in
# hand (the container's hostname is its worker id's prefix); prints "CID CHUNK"
busy_worker() {
  local c host hb
  for c in $(workers); do
    host=${c:0:12}
    hb=$(rcli_c HGETALL "mdw:{$RUN2}:workers" | paste - - | awk -v h="$host-" 'index($1, h) == 1 { print $3 }')
    case "$hb" in embeddings#*) echo "$c ${hb#embeddings#}"; return 0 ;; esac
  done
  return 1
}
wait_for 30 "a worker with a chunk in hand" 'busy_worker >"$LOGS/busy"'
read -r KILLED KCHUNK <"$LOGS/busy"
docker kill "$KILLED" >/dev/null
ok "docker kill ${KILLED:0:12} with chunk #$KCHUNK in hand"
compose restart redis >"$LOGS/restart-redis.log" 2>&1 || fail "restart redis: $(tail -n 3 "$LOGS/restart-redis.log")"
wait_for 30 "redis back" '[ "$(rcli_c PING)" = PONG ]'
phase_t "restart redis"
wait_for 60 "a worker with a chunk in hand" 'busy_worker >"$LOGS/busy" && ! grep -q "^$KILLED " "$LOGS/busy"'
read -r STOPPED SCHUNK <"$LOGS/busy"
docker stop --time 60 "$STOPPED" >/dev/null
assert_eq "exit code of the worker stopped with chunk #$SCHUNK in hand" 0 \
  "$(docker inspect -f '{{.State.ExitCode}}' "$STOPPED")"
docker logs "$STOPPED" >"$LOGS/stopped-worker.log" 2>&1
grep -q "phase=embeddings chunk=$SCHUNK msg=\"chunk done\"" "$LOGS/stopped-worker.log" ||
  fail "the stopped worker did not finish chunk #$SCHUNK: $(tail -n 3 "$LOGS/stopped-worker.log")"
tail -n 1 "$LOGS/stopped-worker.log" | grep -q 'msg="stopped"' || fail "the stopped worker's last line: $(tail -n 1 "$LOGS/stopped-worker.log")"
phase_t "docker stop ${STOPPED:0:12}: chunk #$SCHUNK done, \"stopped\", exit 0"
wait_coordinator "run $RUN2" 600
phase_t "run $RUN2 complete"
assert_eq "run $RUN2: chunk #$KCHUNK (in the killed worker's hand) done" done \
  "$(tdb "SELECT status FROM mdw.chunks WHERE run_id = $RUN2 AND phase = 'embeddings' AND chunk_no = $KCHUNK")"
assert_eq "run $RUN2: per-table counts but the embeddings' = the local run's" "$(relational "$expected")" \
  "$(relational "$(tdb "$COUNTS")")"
assert_links "run $RUN2"
assert_eq "run $RUN2: distinct texts the fake embedded = run $RUN's texts" "$exp_embeddings" "$(stat distinct_ok_texts)"
assert_eq "run $RUN2: embeddings (both models)" "$((2 * exp_embeddings))" "$(tdb "SELECT count(*) FROM public.ai_embeddings")"
assert_eq "run $RUN2: refused signatures" 0 "$(stat bad_signature)"

# ---- run 3: phase 8 through the fake with 4 workers and new texts: every
# request signed and accepted, none paid twice
tdb "UPDATE public.cases SET clinical_notes = 'compose test note ' || id WHERE id % 10 = 0" >/dev/null
changed=$(tdb "SELECT count(*) FROM public.cases WHERE clinical_notes LIKE 'compose test note %'")
fake -X POST https://localhost:8443/stats/reset >/dev/null
before=$(tdb "SELECT count(*) FROM public.ai_embeddings")
write_env "${FAKE_ENV[@]}" MDW_RATE_RPM=600000
MDW_NEW_RUN=1 compose up -d --scale worker=4 >"$LOGS/up-3.log" 2>&1 || fail "up (run 3): $(tail -n 10 "$LOGS/up-3.log")"
wait_coordinator "run 3 (phase 8, 4 workers)" 300
RUN3=$(tdb "SELECT max(id) FROM mdw.runs")
phase_t "run $RUN3 complete"
assert_eq "workers of run $RUN3" 4 "$(rcli_c HLEN "mdw:{$RUN3}:workers")"
assert_eq "run $RUN3: new embeddings = changed case texts" "$changed" \
  "$(($(tdb "SELECT count(*) FROM public.ai_embeddings") - before))"
assert_eq "run $RUN3: texts the fake embedded" "$changed" "$(stat ok_texts)"
assert_eq "run $RUN3: requests = accepted requests" "$(stat requests)" "$(stat ok)"
assert_eq "run $RUN3: refused signatures" 0 "$(stat bad_signature)"
assert_eq "run $RUN3: duplicate_ok_texts" 0 "$(stat duplicate_ok_texts)"
assert_links "run $RUN3"

# ---- 6. down -v: nothing left
compose down -v --remove-orphans >"$LOGS/down.log" 2>&1 || fail "down -v: $(tail -n 5 "$LOGS/down.log")"
left="$(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT")$(docker network ls -q --filter "label=com.docker.compose.project=$PROJECT")$(docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT")"
assert_eq "containers, networks and volumes left by the project" "" "$left"
rm -f "$PROJ/docker-compose.yml" # teardown: nothing more to bring down
phase_t "down -v"
finish
