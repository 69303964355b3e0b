#!/usr/bin/env bash
# docker-compose.yml's topology without Docker (issue: deployment). Each
# service is started as a local process with the command and environment
# that docker-compose resolves for it (`docker-compose config`, with
# .env.example as the .env), through the same deploy/entrypoint scripts the
# images run. Only the network addresses are mapped: the compose hosts
# (legacy-db, target-db, redis) become this test's databases on the local
# stack and a private password-protected Redis started with the compose
# redis service's own arguments; 0.0.0.0 listeners become 127.0.0.1 on free
# ports. Then, like `docker compose up`: legacy-init loads the demo data at
# scale 1, the coordinator and 2 workers migrate all 9 phases (embeddings
# with the default local provider), health checks answer as the images'
# HEALTHCHECK would; a legacy-init re-run while the run is in progress
# leaves the data alone; the coordinator exits 0, mdwctl validate passes,
# the KEDA template rendered by keda-apply names the real streams. Then, like
# `docker compose up --scale worker=4` with MDW_NEW_RUN=1: 2 more workers, a
# second run inserts 0 rows with all 4 workers joined; SIGTERM (docker stop)
# stops every worker with exit 0. Last, the bedrock-fake service's entrypoint
# and health check (over HTTPS: the certificate of a CA made by this test in
# the folder the compose file mounts).
REDIS_DB=5
source "$(dirname "$0")/lib.sh" "$1" compose
PY=/usr/bin/python3 # Debian's, with python3-yaml (deploy/local/install-deps)
command -v docker-compose >/dev/null || fail "docker-compose is missing: run deploy/local/install-deps"
"$PY" -c 'import yaml' 2>/dev/null || fail "python3-yaml is missing: run deploy/local/install-deps"
T0=$SECONDS
fresh_dbs

# ---- the compose services' commands and environments, resolved by docker-compose
proj=$LOGS/compose-project
mkdir -p "$proj"
ln -sfn "$ROOT/deploy" "$proj/deploy"
cp "$ROOT/.env.example" "$proj/.env"
docker-compose --project-directory "$proj" -f "$ROOT/docker-compose.yml" --profile fake config >"$LOGS/compose.yml"
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
REDIS_PORT=$(free_port)
METRICS_PORT=$(free_port)
FAKE_PORT=$(free_port)
"$ROOT/tests/lib/test-ca" "$LOGS/tls" bedrock-fake localhost 127.0.0.1
SVC=$LOGS/services
mkdir -p "$SVC"
# For each service: $SVC/NAME.env (KEY=VALUE lines, addresses mapped) and
# $SVC/NAME.cmd (the deploy/entrypoint script its image command runs, or the
# command's arguments for redis).
"$PY" - "$LOGS/compose.yml" "$SVC" <<EOF
import sys, yaml
cfg = yaml.safe_load(open(sys.argv[1]))["services"]
out = sys.argv[2]
local_pg = {"legacy-db": ("$LEGACY_DB",), "target-db": ("$TARGET_DB",)}

def dsn(value, service):
    kv = dict(p.split("=", 1) for p in value.split())
    assert kv["host"] == service, (value, service)
    kv.update(host="127.0.0.1", port="$MDW_PG_PORT", dbname=local_pg[service][0], user="postgres")
    return " ".join(f"{k}={v}" for k, v in kv.items())

