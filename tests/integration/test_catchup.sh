#!/usr/bin/env bash
# The catch-up before cutover (issue 21): after a full migration, the legacy
# system changes 50 patients (names, status), 50 projects (status, size,
# notes), deactivates 5 offices, deletes 10 states and adds 100 rows (50
# patients, 50 projects). `mdw-coordinator --plan --catch-up` says what it
# would do; `mdw-coordinator --catch-up` updates exactly those rows in place
# (rows_updated) and inserts the new ones, reports the 10 deleted states
# (mdwctl catch-up --deleted), embeds the changed texts anew (old embeddings
# kept or listed as orphans); once the deletes are applied (dry run first)
# mdwctl verify reports nothing, and a second catch-up changes nothing. A
# target row changed by "the application" is left alone and reported as a
# conflict by the next catch-up when its legacy row changed too (when it did
# not, the catch-up has nothing to bring over; mdwctl verify names it). The
# comparisons are computed ahead of their phases, and one that fails there is
# made again when its phase is planned.
REDIS_DB=13
source "$(dirname "$0")/lib.sh" "$1" catchup
fresh_dbs
"$BUILD/mdwctl" legacy-demo --scale 1 >"$LOGS/demo.log"
# the projects with states and 1 in 16 of the others, their patients and 1 in 8 of the others
keep_legacy 16 8
export MDW_POLL_MS=100
migrate first
"$BUILD/mdwctl" verify >"$LOGS/verify-first.txt" || fail "verify after the first run: $(tail -3 "$LOGS/verify-first.txt")"
made() { tq "SELECT string_agg(n::text, ' ') FROM (SELECT count(*) n FROM practices WHERE mdw_run_id = $1 UNION ALL
  SELECT count(*) FROM patients WHERE mdw_run_id = $1 UNION ALL SELECT count(*) FROM cases WHERE mdw_run_id = $1 UNION ALL
  SELECT count(*) FROM projects WHERE mdw_run_id = $1 UNION ALL SELECT count(*) FROM case_states WHERE mdw_run_id = $1) x"; }
hashed() { tq "SELECT string_agg(coalesce(n, 0)::text, ' ' ORDER BY k) FROM unnest(ARRAY['practices', 'patients', 'cases',
  'projects', 'case_states']) WITH ORDINALITY AS p (phase, k) LEFT JOIN (SELECT phase, count(*) n FROM mdw.row_hashes
  WHERE run_id = $1 GROUP BY phase) h USING (phase)"; }
assert_eq "hashes of what the first run wrote, one per migrated row" "$(made 1)" "$(hashed 1)"
assert_eq "the workers recorded them, chunk by chunk (rows_hashed), the coordinator none" "0 $(tq "SELECT count(*) FROM
  mdw.row_hashes WHERE run_id = 1")" "$(tq "SELECT count(*) FILTER (WHERE rows_hashed IS NULL) || ' ' || sum(rows_hashed)
  FROM mdw.chunks WHERE run_id = 1 AND phase <> 'embeddings'")"
if grep -q 'chunks done without row hashes' "$LOGS/coordinator-first.log"; then
  fail "the coordinator recorded row hashes itself: $(grep -c 'without row hashes' "$LOGS/coordinator-first.log") phases"
fi

