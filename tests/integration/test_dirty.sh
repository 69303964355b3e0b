#!/usr/bin/env bash
# Dirty data (legacy-demo --dirty: every dirt kind at a high rate, very long
# and exotic text, edge timestamps, ids at -2^31, -11, 0 and 2^31-1, an empty table, a one-row
# table): all 9 phases finish, every row lands inserted, merged or rejected
# with a stable reason, no worker crashes, validation passes. Each phase's
# rows by outcome and its rejects by reason are what the legacy data implies
# (tests/integration/dirty_expected.sql, computed without the worker code);
# the embeddings, whose texts the worker builds, are checked against the
# target's rows.
REDIS_DB=4
source "$(dirname "$0")/lib.sh" "$1" dirty
fresh_dbs
"$BUILD/mdwctl" legacy-demo --scale 1 --dirty >"$LOGS/demo.log"
grep -q '(dirty)' "$LOGS/demo.log" || fail "the generator did not make dirty data"
export MDW_POLL_MS=100
start_worker d1 --exit-when-done >/dev/null
start_worker d2 --exit-when-done >/dev/null
"$BUILD/mdw-coordinator" --new-run 2>"$LOGS/coordinator.log" && rc=0 || rc=$?
assert_eq "coordinator exit code" 0 "$rc"
for p in $(cat "$LOGS/pids"); do
  wait "$p" 2>/dev/null && wrc=0 || wrc=$?
  [ "$wrc" -eq 0 ] || [ "$wrc" -eq 127 ] || fail "a worker exited with $wrc"
done
ok "no worker crashed"
"$BUILD/mdwctl" validate >"$LOGS/validate.txt" || fail "validate: $(cat "$LOGS/validate.txt")"
ok "every phase validates"
assert_eq "unbalanced chunks" 0 "$(tq "SELECT count(*) FROM mdw.chunks WHERE rows_read <> rows_inserted + rows_existing
  + rows_merged + rows_rejected OR status <> 'done'")"
assert_eq "rejects without a reason" 0 "$(tq "SELECT count(*) FROM mdw.rejects WHERE reason !~ '^[a-z_]+$'")"
assert_eq "empty table migrated" 0 "$(tq "SELECT rows_read FROM mdw.chunks WHERE phase = 'practice_members' UNION ALL SELECT 0 LIMIT 1")"
assert_eq "one-row table" 1 "$(tq "SELECT sum(rows_read) FROM mdw.chunks WHERE phase = 'workflow_templates'")"
assert_eq "the project at id 2^31-1 and its size" 9223372036854775807 \
  "$(tq "SELECT file_size_bytes FROM projects WHERE legacy_id = 2147483647")"
assert_eq "the state at id 2^31-1" 1 "$(tq "SELECT count(*) FROM case_states WHERE legacy_id = 2147483647")"
for i in -2147483648 -11 0; do
  assert_eq "the chain at id $i: profile, practice, patient, case, project, state" 6 "$(tq "SELECT
    (SELECT count(*) FROM profile_legacy_users WHERE legacy_user_id = $i)
    + (SELECT count(*) FROM practices WHERE legacy_id = $i)
    + (SELECT count(*) FROM patients WHERE legacy_id = $i)
    + (SELECT count(*) FROM cases WHERE legacy_project_id = $i)
    + (SELECT count(*) FROM projects WHERE legacy_id = $i)
    + (SELECT count(*) FROM case_states WHERE legacy_id = $i)")"
done
assert_eq "case numbers at both ends of the id range" "C--2147483648 C--0000000011 C-0000000000 C-2147483647" \
  "$(tq "SELECT string_agg(case_number, ' ' ORDER BY legacy_project_id) FROM cases
    WHERE legacy_project_id IN (-2147483648, -11, 0, 2147483647)")"
assert_eq "4-byte UTF-8 names intact" 100 "$(tq "SELECT max(char_length(first_name)) FROM patients WHERE first_name LIKE '🦷%'")"
edge_id=$(lq "SELECT id FROM dispatch_project WHERE created_at = '294276-12-31 23:59:59+00'")
assert_eq "edge timestamp kept, or the row rejected with a reason" 1 "$(tq "SELECT
  (SELECT count(*) FROM cases WHERE legacy_project_id = $edge_id AND created_at = '294276-12-31 23:59:59+00')
  + (SELECT count(*) FROM mdw.rejects WHERE phase = 'cases' AND legacy_id = $edge_id)")"
grep -q 'texts cut to the model' "$LOGS"/worker-d*.log || fail "the 200 kB notes were not cut for embedding"
ok "over-long texts cut at the model's limit and counted"
# rows by outcome and rejects by reason, as the legacy data implies
psql -X -q -t -A -F'|' -v ON_ERROR_STOP=1 -d "$LEGACY_DB" -f "$ROOT/tests/integration/dirty_expected.sql" \
  >"$LOGS/expected.txt"
n=0
while IFS='|' read -r q want what; do
  assert_eq "${what:-$q}" "$want" "$(tq "$q")"
  n=$((n + 1))
done <"$LOGS/expected.txt"
[ "$n" -ge 40 ] || fail "only $n expectations checked"
# embeddings: one link per migrated patient, case and project; each distinct text embedded once, the others merged
links=$(tq "SELECT count(*) FROM ai_embedding_sources")
assert_eq "embedding links: one per patient, case and project" \
  "$(tq "SELECT (SELECT count(*) FROM patients) + (SELECT count(*) FROM cases) + (SELECT count(*) FROM projects)")" "$links"
texts=$(tq "SELECT count(DISTINCT sha256_hash) FROM ai_embedding_sources")
assert_eq "embeddings stored: one per distinct text" "$texts" "$(tq "SELECT count(*) FROM ai_embeddings")"
assert_eq "embeddings: rows read inserted existing merged rejected" "$links $texts 0 $((links - texts)) 0" \
  "$(tq "SELECT concat_ws(' ', sum(rows_read), sum(rows_inserted), sum(rows_existing), sum(rows_merged),
    sum(rows_rejected)) FROM mdw.chunks WHERE phase = 'embeddings'")"
finish
