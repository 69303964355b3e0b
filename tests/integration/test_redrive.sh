#!/usr/bin/env bash
# The reject loop: after a full migration, 5 rejected patients (their doctor
# was rejected) are fixed in the legacy database (a valid doctor and office)
# and `mdw-coordinator --redrive` runs: the 5 patients, all their cases,
# projects, case states and embedding links arrive; no other target row
# changes; every other outstanding reject is rejected again by the redrive;
# a second redrive inserts 0.
REDIS_DB=5
source "$(dirname "$0")/lib.sh" "$1" redrive
fresh_dbs
"$BUILD/mdwctl" legacy-demo --scale 1 >"$LOGS/demo.log"
# the projects with states and 1 in 64 of the others, their patients and 1 in 32 of the others (the
# volume costs only time here, in the embeddings above all)
keep_legacy 64 32
export MDW_POLL_MS=100
migrate first

# 5 patients rejected through their doctor alone: every case, project and state under them was
# rejected only through them (a project's creator and a state's actor resolve or are NULL)
pick=$(tq "WITH cs AS (SELECT legacy_id, reason, (source_row->>'patient_id')::bigint AS pid FROM mdw.rejects
    WHERE phase = 'cases'),
  ok_user(id) AS (SELECT legacy_user_id FROM profile_legacy_users),
  bad AS (SELECT pid FROM cs WHERE reason <> 'orphan_patient'
    UNION SELECT cs.pid FROM cs JOIN mdw.rejects pr ON pr.phase = 'projects' AND pr.legacy_id = cs.legacy_id
      WHERE pr.reason <> 'orphan_case' OR (pr.source_row->>'creator_id')::int NOT IN (SELECT id FROM ok_user)
    UNION SELECT cs.pid FROM cs JOIN mdw.rejects st ON st.phase = 'case_states'
      AND (st.source_row->>'project_id')::bigint = cs.legacy_id
      WHERE st.reason <> 'orphan_case' OR (st.source_row->>'actor_id')::int NOT IN (SELECT id FROM ok_user))
  SELECT string_agg(legacy_id::text, ',' ORDER BY legacy_id) FROM (SELECT p.legacy_id FROM mdw.rejects p
    WHERE p.phase = 'patients' AND p.reason = 'orphan_doctor' AND p.legacy_id IN (SELECT pid FROM cs)
      AND p.legacy_id NOT IN (SELECT pid FROM bad WHERE pid IS NOT NULL)
    ORDER BY (SELECT count(*) FROM mdw.rejects st JOIN cs ON (st.source_row->>'project_id')::bigint = cs.legacy_id
      WHERE st.phase = 'case_states' AND cs.pid = p.legacy_id) DESC, p.legacy_id LIMIT 5) x")
[ "$(echo "$pick" | tr ',' '\n' | grep -c .)" = 5 ] || fail "not 5 patients to fix: '$pick'"
doctor=$(tq "SELECT min(legacy_user_id) FROM profile_legacy_users")
office=$(tq "SELECT min(legacy_id) FROM practices")
n_cases=$(lq "SELECT count(*) FROM dispatch_project WHERE patient_id IN ($pick)")
n_states=$(lq "SELECT count(*) FROM dispatch_state WHERE project_id IN (SELECT id FROM dispatch_project
  WHERE patient_id IN ($pick))")
[ "$n_states" -gt 0 ] || fail "the picked patients have no case states: the test would prove less"
ok "fixing patients $pick: $n_cases cases and projects, $n_states states"
snapshot() { # every target row of the first run, and the outstanding rejects other than the picked tree
  for t in practices profiles patients cases projects practice_members case_states workflow_templates \
    ai_embeddings ai_embedding_sources; do
    tq "SELECT '$t', md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM $t x WHERE mdw_run_id = 1"
  done
}
snapshot >"$LOGS/before.txt"
outstanding_before=$(tq "SELECT count(*) FROM mdw.rejects WHERE run_id = 1")
lq "UPDATE dispatch_patient SET doctor_id = $doctor, office_id = $office WHERE id IN ($pick)" >/dev/null

migrate redrive --redrive
run=$(tq "SELECT max(id) FROM mdw.runs")
assert_eq "redrive: patients inserted" 5 "$(tq "SELECT count(*) FROM patients WHERE mdw_run_id = $run")"
assert_eq "redrive: the fixed patients" "$pick" "$(tq "SELECT string_agg(legacy_id::text, ',' ORDER BY legacy_id)
  FROM patients WHERE mdw_run_id = $run")"