# the legacy system moves on (ids of rows the first run placed)
placed() { tq "SELECT string_agg(legacy_id::text, ',' ORDER BY legacy_id) FROM (SELECT $2 AS legacy_id FROM $1 $3 ORDER BY 1 LIMIT $4) x"; }
pats=$(placed patients legacy_id "WHERE mdw_run_id = 1" 50)
projs=$(placed projects legacy_id "WHERE mdw_run_id = 1" 50)
offices=$(placed practices legacy_id "WHERE is_active AND mdw_run_id = 1" 5)
states=$(placed case_states legacy_id "WHERE mdw_run_id = 1" 10)
lq "UPDATE dispatch_patient SET first_name = first_name || 'e', last_name = 'Amended', status = (status + 1) % 5,
      updated_at = now() WHERE id IN ($pats);
  UPDATE dispatch_project SET status = (status + 1) % 6, size = coalesce(size, 0) + 1000,
      notes = coalesce(notes, '') || ' Amended after review.', updated_at = now() WHERE id IN ($projs);
  UPDATE dispatch_office SET is_active = false WHERE id IN ($offices);
  DELETE FROM dispatch_state WHERE id IN ($states);
  INSERT INTO dispatch_patient SELECT id + 5000000, doctor_id, office_id, first_name, last_name, birthdate, sex,
      status, archived, suspended, created_at, updated_at FROM dispatch_patient WHERE id IN ($pats);
  INSERT INTO dispatch_project SELECT id + 5000000, gen_random_uuid(), patient_id, creator_id, name, type, status,
      size, notes, created_at, updated_at FROM dispatch_project WHERE id IN ($projs)" >/dev/null
emb_before=$(tq "SELECT count(*) FROM ai_embeddings")
tq "CREATE TABLE it_hashes_before AS SELECT sha256_hash FROM ai_embeddings;
  CREATE TABLE it_patients_before AS SELECT id, legacy_id FROM patients;
  CREATE TABLE it_links_before AS SELECT content_type, content_id, sha256_hash FROM ai_embedding_sources" >/dev/null

"$BUILD/mdw-coordinator" --plan --catch-up --phases practices,patients,cases,projects,case_states --json \
  >"$LOGS/plan.json" 2>"$LOGS/plan.log" || fail "plan --catch-up: $(cat "$LOGS/plan.log")"
assert_eq "plan: what a catch-up would do (update insert conflict deleted)" \
  "practices 5 0 0 0 patients 50 50 0 0 cases 50 50 0 0 projects 50 50 0 0 case_states 0 0 0 10" \
  "$(jq -r '.catch_up | to_entries | map("\(.key) \(.value.update) \(.value.insert) \(.value.conflict) \(.value.deleted)") | join(" ")' "$LOGS/plan.json")"
assert_eq "plan wrote nothing" 0 "$(tq "SELECT count(*) FROM mdw.catchup_rows")"
assert_eq "plan: the phases' rows are the catch-up's (update + insert), not a full or an incremental walk's" \
  "true practices 5 1 patients 100 1 cases 100 1 projects 100 1 case_states 0 0" \
  "$(jq -r '[(.incremental | tostring)] + [.phases[] | select(.phase != "embeddings") | "\(.phase) \(.rows) \(.chunks)"] | join(" ")' "$LOGS/plan.json")"

t0=$(date +%s)
migrate catchup --catch-up
ok "catch-up run took $(( $(date +%s) - t0 )) s"
ledger() { tq "SELECT string_agg(phase || ' ' || u || ' ' || i, ' ' ORDER BY phase) FROM (SELECT phase, sum(rows_updated) u,
  sum(rows_inserted) i FROM mdw.chunks WHERE run_id = $1 AND phase <> 'embeddings' GROUP BY phase) x"; }
assert_eq "catch-up: rows updated and inserted per phase (ledger; phases with nothing to do plan no chunk)" \
  "cases 50 50 patients 50 50 practices 5 0 projects 50 50" \
  "$(ledger 2)"
assert_eq "catch-up: a hash for every row updated or inserted (practices patients cases projects case_states)" \
  "5 100 100 100 0" "$(hashed 2)"
assert_eq "catch-up: every chunk balances with rows_updated" 0 "$(tq "SELECT count(*) FROM mdw.chunks WHERE run_id = 2
  AND (status <> 'done' OR rows_read <> rows_inserted + rows_existing + rows_updated + rows_merged + rows_rejected)")"
assert_eq "catch-up: the chunks read only the rows listed to update or insert, not their neighbours" \
  "$(tq "SELECT count(*) FROM mdw.catchup_rows WHERE run_id = 2 AND action IN ('update', 'insert') AND phase <> 'embeddings'")" \
  "$(tq "SELECT sum(rows_read) FROM mdw.chunks WHERE run_id = 2 AND phase <> 'embeddings'")"