for name, s in cfg.items():
    env = {k: "" if v is None else str(v) for k, v in (s.get("environment") or {}).items()}
    if "MDW_SOURCE_DSN" in env:
        env["MDW_SOURCE_DSN"] = dsn(env["MDW_SOURCE_DSN"], "legacy-db")
    if "MDW_TARGET_DSN" in env:
        env["MDW_TARGET_DSN"] = dsn(env["MDW_TARGET_DSN"], "target-db")
    if "MDW_REDIS_URL" in env:
        assert "@redis:6379/" in env["MDW_REDIS_URL"], env["MDW_REDIS_URL"]
        env["MDW_REDIS_URL"] = env["MDW_REDIS_URL"].replace("@redis:6379/", "@127.0.0.1:$REDIS_PORT/")
    if env.get("MDW_METRICS_ADDR", "").startswith("0.0.0.0:"):
        env["MDW_METRICS_ADDR"] = "127.0.0.1:$METRICS_PORT"
    if name == "bedrock-fake":
        env.update(MDW_FAKE_BIND="127.0.0.1", MDW_FAKE_PORT="$FAKE_PORT")
    # the TLS folder the compose file mounts at /etc/mdw/tls: this test's CA
    env = {k: v.replace("/etc/mdw/tls/", "$LOGS/tls/", 1) if v.startswith("/etc/mdw/tls/") else v
           for k, v in env.items()}
    for k, v in env.items():
        assert "\n" not in v and "\0" not in v, k
    with open(f"{out}/{name}.env", "w") as f:
        f.writelines(f"{k}={v}\n" for k, v in sorted(env.items()))
    cmd = s.get("command") or []
    if cmd and cmd[0].startswith("/usr/local/lib/mdw/"):
        cmd = [cmd[0][len("/usr/local/lib/mdw/"):]] + cmd[1:]
    with open(f"{out}/{name}.cmd", "w") as f:
        f.writelines(c + "\n" for c in cmd)
EOF
for s in legacy-init coordinator worker bedrock-fake; do
  [ -x "$ROOT/deploy/entrypoint/$(head -n 1 "$SVC/$s.cmd")" ] || fail "$s: no entrypoint script $(cat "$SVC/$s.cmd")"
done
ok "compose services resolved; entrypoints: $(for s in legacy-init coordinator worker bedrock-fake; do printf '%s ' "$(head -n 1 "$SVC/$s.cmd")"; done)"

# svc NAME [VAR=VALUE...]: run service NAME's entrypoint in the foreground,
# with exactly its compose environment (+ MDW_BIN_DIR, + the extra variables),
# from its working directory ($SVC/NAME.work, like the image's /var/lib/mdw).
svc() {
  local s=$1 envv cmd
  shift
  mapfile -t envv <"$SVC/$s.env"
  mapfile -t cmd <"$SVC/$s.cmd"
  mkdir -p "$SVC/$s.work"
  cd "$SVC/$s.work" &&
    exec env -i PATH="$PATH" HOME="$SVC/$s.work" "${envv[@]}" MDW_BIN_DIR="$BUILD" "$@" \
      "$ROOT/deploy/entrypoint/${cmd[0]}" "${cmd[@]:1}"
}
# start NAME LOG [VAR=VALUE...]: the same in the background; sets PID.
start() {
  local s=$1 log=$2
  shift 2
  (svc "$s" "$@") >>"$LOGS/$log.log" 2>&1 &
  PID=$!
  echo "$PID" >>"$LOGS/pids"
}
# health NAME PID [VAR=VALUE...]: the image's HEALTHCHECK, run with the
# service's environment (as Docker runs it) against process PID.
health() {
  local s=$1 pid=$2 envv
  shift 2
  mapfile -t envv <"$SVC/$s.env"
  env -i PATH="$PATH" "${envv[@]}" MDW_HEALTH_PID="$pid" "$@" "$ROOT/deploy/entrypoint/healthcheck.sh"
}
# mdwctl with the coordinator's environment (docker compose run --rm coordinator mdwctl ...)
ctl() {
  local envv
  mapfile -t envv <"$SVC/coordinator.env"
  env -i PATH="$PATH" "${envv[@]}" "$BUILD/mdwctl" "$@"
}

# ---- redis: the compose service's command, on a loopback port of its own
mapfile -t rcmd <"$SVC/redis.cmd"
[ "${rcmd[0]}" = redis-server ] || fail "the redis service does not run redis-server: ${rcmd[*]}"
REDIS_PASS=$(sed -n 's/^REDISCLI_AUTH=//p' "$SVC/redis.env")
mkdir -p "$LOGS/redis"
redis-server "${rcmd[@]:1}" --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$LOGS/redis" --save '' \
  --daemonize no --logfile "$LOGS/redis/redis.log" &
