#!/usr/bin/env bash
# Embedding faults through the Bedrock fake (issue 15 items 4, 8, 9, 16), on
# a handful of entities:
#   - a worker that runs out of file descriptors (ulimit -n 24, 64 requests in
#     flight) finishes instead of waiting forever for a request curl failed at once;
#   - slow answers (2 s) under a 60 rpm quota with a 2 s lease and 4 workers:
#     claims of texts in flight are refreshed, so no text is paid for twice;
#   - a wrong model id stops the phase after a few identical answers per
#     worker, with a message naming MDW_EMBED_MODEL; a text the provider
#     refuses leaves no stale link (validation passes on the re-run);
#   - an expired session token is renewed from the credentials file; every
#     call carries User-Agent mdw-migrate/VERSION; worker, coordinator, mdwctl
#     and the fake ignore SIGPIPE; an endpoint with its default port (:80) is
#     signed with the Host that curl sends (skipped if port 80 is taken);
#   - refused credentials stop the phase after one call per worker.
# Label chaos (tests/CMakeLists.txt): about 50 s, skipped by the sanitizer pass.
source "$(dirname "$0")/lib.sh" "$1" embed_faults
fresh_dbs
few_patients 200 # a few patients and their projects are enough
export MDW_POLL_MS=100
start_worker r1 --exit-when-done >/dev/null
"$BUILD/mdw-coordinator" --new-run --phases practices,profiles,patients,cases,projects 2>"$LOGS/coord-rel.log" \
  || fail "relational phases failed"