assert_eq "catch-up: exactly those rows listed for update" \
  "$pats|$projs|$offices" \
  "$(tq "SELECT string_agg(legacy_id::text, ',' ORDER BY legacy_id) FILTER (WHERE phase = 'patients') || '|' ||
     string_agg(legacy_id::text, ',' ORDER BY legacy_id) FILTER (WHERE phase = 'projects') || '|' ||
     string_agg(legacy_id::text, ',' ORDER BY legacy_id) FILTER (WHERE phase = 'practices')
     FROM mdw.catchup_rows WHERE run_id = 2 AND action = 'update'")"
assert_eq "patients updated in place (same target ids), made by run 1 still" "50 50" \
  "$(tq "SELECT count(*) FILTER (WHERE p.last_name = 'Amended') || ' ' || count(*) FILTER (WHERE p.mdw_run_id = 1)
     FROM patients p JOIN it_patients_before b ON b.id = p.id AND b.legacy_id = p.legacy_id WHERE p.legacy_id IN ($pats)")"
assert_eq "offices deactivated" 0 "$(tq "SELECT count(*) FROM practices WHERE is_active AND legacy_id IN ($offices)")"
assert_eq "no other target row changed" 0 "$(tq "SELECT count(*) FROM patients WHERE last_name = 'Amended'
  AND legacy_id NOT IN ($pats) AND legacy_id < 5000000")"
"$BUILD/mdwctl" report --run 2 --report "$LOGS/report-2.md" >/dev/null
assert_eq "status and report count the updates" "155 155" \
  "$("$BUILD/mdwctl" status --json --run 2 | jq '[.phases[].updated] | add') $(jq '[.phases[].updated] | add' "$LOGS/report-2.json")"
grep -q '| run: updated |' "$LOGS/report-2.md" || fail "the report's table has no updated column"
"$BUILD/mdwctl" status >"$LOGS/status.txt"
grep -q ' updated ' "$LOGS/status.txt" || fail "mdwctl status has no updated column"

# the deletes: reported, not applied
"$BUILD/mdwctl" catch-up --deleted >"$LOGS/deleted.txt"
assert_eq "catch-up --deleted: the 10 deleted states, by legacy id" "$states" \
  "$(awk '$1 == "case_states" {print $2}' "$LOGS/deleted.txt" | paste -sd, -)"
grep -q 'missing_since' "$LOGS/deleted.txt" || fail "catch-up --deleted does not say since when"
assert_eq "their target rows stay" 10 "$(tq "SELECT count(*) FROM case_states WHERE legacy_id IN ($states)")"
"$BUILD/mdwctl" report --report "$LOGS/report.md" >/dev/null
grep -q 'Deleted in the legacy database' "$LOGS/report.md" || fail "the report does not list the deleted rows"
assert_eq "report: deleted rows with phase, legacy id and since when" 10 \
  "$(jq '[.deletedInLegacy[] | select(.phase == "case_states" and .legacyId != null and .since != null)] | length' "$LOGS/report.json")"

# embeddings follow: the changed texts embedded anew and linked
assert_eq "every changed case linked to a text embedded by the catch-up" "50 50" \
  "$(tq "SELECT count(*) || ' ' || count(*) FILTER (WHERE s.sha256_hash NOT IN (SELECT sha256_hash FROM it_hashes_before))
     FROM cases c JOIN ai_embedding_sources s ON s.content_type = 'case' AND s.content_id = c.id
     WHERE c.legacy_project_id IN ($projs)")"
assert_eq "every changed patient (status) linked to its new text" 50 \
  "$(tq "SELECT count(*) FROM patients p JOIN ai_embedding_sources s ON s.content_type = 'patient' AND s.content_id = p.id
     JOIN it_links_before b ON b.content_type = 'patient' AND b.content_id = p.id
     WHERE p.legacy_id IN ($pats) AND s.sha256_hash <> b.sha256_hash")"
