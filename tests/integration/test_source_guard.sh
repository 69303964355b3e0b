#!/usr/bin/env bash
# The fleet-wide guard of the legacy database (issue 19):
#  1. MDW_SOURCE_MAX_CONNECTIONS=2 with 4 workers: pg_stat_activity on the
#     legacy database never shows more than 2 of the workers' sessions in a
#     read (state <> 'idle', application_name mdw-worker*; their connections
#     stay open idle between reads, and idle sessions are not limited). The
#     legacy table is locked while all 4 workers hold a chunk, so that every
#     read that got in stays visible (blocked); the samples cover the run.
#  2. MDW_SOURCE_ROWS_PER_S=3000: the rows read over the run (first chunk
#     claimed to last chunk done) stay within 10% of the limit.
source "$(dirname "$0")/lib.sh" "$1" source_guard
fresh_dbs
"$BUILD/mdwctl" legacy-demo --scale 1 >"$LOGS/demo.log"
export MDW_POLL_MS=100 MDW_CHUNK_ROWS=250 MDW_PHASES=profiles

reads() {
  psql -X -q -t -A -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$LEGACY_DB'
    AND application_name LIKE 'mdw-worker%' AND state <> 'idle'"
}

# 1. connections
"$BUILD/mdw-coordinator" --new-run 2>"$LOGS/coord1.log" &
COORD=$!
PIDS+=($COORD)
wait_for 20 "the phase planned" '[ "$(tq "SELECT count(*) FROM mdw.chunks WHERE phase = '"'profiles'"'")" -gt 8 ]'
RUN=$(tq "SELECT max(id) FROM mdw.runs")
psql -X -q -d "$LEGACY_DB" -c "SET application_name = it_locker" -c "BEGIN" \
  -c "LOCK TABLE public.auth_user IN ACCESS EXCLUSIVE MODE" -c "SELECT pg_sleep(120)" >/dev/null 2>&1 &
PIDS+=($!)
wait_for 10 "the lock" '[ "$(psql -X -q -t -A -d postgres -c "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE a.application_name = '"'it_locker'"' AND l.mode = '"'AccessExclusiveLock'"' AND l.granted")" -ge 1 ]'
G=()
for i in 1 2 3 4; do
  G+=($(start_worker "g$i" --exit-when-done --source-max-connections 2))
done
# sample from the moment all 4 are connected: a connection's own set-up
# queries (the session settings check) are no read, and are not limited
wait_for 20 "4 worker sessions on the legacy database" '[ "$(psql -X -q -t -A -d postgres -c "SELECT count(*)
  FROM pg_stat_activity WHERE datname = '"'$LEGACY_DB'"' AND application_name LIKE '"'mdw-worker%'"'")" = 4 ]'
sleep 0.2
(while :; do reads; sleep 0.05; done) >"$LOGS/samples" 2>/dev/null &
SAMPLER=$!
PIDS+=($SAMPLER)
wait_for 20 "4 chunks in the workers' hands" \
  '[ "$(rcli XPENDING "mdw:{$RUN}:q:profiles" workers | head -1)" = 4 ] && [ "$(reads)" -ge 2 ]'
sleep 1 # the two workers without a slot have time to pile in, if nothing stops them
during=$(reads)
psql -X -q -t -A -d postgres -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'it_locker'" >/dev/null
wait "$COORD" && rc=0 || rc=$?
wait_for 20 "the workers' exit" '! ps -p "$(IFS=,; echo "${G[*]}")"'
kill "$SAMPLER" 2>/dev/null || true
assert_eq "run with 2 source slots: exit code" 0 "$rc"
assert_eq "source reads while the table was locked" 2 "$during"
max=$(sort -n "$LOGS/samples" | tail -1)
[ "$max" -le 2 ] || fail "pg_stat_activity showed $max source reads at once (limit 2)"
ok "at most $max source reads at once over $(wc -l <"$LOGS/samples") samples (limit 2)"
assert_eq "no slot left behind" 0 "$(rcli ZCARD mdw:source:slots)"

# 2. rows per second
fresh_target
for i in 1 2 3 4; do
  start_worker "r$i" --exit-when-done --source-rows-per-s 3000 >/dev/null
done
"$BUILD/mdw-coordinator" --new-run 2>"$LOGS/coord2.log" || fail "run with a row rate failed"
start=$(tq "SELECT extract(epoch FROM min(started_at)) FROM mdw.chunks")
rows=$(tq "SELECT sum(rows_read) FROM mdw.chunks")
/usr/bin/python3 - "$LOGS" "$start" "$rows" 3000 <<'PY'
import datetime, glob, re, sys
logs, start, rows, limit = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), 3000
end = 0.0
for f in glob.glob(f"{logs}/worker-r*.log"):
    for line in open(f):
        if 'msg="chunk done"' in line:
            ts = re.search(r"ts=(\S+)Z", line).group(1)
            end = max(end, datetime.datetime.fromisoformat(ts).replace(tzinfo=datetime.timezone.utc).timestamp())
assert end > start, "no chunk done in the workers' logs"
rate = rows / (end - start)
print(f"ok: {rows} rows read in {end - start:.2f} s: {rate:.0f} rows/s (limit {limit})")
assert rate <= limit * 1.10, f"the source row rate {rate:.0f} rows/s exceeds the limit {limit} by more than 10%"
PY
finish
