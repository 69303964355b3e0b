#!/usr/bin/env bash
# The embedding provider over HTTPS with a private CA (MDW_CA_FILE, issue 14):
# the bedrock-fake serves TLS with a certificate from a CA this test makes
# (tests/lib/test-ca). Without MDW_CA_FILE the workers refuse the certificate
# (verification is never turned off) and nothing reaches the fake; with it,
# phase 8 completes with every request signed and accepted and no text paid
# for twice; an unreadable MDW_CA_FILE stops the worker with a config error
# naming the setting; plain http:// to a host that is not loopback stays
# refused.
source "$(dirname "$0")/lib.sh" "$1" provider_tls
fresh_dbs
"$BUILD/mdwctl" legacy-demo --scale 1 >"$LOGS/demo.log"
lq "DELETE FROM dispatch_project WHERE id % 32 <> 0" >/dev/null # the phase's volume only costs time here
export MDW_POLL_MS=100
"$ROOT/tests/lib/test-ca" "$LOGS/ca" localhost 127.0.0.1

"$BUILD/bedrock-fake" --port 0 --ready-file "$LOGS/fake.port" --tls-cert "$LOGS/ca/server.pem" \
  --tls-key "$LOGS/ca/server.key" --quiet >"$LOGS/fake.log" 2>&1 &
PIDS+=($!)
wait_for 10 "the fake" 'test -s "$LOGS/fake.port"'
FAKE="https://localhost:$(cat "$LOGS/fake.port")"
stats() { curl -sf --cacert "$LOGS/ca/ca.pem" "$FAKE/stats" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
grep -q '(https)' "$LOGS/fake.log" || fail "the fake does not say it serves https"
curl -sf "$FAKE/health" >/dev/null 2>&1 && fail "the fake's certificate verifies without the test CA"
ok "fake on $FAKE; its certificate verifies only with the test CA"

embeddings_after_relational "$FAKE"

# An embeddings run planned by a coordinator in the background (killed by
# end_run): the workers of each case below join it, not an earlier one.
C=
begin_run() { # name
  rcli FLUSHDB >/dev/null
  "$BUILD/mdw-coordinator" --new-run --phases embeddings 2>"$LOGS/coord-$1.log" &
  C=$!
  echo "$C" >>"$LOGS/pids"
  wait_for 30 "run $1 planned" "grep -q 'phase planned' '$LOGS/coord-$1.log'"
}
end_run() { kill -9 "$C" "$@" 2>/dev/null || true; wait "$C" "$@" 2>/dev/null || true; }
# refused NAME 'message' VAR=VALUE...: a worker with these settings stops with
# exit code 2 (a configuration error) and says why
refused() {
  local name=$1 msg=$2 w rc
  shift 2
  begin_run "$name"
  env "$@" "$BUILD/mdw-worker" --worker-id "$name" --exit-when-done >/dev/null 2>>"$LOGS/worker-$name.log" &
  w=$!
  echo "$w" >>"$LOGS/pids"
  wait_for 30 "worker $name to stop" "! kill -0 $w"
  wait "$w" && rc=0 || rc=$?
  assert_eq "worker exit code with $name" 2 "$rc"
  grep -q "$msg" "$LOGS/worker-$name.log" || fail "worker $name: no message matching '$msg'"
  end_run
}

# 1. the system's CAs only: the handshake fails, no request reaches the fake
begin_run noca
W=$(MDW_LOG_LEVEL=debug start_worker noca)
wait_for 60 "the worker's certificate failure" \
  "grep -q 'provider error: backing off.*curl=60' '$LOGS/worker-noca.log'"
assert_eq "requests that reached the fake without MDW_CA_FILE" 0 "$(stats requests)"
end_run "$W"

# 2. an unreadable MDW_CA_FILE: a configuration error that names it
refused missing-ca-file 'cannot read MDW_CA_FILE .*missing.pem: No such file' MDW_CA_FILE="$LOGS/ca/missing.pem"
# 3. plain http:// to a host that is not loopback: still refused
refused plain-http 'plain http:// is allowed only on loopback' MDW_BEDROCK_ENDPOINT=http://bedrock-fake:8080

# 4. with the test CA: phase 8 through HTTPS, 2 workers
rcli FLUSHDB >/dev/null
export MDW_CA_FILE="$LOGS/ca/ca.pem"
start_worker e1 --exit-when-done >/dev/null
start_worker e2 --exit-when-done >/dev/null
"$BUILD/mdw-coordinator" --new-run --phases embeddings 2>"$LOGS/coord-emb.log" && rc=0 || rc=$?
assert_eq "embeddings run over https: exit code" 0 "$rc"
grep -q "ca=$MDW_CA_FILE" "$LOGS/worker-e1.log" || fail "worker e1 does not log the CA file it trusts"
entities=$(tq "SELECT (SELECT count(*) FROM patients) + (SELECT count(*) FROM cases) + (SELECT count(*) FROM projects)")
assert_eq "links" "$entities" "$(tq "SELECT count(*) FROM ai_embedding_sources")"
distinct=$(tq "SELECT count(DISTINCT sha256_hash) FROM ai_embedding_sources")
assert_eq "successful calls = distinct texts" "$distinct" "$(stats ok)"
assert_eq "requests = successful calls (every request signed and accepted)" "$distinct" "$(stats requests)"
assert_eq "texts embedded twice" 0 "$(stats duplicate_ok_texts)"
finish