assert_eq "no unchanged entity relinked" 0 \
  "$(tq "SELECT count(*) FROM it_links_before b JOIN ai_embedding_sources s USING (content_type, content_id)
     WHERE s.sha256_hash <> b.sha256_hash AND NOT (b.content_type = 'patient' AND b.content_id IN (SELECT p.id FROM patients p
       WHERE p.legacy_id IN ($pats) OR p.id IN (SELECT c.patient_id FROM cases c WHERE c.legacy_project_id IN ($projs))))
     AND NOT (b.content_type = 'case' AND b.content_id IN (SELECT id FROM cases WHERE legacy_project_id IN ($projs)))")"
new_emb=$(( $(tq "SELECT count(*) FROM ai_embeddings") - emb_before ))
[ "$new_emb" -ge 100 ] || fail "only $new_emb new embeddings for 50 changed cases, 50 changed patients and the new rows"
ok "new embeddings: $new_emb"
"$BUILD/mdwctl" catch-up --orphans >"$LOGS/orphans.txt"
orphans=$(tq "SELECT count(*) FROM ai_embeddings e WHERE NOT EXISTS (SELECT 1 FROM ai_embedding_sources s WHERE s.sha256_hash = e.sha256_hash)")
[ "$orphans" -gt 0 ] || fail "no orphaned embedding after 50 changed case texts"
grep -q "orphaned embeddings .*: $orphans\$" "$LOGS/orphans.txt" || fail "catch-up --orphans: $(cat "$LOGS/orphans.txt")"
"$BUILD/mdwctl" catch-up --orphans --apply >"$LOGS/orphans-apply.txt"
assert_eq "orphans removed" 0 "$(tq "SELECT count(*) FROM ai_embeddings e WHERE NOT EXISTS (SELECT 1 FROM ai_embedding_sources s WHERE s.sha256_hash = e.sha256_hash)")"

# apply the deletes: a dry run first, then for real
"$BUILD/mdwctl" catch-up --deleted --apply --dry-run >"$LOGS/apply-dry.txt"
grep -q 'case_states .* 10 rows' "$LOGS/apply-dry.txt" || fail "dry run: $(cat "$LOGS/apply-dry.txt")"
assert_eq "dry run deleted nothing" 10 "$(tq "SELECT count(*) FROM case_states WHERE legacy_id IN ($states)")"
"$BUILD/mdwctl" catch-up --deleted --apply >"$LOGS/apply.txt"
assert_eq "deletes applied" 0 "$(tq "SELECT count(*) FROM case_states WHERE legacy_id IN ($states)")"
"$BUILD/mdwctl" verify >"$LOGS/verify-after.txt" && rc=0 || rc=$?
assert_eq "verify after the catch-up: exit code" 0 "$rc"
assert_eq "verify after the catch-up: rows named" 0 "$(grep -c -E ' (differs|missing|stray) ' "$LOGS/verify-after.txt" || true)"

# a second catch-up changes nothing
migrate again --catch-up
assert_eq "second catch-up: nothing updated or inserted" "0 0" \
  "$(tq "SELECT coalesce(sum(rows_updated), 0) || ' ' || coalesce(sum(rows_inserted), 0) FROM mdw.chunks WHERE run_id = 3")"
assert_eq "second catch-up: nothing to do" 0 "$(tq "SELECT count(*) FROM mdw.catchup_rows WHERE run_id = 3")"

# the application changes a target row (and the legacy row changes too): left alone, a conflict
app=$(tq "SELECT min(legacy_id) FROM patients WHERE legacy_id NOT IN ($pats) AND mdw_run_id = 1")
tq "UPDATE patients SET last_name = 'Changed by the app' WHERE legacy_id = $app" >/dev/null
lq "UPDATE dispatch_patient SET status = (status + 1) % 5 WHERE id = $app" >/dev/null
migrate conflict --catch-up
assert_eq "conflict: reported with its reason" "patients $app changed_in_target" \
  "$(tq "SELECT phase || ' ' || legacy_id || ' ' || reason FROM mdw.catchup_rows WHERE run_id = 4 AND action = 'conflict'")"