echo $! >>"$LOGS/pids"
crcli() { REDISCLI_AUTH=$REDIS_PASS redis-cli -p "$REDIS_PORT" --no-auth-warning "$@"; }
wait_for 10 "the compose redis" '[ "$(crcli ping)" = PONG ]'
[ "$(redis-cli -p "$REDIS_PORT" ping 2>&1)" != PONG ] || fail "the compose redis answers without its password"
ok "redis up with the compose arguments (${rcmd[*]:1:4} ..., password required)"

# ---- docker compose up: legacy-init, then coordinator and 2 workers
(svc legacy-init) >"$LOGS/legacy-init-1.log" 2>&1 || fail "legacy-init: $(tail -n 3 "$LOGS/legacy-init-1.log")"
patients=$(lq "SELECT count(*) FROM dispatch_patient")
[ "$patients" -gt 1000 ] || fail "legacy-init loaded $patients patients"
ok "legacy-init loaded the demo legacy data at scale $(sed -n 's/^MDW_DEMO_SCALE=//p' "$SVC/legacy-init.env") ($patients patients) in $((SECONDS - T0)) s"

T1=$SECONDS
start coordinator coordinator-1
COORD=$PID
WORKERS=()
for i in 1 2; do
  start worker "worker-$i"
  WORKERS+=("$PID")
done
wait_for 60 "the coordinator's health check" 'health coordinator $COORD'
ok "coordinator healthy: $(health coordinator "$COORD")"
health coordinator "$COORD" MDW_METRICS_TOKEN=wrong >/dev/null 2>&1 && fail "the health check passes with a wrong metrics token"
ok "coordinator health check fails with a wrong metrics token"
for p in "${WORKERS[@]}"; do health worker "$p" >/dev/null || fail "worker $p unhealthy"; done
ok "both workers healthy"

# `docker compose up` again mid-run (e.g. to scale) re-runs legacy-init: it must not touch the data
wait_for 60 "a phase running" 'ctl status --json | grep "\"state\":\"running\"" >/dev/null'
oid=$(lq "SELECT 'dispatch_patient'::regclass::oid")
(svc legacy-init) >"$LOGS/legacy-init-2.log" 2>&1 || fail "legacy-init mid-run: $(tail -n 3 "$LOGS/legacy-init-2.log")"
grep -q 'a run is in progress' "$LOGS/legacy-init-2.log" || fail "legacy-init mid-run did not notice the run"
assert_eq "legacy tables untouched by legacy-init mid-run" "$oid" "$(lq "SELECT 'dispatch_patient'::regclass::oid")"

wait "$COORD" && rc1=0 || rc1=$?
assert_eq "run 1: coordinator exit code" 0 "$rc1"
ok "run 1 (9 phases, 2 workers) took $((SECONDS - T1)) s"
assert_eq "run 1: phases complete" 9 "$(tq "SELECT count(*) FROM mdw.run_phases WHERE run_id = 1 AND status = 'complete'")"
assert_eq "run 1: chunks not done" 0 "$(tq "SELECT count(*) FROM mdw.chunks WHERE run_id = 1 AND status <> 'done'")"
assert_eq "run 1: patients read" "$patients" "$(tq "SELECT sum(rows_read) FROM mdw.chunks WHERE run_id = 1 AND phase = 'patients'")"
[ "$(tq "SELECT count(*) FROM ai_embeddings")" -gt 0 ] || fail "no embeddings"
ok "run 1: $(tq "SELECT count(*) FROM ai_embeddings") embeddings ($(tq "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'ai_embeddings'::regclass AND attname = 'embedding'"))"
ctl validate >"$LOGS/validate-1.txt" 2>&1 || fail "mdwctl validate: $(tail -n 5 "$LOGS/validate-1.txt")"
ok "mdwctl validate passes (coordinator's environment)"
[ -s "$SVC/coordinator.work/migration_progress_report.md" ] || fail "no progress report in the coordinator's working directory"
ok "progress report written in the coordinator's working directory (the image's /var/lib/mdw volume)"

