#!/usr/bin/env bash
# Phase 8 through the real Bedrock path: SigV4-signed InvokeModel calls over
# libcurl to the Bedrock-compatible fake (tests/fakes), 2 workers, at scale 1
# with 1 legacy project in 4 kept.
# Every patient, case and project ends with a link; ai_embeddings holds
# exactly the distinct hashes; the fake saw exactly that many successful
# calls and no text twice; a re-run makes zero calls; wrong credentials stop
# the phase after one refused call per worker, with a clear message.
source "$(dirname "$0")/lib.sh" "$1" embeddings
fresh_dbs
"$BUILD/mdwctl" legacy-demo --scale 1 >"$LOGS/demo.log"
# phase 8's volume only costs time here (tests/bench/embed measures it): 1
# legacy project in 4 kept: 52,000 entities to link (all 138,500 took 106 s of the
# suite's time); 1 in 8 in light mode
if [ "${MDW_IT_LIGHT:-0}" = 1 ]; then
  thin_projects
else
  lq "DELETE FROM dispatch_project WHERE id % 4 <> 0" >/dev/null
fi
export MDW_POLL_MS=100

"$BUILD/bedrock-fake" --port 0 --ready-file "$LOGS/fake.port" --quiet >"$LOGS/fake.log" 2>&1 &
PIDS+=($!)
wait_for 10 "the fake" 'test -s "$LOGS/fake.port"'
FAKE="http://127.0.0.1:$(cat "$LOGS/fake.port")"
stats() { curl -sf "$FAKE/stats" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

# relational phases first (offline)
start_worker r1 --exit-when-done >/dev/null
"$BUILD/mdw-coordinator" --new-run --phases practices,profiles,patients,cases,projects 2>"$LOGS/coord-rel.log" \
  || fail "relational phases failed"

# embeddings through Bedrock's signing and HTTP path
export MDW_EMBED_PROVIDER=bedrock MDW_BEDROCK_ENDPOINT="$FAKE" AWS_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY='wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' \
  MDW_RATE_RPM=600000 MDW_RATE_TPM=100000000
start_worker e1 --exit-when-done >/dev/null
start_worker e2 --exit-when-done >/dev/null
"$BUILD/mdw-coordinator" --new-run --phases embeddings 2>"$LOGS/coord-emb.log" && rc=0 || rc=$?
assert_eq "embeddings run exit code" 0 "$rc"
entities=$(tq "SELECT (SELECT count(*) FROM patients) + (SELECT count(*) FROM cases) + (SELECT count(*) FROM projects)")
assert_eq "links" "$entities" "$(tq "SELECT count(*) FROM ai_embedding_sources")"
distinct=$(tq "SELECT count(DISTINCT sha256_hash) FROM ai_embedding_sources")
assert_eq "embeddings = distinct hashes" "$distinct" "$(tq "SELECT count(*) FROM ai_embeddings")"
assert_eq "operators' query" "$distinct" "$(tq "SELECT COUNT(DISTINCT sha256_hash) FROM ai_embeddings")"
assert_eq "successful calls = distinct texts" "$distinct" "$(stats ok)"
assert_eq "texts embedded twice" 0 "$(stats duplicate_ok_texts)"
assert_eq "refused signatures" 0 "$(stats bad_signature)"
assert_eq "inserted = distinct texts" "$distinct" \
  "$(tq "SELECT sum(rows_inserted) FROM mdw.chunks WHERE phase = 'embeddings' AND run_id = 2")"
assert_eq "every link has its practice" 0 "$(tq "SELECT count(*) FROM ai_embedding_sources s JOIN cases c
  ON s.content_type = 'case' AND c.id = s.content_id WHERE s.practice_id IS DISTINCT FROM c.practice_id")"
assert_eq "vector length" 1024 "$(tq "SELECT array_length(embedding, 1) FROM ai_embeddings LIMIT 1")"

# a re-run calls the provider zero times
before=$(stats requests)
start_worker e3 --exit-when-done >/dev/null
"$BUILD/mdw-coordinator" --new-run --phases embeddings 2>>"$LOGS/coord-emb.log" || fail "re-run failed"
assert_eq "calls made by the re-run" "$before" "$(stats requests)"
assert_eq "re-run inserts" 0 "$(tq "SELECT sum(rows_inserted) FROM mdw.chunks WHERE phase = 'embeddings' AND run_id = 3")"

# wrong credentials: one new text to embed, a 403, the phase fails, no retry storm
tq "UPDATE cases SET clinical_notes = 'A text never embedded before' WHERE id = (SELECT min(id) FROM cases)" >/dev/null
before=$(stats requests)
export AWS_SECRET_ACCESS_KEY=wrong-secret
start_worker bad --exit-when-done >/dev/null
W=$(tail -n 1 "$LOGS/pids")
"$BUILD/mdw-coordinator" --new-run --phases embeddings 2>>"$LOGS/coord-emb.log" && rc=0 || rc=$?
[ "$rc" -ne 0 ] || fail "the run with refused credentials exited 0"
wait "$W" && wrc=0 || wrc=$?
assert_eq "worker exit code on refused credentials" 3 "$wrc"
assert_eq "calls with refused credentials" 1 "$(( $(stats requests) - before ))"
grep -q 'refused the credentials' "$LOGS/worker-bad.log" || fail "no clear message about the credentials"
if grep -q 'wrong-secret' "$LOGS"/*.log; then fail "a secret reached a log"; fi
ok "refused credentials: phase failed after one call, secret never logged"
finish