assert_eq "conflict: the application's row is left alone" "Changed by the app" \
  "$(tq "SELECT last_name FROM patients WHERE legacy_id = $app")"
assert_eq "conflict: nothing updated" 0 "$(tq "SELECT coalesce(sum(rows_updated), 0) FROM mdw.chunks WHERE run_id = 4")"
"$BUILD/mdwctl" catch-up >"$LOGS/catch-up.txt"
grep -q "patients .* $app .*changed_in_target" "$LOGS/catch-up.txt" || fail "mdwctl catch-up: $(cat "$LOGS/catch-up.txt")"

# applying a deleted parent follows rollback's rules: refused while rows reference it, --cascade deletes them too
case=$(tq "SELECT c.legacy_project_id FROM cases c WHERE c.mdw_run_id = 1 AND EXISTS (SELECT 1 FROM case_states s
  WHERE s.case_id = c.id) AND EXISTS (SELECT 1 FROM projects p WHERE p.case_id = c.id) ORDER BY 1 LIMIT 1")
cid=$(tq "SELECT id FROM cases WHERE legacy_project_id = $case")
lq "DELETE FROM dispatch_state WHERE project_id = $case; DELETE FROM dispatch_project WHERE id = $case" >/dev/null
"$BUILD/mdw-coordinator" --plan --catch-up --json --phases cases,projects,case_states >"$LOGS/plan-case.json" 2>>"$LOGS/plan.log"
n_states=$(tq "SELECT count(*) FROM case_states WHERE case_id = $cid")
assert_eq "plan: a deleted project is a deleted case, project and its states" "1 1 $n_states" \
  "$(jq -r '[.catch_up.cases.deleted, .catch_up.projects.deleted, .catch_up.case_states.deleted] | join(" ")' "$LOGS/plan-case.json")"
migrate deleted-case --catch-up --phases cases,projects,case_states
"$BUILD/mdwctl" catch-up --deleted --apply --phase cases >"$LOGS/apply-case.txt" 2>&1 && rc=0 || rc=$?
assert_eq "apply a deleted case without --cascade: refused" 1 "$rc"
grep -q 'rows of case_states reference the rows to delete from cases; --cascade deletes them too' "$LOGS/apply-case.txt" ||
  fail "refusal does not name the referencing rows: $(cat "$LOGS/apply-case.txt")"
"$BUILD/mdwctl" catch-up --deleted --apply --cascade >"$LOGS/apply-case-cascade.txt"
assert_eq "--cascade: the case, its project, its states and their embedding links are gone" "0 0 0 0" \
  "$(tq "SELECT (SELECT count(*) FROM cases WHERE id = $cid) || ' ' || (SELECT count(*) FROM projects WHERE case_id = $cid
     OR legacy_id = $case) || ' ' || (SELECT count(*) FROM case_states WHERE case_id = $cid) || ' ' ||
     (SELECT count(*) FROM ai_embedding_sources WHERE content_type = 'case' AND content_id = $cid)")"
"$BUILD/mdwctl" verify --phase cases >"$LOGS/verify-case.txt" || fail "verify cases after the cascade: $(tail -2 "$LOGS/verify-case.txt")"

# the application changes a listed row after the catch-up planned it and before
# its chunk runs: the chunk leaves it alone and reports it a conflict
two=$(tq "SELECT string_agg(legacy_id::text, ',' ORDER BY legacy_id) FROM (SELECT legacy_id FROM patients
  WHERE mdw_run_id = 1 AND legacy_id <> $app AND legacy_id NOT IN ($pats) ORDER BY legacy_id LIMIT 2) x")
