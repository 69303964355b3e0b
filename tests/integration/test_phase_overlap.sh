#!/usr/bin/env bash
# Phases overlap their needs' validation (issue 20), and the gate holds: a
# phase starts once every chunk of its needs is done (their validation runs
# meanwhile), is validated only once they are complete, and stops when one
# fails. Here a trigger adds a stray case row to each cases insert, so the
# cases validation fails (the target holds more rows than were counted):
# projects and case_states were planned before that failure, then stopped:
# their chunks not done yet are dead naming cases, no projects chunk is done
# after the failure, neither phase completes, the run fails.
REDIS_DB=13 # lib.sh: its own Redis db
source "$(dirname "$0")/lib.sh" "$1" phase_overlap
fresh_dbs
"$BUILD/mdwctl" legacy-demo --scale 1 >"$LOGS/demo.log"
export MDW_POLL_MS=100
"$BUILD/mdwctl" schema >/dev/null
tq "CREATE SEQUENCE stray_seq;
  CREATE FUNCTION stray() RETURNS trigger LANGUAGE plpgsql AS \$\$BEGIN
    IF pg_trigger_depth() = 1 THEN
      INSERT INTO cases (legacy_project_id, case_number, case_type, status, title)
      SELECT -n, 'STRAY-' || n, 'refinement', 'draft', 'stray' FROM nextval('stray_seq') n;
    END IF;
    RETURN NULL;
  END\$\$;
  CREATE TRIGGER stray AFTER INSERT ON cases FOR EACH STATEMENT EXECUTE FUNCTION stray();
  ALTER TABLE cases ENABLE ALWAYS TRIGGER stray" >/dev/null

start_worker w1 --exit-when-done >/dev/null
"$BUILD/mdw-coordinator" --new-run --phases practices,profiles,patients,cases,projects,case_states \
  2>"$LOGS/coordinator.log" && rc=0 || rc=$?
assert_eq "coordinator exit code" 1 "$rc"
grep -q 'phase=cases msg="phase failed validation"' "$LOGS/coordinator.log" || fail "the cases validation did not fail"
# the overlap: projects was planned before the cases validation ended
planned=$(grep -n 'phase=projects msg="phase planned"' "$LOGS/coordinator.log" | cut -d: -f1)
failed=$(grep -n 'phase=cases msg="phase failed validation"' "$LOGS/coordinator.log" | cut -d: -f1)
[ -n "$planned" ] && [ "$planned" -lt "$failed" ] || fail "projects was not planned while cases was validated"
ok "projects planned (log line $planned) before the cases validation failed (line $failed)"
# the gate
for ph in projects case_states; do
  assert_eq "$ph state" "failed" "$(tq "SELECT status FROM mdw.run_phases WHERE run_id = 1 AND phase = '$ph'")"
  assert_eq "$ph chunks neither done nor dead naming cases" 0 "$(tq "SELECT count(*) FROM mdw.chunks WHERE run_id = 1
    AND phase = '$ph' AND status <> 'done' AND NOT (status = 'dead' AND last_error = 'needs cases, which failed')")"
done
dead=$(tq "SELECT count(*) FROM mdw.chunks WHERE run_id = 1 AND phase = 'projects' AND status = 'dead'")
[ "$dead" -ge 1 ] || fail "no projects chunk was stopped (the worker did them all before the validation ended)"
ok "$dead projects chunks stopped"
# a chunk that a worker had in hand when the phase stopped may finish: at most one (one worker) ends after it
assert_eq "projects chunks done after the stop (beyond the one in hand)" 0 "$(tq "SELECT greatest(count(*) - 1, 0)
  FROM mdw.chunks c WHERE run_id = 1 AND phase = 'projects' AND status = 'done' AND finished_at >
  (SELECT min(finished_at) FROM mdw.chunks WHERE run_id = 1 AND phase = 'projects' AND status = 'dead')")"
assert_eq "projects rows = the done chunks' inserts" "$(tq "SELECT coalesce(sum(rows_inserted), 0) FROM mdw.chunks
  WHERE run_id = 1 AND phase = 'projects' AND status = 'done'")" "$(tq "SELECT count(*) FROM projects")"
grep -q 'run cannot finish' "$LOGS/coordinator.log" || fail "the run did not end failed"
finish
