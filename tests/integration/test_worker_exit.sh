#!/usr/bin/env bash
# --exit-when-done (issue 20): idle workers learn of the end of their run
# from the coordinator, not from their next poll. With MDW_POLL_MS=5000 an
# idle worker blocks 5 s on mdw:wake between looks at the run; the
# coordinator wakes every worker of the run when it finishes it (complete or
# failed), so each exits at once: here within 2.5 s of the coordinator's
# exit (a poll would take up to 5 s; on a quiet machine it is a few ms).
# Both ends: a complete run, and a run that fails (a dead chunk).
REDIS_DB=13 # lib.sh: its own Redis db
source "$(dirname "$0")/lib.sh" "$1" worker_exit
fresh_dbs
"$BUILD/mdwctl" legacy-demo --scale 1 >"$LOGS/demo.log"
export MDW_POLL_MS=5000

now_ms() { date +%s%3N; }
# whether process P still runs (a zombie has exited: only its parent has not reaped it yet)
running() { [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
# Start workers W1 W2, run the coordinator with ARGS, and check that each
# worker exits within 2.5 s of the coordinator's exit; prints the coordinator's exit code.
run_and_time_exit() { # label coordinator-args...
  local label=$1 rc t_end p pids=() left
  shift
  for i in 1 2; do pids+=("$(start_worker "$label$i" --exit-when-done)"); done
  "$BUILD/mdw-coordinator" --new-run "$@" 2>"$LOGS/coordinator-$label.log" && rc=0 || rc=$?
  t_end=$(now_ms)
  for p in "${pids[@]}"; do
    while running "$p" && [ $(($(now_ms) - t_end)) -lt 8000 ]; do sleep 0.02; done
    running "$p" && fail "$label: worker $p still runs 8 s after the run ended"
    left=$(($(now_ms) - t_end))
    [ "$left" -lt 2500 ] || fail "$label: worker $p exited $left ms after the coordinator (its poll, not a wake)"
    echo "ok: $label: worker $p exited within $left ms of the coordinator" >&2
  done
  echo "$rc"
}

rc=$(run_and_time_exit done --phases practices,profiles,workflow_templates)
assert_eq "complete run: coordinator exit code" 0 "$rc"
grep -q 'msg="run is over" status=complete' "$LOGS"/worker-done1.log || fail "worker done1 did not see the run complete"

# a run that fails: the workflow_templates chunk dies at its first attempt (its table is gone)
fresh_target
"$BUILD/mdwctl" schema >/dev/null
tq "DROP TABLE public.workflow_templates" >/dev/null
export MDW_MAX_ATTEMPTS=1 MDW_LEASE_MS=1000 # retried once its lease expires, then dead
rc=$(run_and_time_exit failed --phases practices,workflow_templates)
assert_eq "failed run: coordinator exit code" 1 "$rc"
grep -q 'msg="run is over" status=failed' "$LOGS"/worker-failed1.log || fail "worker failed1 did not see the run fail"
finish
