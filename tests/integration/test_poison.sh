#!/usr/bin/env bash
# Poison and hostile messages: every malformed body pushed into a phase
# stream during a run is dead-lettered with its reason; the worker keeps
# going and the run finishes with exact counts. Also: no patient data in any
# log, at debug level (names, emails, birth dates, note fragments).
source "$(dirname "$0")/lib.sh" "$1" poison
fresh_dbs
"$BUILD/mdwctl" legacy-demo --scale 1 >"$LOGS/demo.log"
export MDW_POLL_MS=100 MDW_LOG_LEVEL=debug
mkdir -p "$LOGS/bodies"
n=$(/usr/bin/python3 "$ROOT/tests/integration/poison_bodies.py" "$LOGS/bodies" 1)

# the bodies wait in the patients stream before the run (the group is created from id 0)
for f in "$LOGS"/bodies/*; do
  rcli -x XADD 'mdw:{1}:q:patients' '*' desc "poison $(basename "$f")" body <"$f" >/dev/null
done
start_worker w1 --exit-when-done >/dev/null
"$BUILD/mdw-coordinator" --new-run --phases practices,profiles,patients 2>"$LOGS/coordinator.log" && rc=0 || rc=$?
assert_eq "coordinator exit code" 0 "$rc"
assert_eq "dead letters" "$n" "$(rcli XLEN 'mdw:{1}:dead')"
assert_eq "poison messages listed by mdwctl dead" "$n" "$("$BUILD/mdwctl" dead | grep -c 'desc="poison ')"
rcli --raw XRANGE 'mdw:{1}:dead' - + >"$LOGS/dead.txt"
for want in "truncated msgpack" "not msgpack" "not a msgpack map" "version 9" "run is not an integer" \
  "lo is not an integer" "out of the bigint range" "chunk -5" "no known phase" "chunk of run 1001" \
  "lo 100 > hi 1" "body is 0 bytes"; do
  grep -q "$want" "$LOGS/dead.txt" || fail "no dead letter says \"$want\""
done
ok "each hostile body dead-lettered with its reason"
assert_eq "patients migrated" "$(tq "SELECT sum(rows_read - rows_rejected) FROM mdw.chunks WHERE phase = 'patients'")" \
  "$(tq "SELECT count(*) FROM patients")"
"$BUILD/mdwctl" validate >"$LOGS/validate.txt" || fail "validate: $(cat "$LOGS/validate.txt")"
ok "the run finished and validates"

# no patient data in the logs (debug level), only ids and counts
lq "SELECT first_name || ' ' || last_name FROM dispatch_patient WHERE length(first_name) > 2 LIMIT 300" >"$LOGS/phi.txt"
lq "SELECT btrim(email) FROM auth_user WHERE btrim(email) LIKE '%@%.%' LIMIT 300" >>"$LOGS/phi.txt"
lq "SELECT DISTINCT birthdate::text FROM dispatch_patient WHERE birthdate IS NOT NULL LIMIT 300" >>"$LOGS/phi.txt"
lq "SELECT DISTINCT left(notes, 24) FROM dispatch_project WHERE length(notes) > 24 LIMIT 300" >>"$LOGS/phi.txt"
sed -i "/^ *$/d" "$LOGS/phi.txt"
[ "$(wc -l <"$LOGS/phi.txt")" -gt 500 ] || fail "too few PHI samples"
cat "$LOGS"/*.log >"$LOGS/all-logs.txt"
[ "$(grep -c 'level=debug' "$LOGS/all-logs.txt")" -ge 3 ] || fail "the logs are not at debug level"
if grep -F -f "$LOGS/phi.txt" "$LOGS/all-logs.txt" >"$LOGS/phi-hits.txt"; then
  fail "patient data in the logs: $(head -3 "$LOGS/phi-hits.txt")"
fi
ok "no name, email, birth date or note fragment in $(wc -l <"$LOGS/all-logs.txt") log lines"
finish
