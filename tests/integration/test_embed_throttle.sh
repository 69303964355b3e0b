#!/usr/bin/env bash
# The embeddings under throttling, and the connections they use (issue 20),
# through the Bedrock fake with two workers of 4 requests in flight each:
#   1. 5% of the requests under quota answered 429 ThrottlingException at
#      random, with x-amz-retry-after: 40: each is retried after the hint,
#      the shared rate is never cut, nothing is lost or paid for twice, the
#      accounting is exact; and the fake accepted at most 2 x 4 connections
#      for the whole phase (connections are kept, not re-opened);
#   2. 40% of them answered 429 (sustained throttling, no hint): the shared
#      rate in Redis is cut, and the run still ends exact.
# About 20 s.
source "$(dirname "$0")/lib.sh" "$1" embed_throttle
fresh_dbs
few_patients 100 # about 1,900 entities, 1,100 distinct texts
export MDW_POLL_MS=100
embeddings_after_relational http://127.0.0.1:1 # the endpoint is set per fake below
export MDW_EMBED_CONCURRENCY=4 MDW_LOG_LEVEL=debug

start_fake() { # name fake-flags...
  local n=$1; shift
  "$BUILD/bedrock-fake" --port 0 --ready-file "$LOGS/fake-$n.port" --quiet --latency-ms 5 "$@" >"$LOGS/fake-$n.log" 2>&1 &
  PIDS+=($!)
  FAKE_PID=$!
  wait_for 10 "the fake" 'test -s "$LOGS/fake-$n.port"'
  export MDW_BEDROCK_ENDPOINT="http://127.0.0.1:$(cat "$LOGS/fake-$n.port")"
}
stop_fake() { kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null || true; }
stats() { curl -sf "$MDW_BEDROCK_ENDPOINT/stats" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
entities() { tq "SELECT (SELECT count(*) FROM patients) + (SELECT count(*) FROM cases) + (SELECT count(*) FROM projects)"; }
run_embeddings() { # name: two workers, then the coordinator (bounded: a hang fails the test)
  start_worker "$1-a" --exit-when-done >/dev/null
  start_worker "$1-b" --exit-when-done >/dev/null
  timeout 120 "$BUILD/mdw-coordinator" --new-run --phases embeddings 2>"$LOGS/coord-$1.log" && rc=0 || rc=$?
  [ "$rc" -ne 124 ] || fail "$1: the embeddings run did not end within 120 s"
  assert_eq "$1: run exit code" 0 "$rc"
  wait_for 10 "the workers of $1 to exit" '! pgrep -f "worker-id $1-" >/dev/null'
}
# the run's chunks all done and balanced; every entity read once, linked, nothing rejected; every
# text embedded once, counted inserted once; the fake paid for nothing twice
assert_exact() { # name run
  local run=$2
  assert_eq "$1: chunks not done or unbalanced" 0 "$(tq "SELECT count(*) FROM mdw.chunks WHERE run_id = $run AND
    (rows_read <> rows_inserted + rows_existing + rows_merged + rows_rejected OR status <> 'done')")"
  assert_eq "$1: entities read" "$(entities)" "$(tq "SELECT sum(rows_read) FROM mdw.chunks WHERE run_id = $run")"
  assert_eq "$1: links" "$(entities)" "$(tq "SELECT count(*) FROM ai_embedding_sources")"
  assert_eq "$1: rejected" 0 "$(tq "SELECT sum(rows_rejected) FROM mdw.chunks WHERE run_id = $run")"
  assert_eq "$1: inserted = texts embedded" "$(tq "SELECT count(*) FROM ai_embeddings")" \
    "$(tq "SELECT sum(rows_inserted) FROM mdw.chunks WHERE run_id = $run")"
  assert_eq "$1: texts embedded = texts paid for" "$(tq "SELECT count(*) FROM ai_embeddings")" "$(stats distinct_ok_texts)"
  assert_eq "$1: texts paid for twice" 0 "$(stats duplicate_ok_texts)"
  assert_eq "$1: dead letters" 0 "$(rcli XLEN "mdw:{$run}:dead")"
}

# --- 1. lone 429s: retried after their hint, the shared rate untouched; connections kept ---
start_fake lone --throttle-rate 0.05 --retry-after-ms 40 --seed 7
run_embeddings lone
assert_exact lone 2
thr=$(stats throttled_random)
[ "$thr" -ge 10 ] || fail "lone: only $thr random 429s answered (expected about 5% of $(stats requests))"
ok "lone: $thr of $(stats requests) requests answered 429 at random"
assert_eq "lone: 429s retried after x-amz-retry-after (40 ms)" "$thr" \
  "$(cat "$LOGS"/worker-lone-*.log | grep -c 'msg="throttled: request goes again" retry_ms=40 hint=x-amz-retry-after')"
assert_eq "lone: shared rate cuts" 0 "$(cat "$LOGS"/worker-lone-*.log | grep -c 'shared rate cut')"
assert_eq "lone: the limiter's last cut (never)" -1 "$(rcli HGET 'mdw:{2}:rate' cut)"
conns=$(stats model_connections)
[ "$conns" -ge 2 ] && [ "$conns" -le 8 ] ||
  fail "lone: the fake accepted $conns connections for $(stats requests) requests: expected 2 to 8 (2 workers x 4 in flight)"
ok "lone: $conns connections for $(stats requests) requests (at most 2 workers x 4 in flight)"
stop_fake

# --- 2. sustained 429s: the fleet's shared rate is cut; still exact ---
# fewer distinct texts (each throttled text waits its own backoff, up to seconds)
tq "TRUNCATE ai_embedding_sources, ai_embeddings" >/dev/null
tq "UPDATE cases SET clinical_notes = 'Note ' || (id % 4); UPDATE projects SET name = 'Asset ' || (id % 4)" >/dev/null
start_fake sustained --throttle-rate 0.4 --seed 3
run_embeddings sustained
assert_exact sustained 3
cuts=$(cat "$LOGS"/worker-sustained-*.log | grep -c 'msg="provider throttled: sustained, shared rate cut"' || true)
[ "$cuts" -ge 1 ] || fail "sustained: half the requests throttled and the shared rate never cut"
ok "sustained: the shared rate was cut $cuts times ($(stats throttled) of $(stats requests) requests answered 429)"
cut=$(rcli HGET 'mdw:{3}:rate' cut)
[ "${cut%%.*}" -gt 0 ] || fail "sustained: the limiter in Redis records no cut (cut=$cut)"
ok "sustained: the cut is in Redis (wmax $(rcli HGET 'mdw:{3}:rate' wmax))"
stop_fake
finish
