#!/usr/bin/env bash
# mdw-coordinator --plan / mdwctl plan (issue 19): a plan writes nothing
# (every target row count, mdw.* included, and the Redis key set stay the
# same, before any run and after runs), and its counts are what the real
# runs then do: per relational phase the chunks and source rows; for the
# embeddings the chunks, texts and distinct texts; after the runs, every
# text is held (nothing to pay for) and an incremental run has nothing due.
source "$(dirname "$0")/lib.sh" "$1" plan
fresh_dbs
"$BUILD/mdwctl" legacy-demo --scale 1 >"$LOGS/demo.log"
lq "DELETE FROM public.dispatch_project WHERE id % 16 <> 0" >/dev/null # the volume only costs time here
export MDW_POLL_MS=100 MDW_CHUNK_ROWS=1500 MDW_EMBED_BATCH=400
RELATIONAL=practices,profiles,patients,cases,projects,practice_members,case_states,workflow_templates

snapshot() { # every table's row count in the target (public and mdw), and Redis's key names
  tq "SELECT table_schema || '.' || table_name || '=' || (xpath('/row/c/text()', query_to_xml(format(
        'SELECT count(*) AS c FROM %I.%I', table_schema, table_name), false, true, '')))[1]::text
      FROM information_schema.tables WHERE table_schema IN ('public', 'mdw') AND table_type = 'BASE TABLE' ORDER BY 1"
  rcli --scan | sort
}
json() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
phase() { echo "[p for p in d['phases'] if p['phase'] == '$1'][0]"; }

# 1. before any run (an empty target: no schema yet)
snapshot >"$LOGS/before1"
"$BUILD/mdwctl" plan --json >"$LOGS/plan1.json" 2>"$LOGS/plan1.log"
"$BUILD/mdw-coordinator" --plan >"$LOGS/plan1.txt" 2>>"$LOGS/plan1.log"
snapshot >"$LOGS/after1"
diff "$LOGS/before1" "$LOGS/after1" || fail "the plan wrote to the target or Redis (empty target)"
ok "a plan on an empty target writes nothing"
assert_eq "embeddings before the relational phases: an estimate" False "$(json "$LOGS/plan1.json" "$(phase embeddings)['embeddings']['exact']")"
grep -q "basis: estimate" "$LOGS/plan1.txt" || fail "the table does not say the embeddings are estimated"

# 2. the relational phases: the plan's chunks and rows are the run's
start_worker w1 --exit-when-done >/dev/null
start_worker w2 --exit-when-done >/dev/null
"$BUILD/mdw-coordinator" --new-run --phases "$RELATIONAL" 2>"$LOGS/coord1.log" || fail "relational run failed"
for p in ${RELATIONAL//,/ }; do
  got=$(tq "SELECT chunks || ' ' || source_rows FROM mdw.run_phases WHERE phase = '$p'")
  assert_eq "$p: planned chunks and rows = the run's" "$got" "$(json "$LOGS/plan1.json" "str($(phase "$p")['chunks']) + ' ' + str($(phase "$p")['rows'])")"
done

# 3. with a ledger, rows and Redis keys: still nothing written; the embeddings are exact now
# (the workers exit first: the last one's goodbye removes mdw:{RUN}:workers)
for p in $(cat "$LOGS/pids"); do wait "$p" 2>/dev/null || true; done
snapshot >"$LOGS/before2"
"$BUILD/mdwctl" plan --json --phases embeddings >"$LOGS/plan2.json" 2>"$LOGS/plan2.log"
"$BUILD/mdwctl" plan >"$LOGS/plan2.txt" 2>>"$LOGS/plan2.log"
snapshot >"$LOGS/after2"
diff "$LOGS/before2" "$LOGS/after2" || fail "the plan wrote to the target or Redis (after a run)"
grep -q "^mdw.chunks=[1-9]" "$LOGS/after2" || fail "the snapshot has no ledger rows"
ok "a plan after a run writes nothing"
E="$(phase embeddings)['embeddings']"
assert_eq "embeddings after the relational phases: exact" True "$(json "$LOGS/plan2.json" "$E['exact']")"
assert_eq "relational phases already migrated: incremental chunks" 0 "$(json "$LOGS/plan2.json" "sum(p['incremental_chunks'] for p in d['phases'] if p['phase'] != 'embeddings')")"

# 4. the embeddings run: chunks, texts and distinct texts as planned
start_worker w3 --exit-when-done >/dev/null
start_worker w4 --exit-when-done >/dev/null
"$BUILD/mdw-coordinator" --new-run --phases embeddings 2>"$LOGS/coord2.log" || fail "embeddings run failed"
assert_eq "embeddings chunks" "$(tq "SELECT chunks FROM mdw.run_phases WHERE phase = 'embeddings'")" "$(json "$LOGS/plan2.json" "$(phase embeddings)['chunks']")"
assert_eq "embeddings texts" "$(tq "SELECT sum(rows_read) FROM mdw.chunks WHERE phase = 'embeddings'")" "$(json "$LOGS/plan2.json" "$E['texts']")"
assert_eq "embeddings distinct texts" "$(tq "SELECT count(*) FROM public.ai_embeddings")" "$(json "$LOGS/plan2.json" "$E['distinct']")"

# 5. after it: every text held, nothing to pay for, nothing due
"$BUILD/mdwctl" plan --json --phases embeddings >"$LOGS/plan3.json" 2>"$LOGS/plan3.log"
assert_eq "texts held after the run" "$(json "$LOGS/plan2.json" "$E['distinct']")" "$(json "$LOGS/plan3.json" "$E['held']")"
assert_eq "tokens to pay for after the run" 0 "$(json "$LOGS/plan3.json" "$E['new_tokens']")"
assert_eq "cost after the run" 0.0 "$(json "$LOGS/plan3.json" "$E['cost_usd']")"
assert_eq "embeddings due for an incremental run" 0 "$(json "$LOGS/plan3.json" "$(phase embeddings)['incremental_chunks']")"

# 6. what is left to do: patients updated in the legacy database since; the incremental plan is the incremental run
lq "UPDATE public.dispatch_patient SET updated_at = now() + interval '1 minute' WHERE id % 700 = 0" >/dev/null
"$BUILD/mdwctl" plan --json --phases patients --incremental >"$LOGS/plan4.json" 2>"$LOGS/plan4.log"
start_worker w5 --exit-when-done >/dev/null
"$BUILD/mdw-coordinator" --new-run --incremental --phases patients 2>"$LOGS/coord3.log" || fail "incremental run failed"
got=$(tq "SELECT chunks || ' ' || source_rows FROM mdw.run_phases WHERE phase = 'patients' AND run_id = (SELECT max(id) FROM mdw.runs)")
assert_eq "patients: incremental plan = the incremental run" "$got" "$(json "$LOGS/plan4.json" "str($(phase patients)['chunks']) + ' ' + str($(phase patients)['rows'])")"
[ "${got%% *}" -gt 0 ] || fail "the incremental run had nothing due"
finish