assert_eq "redrive: their cases" "$n_cases" "$(tq "SELECT count(*) FROM cases c JOIN patients p ON p.id = c.patient_id
  WHERE p.legacy_id IN ($pick) AND c.mdw_run_id = $run")"
assert_eq "redrive: their projects" "$n_cases" "$(tq "SELECT count(*) FROM projects pr JOIN cases c ON c.id = pr.case_id
  JOIN patients p ON p.id = c.patient_id WHERE p.legacy_id IN ($pick) AND pr.mdw_run_id = $run")"
assert_eq "redrive: their states (inserted or merged)" "$n_states" "$(tq "SELECT sum(rows_inserted + rows_merged)
  FROM mdw.chunks WHERE run_id = $run AND phase = 'case_states'")"
assert_eq "redrive: nothing else inserted" "5 $n_cases $n_cases" "$(tq "SELECT
  (SELECT sum(rows_inserted) FROM mdw.chunks WHERE run_id = $run AND phase = 'patients') || ' ' ||
  (SELECT sum(rows_inserted) FROM mdw.chunks WHERE run_id = $run AND phase = 'cases') || ' ' ||
  (SELECT sum(rows_inserted) FROM mdw.chunks WHERE run_id = $run AND phase = 'projects')")"
assert_eq "redrive: embedding links of the new patients, cases and projects" "$((5 + 2 * n_cases))" \
  "$(tq "SELECT count(*) FROM ai_embedding_sources WHERE mdw_run_id = $run")"
assert_eq "redrive: links of the new rows missing" 0 "$(tq "SELECT count(*) FROM (
  SELECT 'patient' AS t, id FROM patients WHERE mdw_run_id = $run UNION ALL
  SELECT 'case', id FROM cases WHERE mdw_run_id = $run UNION ALL SELECT 'project', id FROM projects WHERE mdw_run_id = $run) n
  WHERE NOT EXISTS (SELECT 1 FROM ai_embedding_sources s WHERE s.content_type = n.t AND s.content_id = n.id)")"
snapshot >"$LOGS/after.txt"
diff "$LOGS/before.txt" "$LOGS/after.txt" >/dev/null || fail "rows of the first run changed: $(diff "$LOGS/before.txt" "$LOGS/after.txt")"
ok "no row of the first run changed"
# the redrive read exactly the outstanding rejects (and the few rows between them), and rejected again the rest
assert_eq "redrive: rejected again = outstanding before - placed now" \
  "$(tq "SELECT count(*) FROM mdw.rejects j WHERE run_id = 1 AND NOT EXISTS (SELECT 1 FROM patients x WHERE j.phase = 'patients'
    AND x.legacy_id = j.legacy_id) AND NOT EXISTS (SELECT 1 FROM cases x WHERE j.phase = 'cases' AND x.legacy_project_id = j.legacy_id)
    AND NOT EXISTS (SELECT 1 FROM projects x WHERE j.phase = 'projects' AND x.legacy_id = j.legacy_id)
    AND NOT EXISTS (SELECT 1 FROM case_states x WHERE j.phase = 'case_states' AND x.legacy_id = j.legacy_id)
    AND NOT EXISTS (SELECT 1 FROM mdw.merges m WHERE m.phase = j.phase AND m.legacy_id = j.legacy_id AND m.run_id = $run)")" \
  "$(tq "SELECT count(*) FROM mdw.rejects WHERE run_id = $run")"
read_all=$(tq "SELECT sum(rows_read) FROM mdw.chunks WHERE run_id = $run AND phase <> 'embeddings'")
[ "$read_all" -lt $((outstanding_before * 3)) ] || fail "the redrive read $read_all rows for $outstanding_before rejects"
ok "the redrive read $read_all legacy rows for $outstanding_before outstanding rejects"
"$BUILD/mdwctl" rejects --run "$run" >"$LOGS/rejects-redrive.txt"
grep -q 'orphan_doctor' "$LOGS/rejects-redrive.txt" || fail "mdwctl rejects --run $run: $(cat "$LOGS/rejects-redrive.txt")"

migrate again --redrive
run2=$(tq "SELECT max(id) FROM mdw.runs")
assert_eq "second redrive inserts" 0 "$(tq "SELECT coalesce(sum(rows_inserted), 0) FROM mdw.chunks WHERE run_id = $run2")"
finish