# the KEDA template, pointed at this run by keda-apply, names streams that exist
cat >"$LOGS/kubectl" <<EOF
#!/usr/bin/env bash
# kubectl exec deploy/mdw-worker -- mdwctl ...: the worker's environment here
case " \$* " in *" exec "*) ;; *) echo "unexpected: \$*" >&2; exit 1 ;; esac
mapfile -t envv <"$SVC/worker.env"
shift \$(( \$# - 2 ))
exec env -i PATH="\$PATH" "\${envv[@]}" "$BUILD/mdwctl" "\$@"
EOF
chmod +x "$LOGS/kubectl"
KUBECTL="$LOGS/kubectl" "$ROOT/deploy/k8s/keda-apply" --print >"$LOGS/keda-run1.yaml" ||
  fail "keda-apply could not get the current run"
n=0
while read -r stream; do
  assert_eq "stream $stream exists" 1 "$(crcli EXISTS "$stream")" >/dev/null
  n=$((n + 1))
done < <(sed -n 's/.*stream: "\(mdw:{[0-9]*}:q:[a-z_]*\)".*/\1/p' "$LOGS/keda-run1.yaml")
assert_eq "keda-apply: rendered streams of run 1 that exist in Redis" 9 "$n"

# ---- docker compose up -d --scale worker=4 with MDW_NEW_RUN=1: legacy-init
# runs again (no run in progress: same data re-created), 2 more workers
(svc legacy-init) >"$LOGS/legacy-init-3.log" 2>&1 || fail "legacy-init before run 2: $(tail -n 3 "$LOGS/legacy-init-3.log")"
grep -q 'a run is in progress' "$LOGS/legacy-init-3.log" && fail "legacy-init saw a run in progress after run 1"
for i in 3 4; do
  start worker "worker-$i"
  WORKERS+=("$PID")
done
T2=$SECONDS
start coordinator coordinator-2 MDW_NEW_RUN=1
COORD=$PID
wait "$COORD" && rc2=0 || rc2=$?
assert_eq "run 2: coordinator exit code" 0 "$rc2"
ok "run 2 (4 workers) took $((SECONDS - T2)) s"
assert_eq "run 2: inserts" 0 "$(tq "SELECT sum(rows_inserted) FROM mdw.chunks WHERE run_id = 2")"
assert_eq "run 2: reads" "$(tq "SELECT sum(rows_read) FROM mdw.chunks WHERE run_id = 1")" \
  "$(tq "SELECT sum(rows_read) FROM mdw.chunks WHERE run_id = 2")"
assert_eq "run 2: workers that joined" 4 "$(crcli HLEN 'mdw:{2}:workers')"
ctl validate >"$LOGS/validate-2.txt" 2>&1 || fail "mdwctl validate after run 2: $(tail -n 5 "$LOGS/validate-2.txt")"
ok "mdwctl validate passes after run 2"

# ---- docker compose stop: SIGTERM, exit 0 within the stop grace period (60 s)
kill -TERM "${WORKERS[@]}"
for p in "${WORKERS[@]}"; do
  wait_for 60 "worker $p to stop" '! kill -0 '"$p"
  wait "$p" && rcw=0 || rcw=$?
  assert_eq "worker $p exit code after SIGTERM" 0 "$rcw" >/dev/null
done
ok "4 workers stopped by SIGTERM, exit 0"

# ---- the bedrock-fake service (profile fake): its entrypoint and health
# check, over HTTPS with the certificate of the mounted TLS folder
start bedrock-fake bedrock-fake
FAKE=$PID
wait_for 10 "bedrock-fake's health check" 'health bedrock-fake $FAKE'
ok "bedrock-fake healthy: $(health bedrock-fake "$FAKE")"
health bedrock-fake "$FAKE" | grep -q "https://127.0.0.1:$FAKE_PORT/health" || fail "the compose bedrock-fake does not serve https"
health bedrock-fake "$FAKE" MDW_CA_FILE=/etc/ssl/certs/ca-certificates.crt >/dev/null 2>&1 &&
  fail "the fake's health check passes with a CA that did not sign its certificate"
ok "bedrock-fake health check verifies the certificate with MDW_CA_FILE"
kill -TERM "$FAKE"
wait "$FAKE" || true
health bedrock-fake "$FAKE" >/dev/null && fail "health check passes for a stopped bedrock-fake"
ok "health check fails once bedrock-fake has stopped"

ok "total $((SECONDS - T0)) s"
echo "1 passed, 0 failed"
