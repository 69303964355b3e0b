#!/usr/bin/env bash
# Poison and hostile messages: every malformed body pushed into a phase
# stream during a run is dead-lettered at its first delivery with its own
# reason (poison_bodies.py says which, body by body: the dead letter that
# mdwctl dead lists and the worker's log line both give it), no ledger row is
# marked dead for it; the worker keeps going and the run finishes with exact
# counts. Also: no patient data in any log, at debug level (names, emails,
# birth dates, note fragments).
source "$(dirname "$0")/lib.sh" "$1" poison
fresh_dbs
"$BUILD/mdwctl" legacy-demo --scale 1 >"$LOGS/demo.log"
export MDW_POLL_MS=100 MDW_LOG_LEVEL=debug
mkdir -p "$LOGS/bodies"
# one line per body: its name, a tab, the reason it must be dead-lettered with
/usr/bin/python3 "$ROOT/tests/integration/poison_bodies.py" "$LOGS/bodies" 1 >"$LOGS/reasons.tsv"
n=$(wc -l <"$LOGS/reasons.tsv")
[ "$n" -eq "$(ls "$LOGS/bodies" | wc -l)" ] || fail "poison_bodies.py: $n reasons for $(ls "$LOGS/bodies" | wc -l) bodies"

# the bodies wait in the patients stream before the run (the group is created from id 0)
declare -A entry
while IFS=$'\t' read -r name _; do
  entry[$name]=$(rcli -x XADD 'mdw:{1}:q:patients' '*' desc "poison $name" body <"$LOGS/bodies/$name")
done <"$LOGS/reasons.tsv"
start_worker w1 --exit-when-done >/dev/null
"$BUILD/mdw-coordinator" --new-run --phases practices,profiles,patients 2>"$LOGS/coordinator.log" && rc=0 || rc=$?
assert_eq "coordinator exit code" 0 "$rc"
assert_eq "dead letters" "$n" "$(rcli XLEN 'mdw:{1}:dead')"
"$BUILD/mdwctl" dead >"$LOGS/dead.txt"
assert_eq "poison messages listed by mdwctl dead" "$n" "$(grep -c 'desc="poison ' "$LOGS/dead.txt")"
assert_eq "the ledger's dead chunks" "dead chunks of run 1 (ledger): 0" "$(head -1 "$LOGS/dead.txt")"
assert_eq "ledger rows marked dead" 0 "$(tq "SELECT count(*) FROM mdw.chunks WHERE status = 'dead'")"
while IFS=$'\t' read -r name reason; do
  # the dead letter of this body, and only one
  [ "$(grep -cF "desc=\"poison $name\" " "$LOGS/dead.txt")" = 1 ] || fail "body $name: not one dead letter in mdwctl dead"
  line=$(grep -F "desc=\"poison $name\" " "$LOGS/dead.txt")
  assert_eq "body $name: dead letter" "deliveries=1 error=\"$reason\"" "${line#* desc=\"poison $name\" }"
  # the worker's log names the entry it dead-lettered, with the same reason
  want="entry=${entry[$name]} msg=\"dead-lettered\" reason=\"$reason\" deliveries=1 "
  assert_eq "body $name: worker log" 1 "$(grep -cF "$want" "$LOGS/worker-w1.log")"
done <"$LOGS/reasons.tsv"
ok "each of the $n hostile bodies dead-lettered at once with its own reason"
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