late=${two%%,*}
before=$(tq "SELECT last_name FROM patients WHERE legacy_id = $late")
lq "UPDATE dispatch_patient SET last_name = 'Late' WHERE id IN ($two)" >/dev/null
# and a worker from before rows_hashed (sql/target/012) takes its chunk: it
# records no hashes, so the coordinator records the phase's when it validates
tq "CREATE FUNCTION it_old_worker_hashes() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN
    RETURN CASE WHEN current_setting('application_name') LIKE 'mdw-worker/%' THEN NULL ELSE NEW END; END \$\$;
  CREATE TRIGGER it_old_worker BEFORE INSERT ON mdw.row_hashes FOR EACH ROW EXECUTE FUNCTION it_old_worker_hashes();
  CREATE FUNCTION it_old_worker_ledger() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN
    NEW.rows_hashed := NULL; RETURN NEW; END \$\$;
  CREATE TRIGGER it_old_worker BEFORE UPDATE ON mdw.chunks FOR EACH ROW EXECUTE FUNCTION it_old_worker_ledger();
  ALTER TABLE mdw.row_hashes ENABLE ALWAYS TRIGGER it_old_worker; ALTER TABLE mdw.chunks ENABLE ALWAYS TRIGGER it_old_worker" >/dev/null
run=$(( $(tq "SELECT max(id) FROM mdw.runs") + 1 ))
"$BUILD/mdw-coordinator" --new-run --catch-up --phases patients 2>"$LOGS/coordinator-late.log" &
coord=$!
echo $coord >>"$LOGS/pids"
wait_for 30 "the late catch-up planned" "[ \"\$(tq \"SELECT count(*) FROM mdw.chunks WHERE run_id = $run\")\" -gt 0 ]"
assert_eq "late: both rows listed for update" 2 "$(tq "SELECT count(*) FROM mdw.catchup_rows WHERE run_id = $run AND action = 'update'")"
tq "UPDATE patients SET first_name = 'App after plan' WHERE legacy_id = $late" >/dev/null
start_worker late1 --exit-when-done >/dev/null
wait "$coord" && rc=0 || rc=$?
assert_eq "late: coordinator exit code" 0 "$rc"
assert_eq "late: the application's row is left as the application wrote it" "App after plan $before" \
  "$(tq "SELECT first_name || ' ' || last_name FROM patients WHERE legacy_id = $late")"