export MDW_EMBED_PROVIDER=bedrock AWS_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY='wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
fake_n=0
start_fake() { # fake flags...
  fake_n=$((fake_n + 1))
  "$BUILD/bedrock-fake" --port 0 --ready-file "$LOGS/fake$fake_n.port" --quiet "$@" >"$LOGS/fake$fake_n.log" 2>&1 &
  PIDS+=($!)
  FAKE_PID=$!
  wait_for 10 "the fake" 'test -s "$LOGS/fake$fake_n.port"'
  export MDW_BEDROCK_ENDPOINT="http://127.0.0.1:$(cat "$LOGS/fake$fake_n.port")"
}
stop_fake() { kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null || true; }
stats() { curl -sf "$MDW_BEDROCK_ENDPOINT/stats" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
entities() { tq "SELECT (SELECT count(*) FROM patients) + (SELECT count(*) FROM cases) + (SELECT count(*) FROM projects)"; }
# a fresh start for the embeddings: no embedding, no link, no queue
reset_embeddings() { tq "TRUNCATE ai_embedding_sources, ai_embeddings" >/dev/null; rcli FLUSHDB >/dev/null; }
run_embeddings() { # log-name: the coordinator's exit code in $rc (bounded: a hang fails the test)
  timeout 90 "$BUILD/mdw-coordinator" --new-run --phases embeddings 2>>"$LOGS/coord-$1.log" && rc=0 || rc=$?
  [ "$rc" -ne 124 ] || fail "$1: the embeddings run did not end within 90 s"
}

# --- 1. out of file descriptors: curl fails requests synchronously (item 4) ---
start_fake --latency-ms 100
(ulimit -n 24; MDW_EMBED_CONCURRENCY=64 MDW_RATE_RPM=600000 MDW_RATE_TPM=100000000 start_worker fd --exit-when-done >/dev/null)
run_embeddings fd
assert_eq "fd-starved worker: run exit code" 0 "$rc"
assert_eq "fd-starved worker: links" "$(entities)" "$(tq "SELECT count(*) FROM ai_embedding_sources")"
assert_eq "fd-starved worker: texts embedded twice" 0 "$(stats duplicate_ok_texts)"
stop_fake

# From here on: 48 cases, no patient or project (superuser, triggers off: no FK stands in the way)
tq "SET session_replication_role = replica; DELETE FROM projects; DELETE FROM patients;
  DELETE FROM cases WHERE id NOT IN (SELECT id FROM cases ORDER BY id LIMIT 48)" >/dev/null

# --- 2. slow answers under a tight quota: claims outlive the requests they cover (item 9) ---
# 8 distinct texts shared by 8 chunks of 6 cases: every worker wants texts another is embedding
tq "UPDATE cases SET case_type = (SELECT min(case_type) FROM cases), status = (SELECT min(status) FROM cases),
  clinical_notes = 'Shared note ' || (id % 8)" >/dev/null
reset_embeddings
start_fake --rpm 60 --latency-ms 2000
export MDW_LEASE_MS=2000 MDW_RATE_RPM=60
for i in 1 2 3 4; do start_worker c$i --exit-when-done >/dev/null; done
MDW_EMBED_BATCH=6 run_embeddings claims
assert_eq "slow answers: run exit code" 0 "$rc"
assert_eq "slow answers: links" "$(entities)" "$(tq "SELECT count(*) FROM ai_embedding_sources")"
assert_eq "slow answers: texts embedded" 8 "$(tq "SELECT count(*) FROM ai_embeddings")"
assert_eq "slow answers: texts embedded twice" 0 "$(stats duplicate_ok_texts)"
stop_fake
unset MDW_LEASE_MS MDW_RATE_RPM

# --- 3. a wrong model id is a configuration error, not 100% rejected texts (item 8) ---
tq "UPDATE cases SET clinical_notes = 'Own note ' || id" >/dev/null
start_fake --reject-text 'Refused note'
before=$(stats requests)
export MDW_EMBED_MODEL=amazon.titan-embed-text-v9:0
start_worker m1 --exit-when-done >/dev/null
w=$(tail -n 1 "$LOGS/pids")
run_embeddings model
unset MDW_EMBED_MODEL
[ "$rc" -ne 0 ] || fail "the run with a wrong model id exited 0"
wait "$w" && wrc=0 || wrc=$?
assert_eq "worker exit code on a wrong model id" 3 "$wrc"
assert_eq "calls with a wrong model id" 3 "$(( $(stats requests) - before ))"
grep -q 'configuration error.*MDW_EMBED_MODEL' "$LOGS/worker-m1.log" || fail "no message naming MDW_EMBED_MODEL"
assert_eq "wrong model id: nothing rejected" 0 "$(tq "SELECT count(*) FROM mdw.rejects WHERE phase = 'embeddings'")"

# the right model: all linked; then one text the provider refuses loses its (now stale) link
start_worker m3 --exit-when-done >/dev/null
run_embeddings model
assert_eq "right model: run exit code" 0 "$rc"
assert_eq "right model: links" "$(entities)" "$(tq "SELECT count(*) FROM ai_embedding_sources")"
refused=$(tq "SELECT min(id) FROM cases")
tq "UPDATE cases SET clinical_notes = 'Refused note' WHERE id = $refused" >/dev/null
start_worker m4 --exit-when-done >/dev/null
run_embeddings model
assert_eq "a refused text: run exit code (links = entities - rejected)" 0 "$rc"
assert_eq "a refused text: its stale link" 0 \
  "$(tq "SELECT count(*) FROM ai_embedding_sources WHERE content_type = 'case' AND content_id = $refused")"
stop_fake

# --- 4. credentials, User-Agent, SIGPIPE, Host (item 16) ---
sigpipe_ignored() { # pid: SIGPIPE (13) is bit 12 of SigIgn
  local m; m=$(awk '/^SigIgn:/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 1
  [ -n "$m" ] && (( (0x$m >> 12) & 1 ))
}
# an expired session token in the credentials file is renewed there while the worker waits
printf '[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = %s\naws_session_token = %s\n' \
  "$AWS_SECRET_ACCESS_KEY" token-old >"$LOGS/credentials"
tq "UPDATE cases SET clinical_notes = 'Renewed note ' || id" >/dev/null
start_fake --expired-token token-old
(
  unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
  export AWS_SHARED_CREDENTIALS_FILE="$LOGS/credentials"
  start_worker k1 --exit-when-done >/dev/null
)
w=$(tail -n 1 "$LOGS/pids")
wait_for 10 "the worker to ignore SIGPIPE" "sigpipe_ignored $w"
sigpipe_ignored "$FAKE_PID" || fail "bedrock-fake does not ignore SIGPIPE"
"$BUILD/mdwctl" status --watch >"$LOGS/watch.out" 2>&1 &
PIDS+=($!)
wait_for 10 "mdwctl to ignore SIGPIPE" "sigpipe_ignored $!"
kill $!
timeout 90 "$BUILD/mdw-coordinator" --new-run --phases embeddings 2>>"$LOGS/coord-creds.log" &
coord=$!
PIDS+=($coord)
wait_for 10 "the coordinator to ignore SIGPIPE" 'sigpipe_ignored "$(pgrep -P $coord)"' # under timeout
wait_for 30 "an expired-token answer" '[ "$(stats expired_token)" -ge 1 ]'
printf '[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = %s\naws_session_token = %s\n' \
  "$AWS_SECRET_ACCESS_KEY" token-new >"$LOGS/credentials.new"
mv "$LOGS/credentials.new" "$LOGS/credentials"
wait "$coord" && rc=0 || rc=$?
assert_eq "expired token renewed in the file: run exit code" 0 "$rc"
assert_eq "expired token: links" "$(entities)" "$(tq "SELECT count(*) FROM ai_embedding_sources")"
[[ "$(stats user_agent)" =~ ^mdw-migrate/[0-9]+\.[0-9]+ ]] || fail "User-Agent \"$(stats user_agent)\""
ok "User-Agent $(stats user_agent)"
stop_fake

# an endpoint with the scheme's default port: signed with the Host that curl sends (without it)
if ! ss -ltn | grep -q '127.0.0.1:80 \|\*:80 \|0.0.0.0:80 '; then
  tq "UPDATE cases SET clinical_notes = 'Port note ' || id" >/dev/null
  start_fake --port 80
  export MDW_BEDROCK_ENDPOINT=http://127.0.0.1:80
  start_worker h1 --exit-when-done >/dev/null
  run_embeddings host
  assert_eq "endpoint with :80: refused signatures" 0 "$(stats bad_signature)"
  assert_eq "endpoint with :80: run exit code" 0 "$rc"
  stop_fake
else
  echo "note: port 80 in use: the explicit default port is checked by unit_test_sigv4 only"
fi

# refused credentials: one call per worker, not a window each
tq "UPDATE cases SET clinical_notes = 'Unpaid note ' || id" >/dev/null
start_fake
before=$(stats requests)
export AWS_SECRET_ACCESS_KEY=wrong-secret
for i in 1 2; do start_worker bad$i --exit-when-done >/dev/null; done
MDW_EMBED_BATCH=6 run_embeddings refused
[ "$rc" -ne 0 ] || fail "the run with refused credentials exited 0"
calls=$(( $(stats requests) - before ))
[ "$calls" -ge 1 ] && [ "$calls" -le 2 ] || fail "refused credentials: $calls calls by 2 workers (expected 1 or 2)"
ok "refused credentials: $calls calls by 2 workers"
stop_fake
finish