assert_eq "late: the other row updated" "Late" "$(tq "SELECT last_name FROM patients WHERE legacy_id = ${two##*,}")"
assert_eq "late: conflict reported with its reason" "$late changed_in_target" \
  "$(tq "SELECT legacy_id || ' ' || reason FROM mdw.catchup_rows WHERE run_id = $run AND action = 'conflict' AND legacy_id IN ($two)")"
assert_eq "late: one row updated, the chunk balanced" "1 0" "$(tq "SELECT sum(rows_updated) || ' ' || count(*) FILTER (WHERE
  rows_read <> rows_inserted + rows_existing + rows_updated + rows_merged + rows_rejected) FROM mdw.chunks WHERE run_id = $run")"
grep -q "run=$run phase=patients msg=\"chunks done without row hashes" "$LOGS/coordinator-late.log" ||
  fail "late: the coordinator did not record the hashes of a chunk done without them"
assert_eq "late: the coordinator recorded the updated row's hash" "${two##*,}" \
  "$(tq "SELECT string_agg(legacy_id::text, ',') FROM mdw.row_hashes WHERE run_id = $run")"
tq "DROP TRIGGER it_old_worker ON mdw.row_hashes; DROP TRIGGER it_old_worker ON mdw.chunks" >/dev/null

# the comparisons are computed ahead, while the phases before them load; one
# that fails there (a DBA's lock past the statement timeout) is compared again
# when its phase is planned, with the same result
grep -q 'phase=projects msg="catch-up comparison computed ahead" differ=50 missing=50' "$LOGS/coordinator-catchup.log" ||
  fail "the first catch-up did not compare projects ahead: $(grep -c 'computed ahead' "$LOGS/coordinator-catchup.log") phases did"
if grep -q 'phase=practice_members msg="catch-up comparison computed ahead"' "$LOGS"/coordinator-*.log; then
  fail "practice_members (its holders are the profiles the same run may insert) was compared ahead"
fi
three=$(placed projects legacy_id "WHERE mdw_run_id = 1 AND legacy_id NOT IN ($projs)" 3)
lq "UPDATE dispatch_project SET name = name || ' (locked)' WHERE id IN ($three)" >/dev/null
PGAPPNAME=it-locker psql -X -q -d "$LEGACY_DB" -c "BEGIN; LOCK TABLE dispatch_project IN ACCESS EXCLUSIVE MODE;
  SELECT pg_sleep(60)" >/dev/null 2>&1 &
echo $! >>"$LOGS/pids"
wait_for 10 "the lock held" "[ \"\$(lq \"SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
  WHERE c.relname = 'dispatch_project' AND l.mode = 'AccessExclusiveLock' AND l.granted\")\" = 1 ]"
run=$(( $(tq "SELECT max(id) FROM mdw.runs") + 1 ))
MDW_SOURCE_STATEMENT_TIMEOUT_MS=1000 "$BUILD/mdw-coordinator" --new-run --catch-up --phases cases,projects \
  2>"$LOGS/coordinator-locked.log" &
coord=$!
echo $coord >>"$LOGS/pids"
wait_for 30 "the comparison ahead failed" "grep -q 'phase=projects msg=\"cannot compare ahead' '$LOGS/coordinator-locked.log'"
lq "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'it-locker'" >/dev/null
start_worker locked1 --exit-when-done >/dev/null
wait "$coord" && rc=0 || rc=$?
assert_eq "locked: coordinator exit code" 0 "$rc"
assert_eq "locked: the three rows updated in each phase" "cases 3 projects 3" \
  "$(tq "SELECT string_agg(phase || ' ' || u, ' ' ORDER BY phase) FROM (SELECT phase, sum(rows_updated) u FROM mdw.chunks
     WHERE run_id = $run GROUP BY phase) x")"
grep -q 'phase=projects msg="the comparison computed ahead failed: comparing it now"' "$LOGS/coordinator-locked.log" ||
  fail "locked: the coordinator did not say it compares projects itself"

# the target side of a catch-up is the hashes the migration recorded: a row
# whose recorded hash is gone or stale, but whose value is right, is read back
# and left alone; a target row the application changed while its legacy row
# stayed the same needs no catch-up (nothing to bring over, no conflict), and
# mdwctl verify, which reads every row back, names it
read -r p1 p2 p3 <<<"$(tq "SELECT string_agg(legacy_id::text, ' ' ORDER BY legacy_id) FROM (SELECT legacy_id FROM patients
  WHERE mdw_run_id = 1 AND legacy_id <> $app AND legacy_id NOT IN ($pats, $two) ORDER BY legacy_id LIMIT 3) x")"
tq "DELETE FROM mdw.row_hashes WHERE phase = 'patients' AND legacy_id = $p1;
  UPDATE mdw.row_hashes SET hash = 'stale' WHERE phase = 'patients' AND legacy_id = $p2;
  UPDATE patients SET first_name = 'App only' WHERE legacy_id = $p3" >/dev/null
run=$(( $(tq "SELECT max(id) FROM mdw.runs") + 1 ))
migrate recorded --catch-up --phases patients
assert_eq "recorded: nothing listed for the three rows" 0 \
  "$(tq "SELECT count(*) FROM mdw.catchup_rows WHERE run_id = $run AND legacy_id IN ($p1, $p2, $p3)")"
assert_eq "recorded: the application's value stays" "App only" "$(tq "SELECT first_name FROM patients WHERE legacy_id = $p3")"
"$BUILD/mdwctl" verify --phase patients >"$LOGS/verify-recorded.txt" && rc=0 || rc=$?
named=$(awk '$3 == "differs" {print $2}' "$LOGS/verify-recorded.txt" | sort -u | tr '\n' ' ')
assert_eq "recorded: verify finds the application's changes (this one, and the conflicts above)" \
  "1 $(printf '%s\n' "$app" "$late" "$p3" | sort -u | tr '\n' ' ')" "$rc $named"
finish
