#!/usr/bin/env bash
# The demo generator at scale 1: the spec's exact counts, every dirt kind present, deterministic.
source "$(dirname "$0")/lib.sh" "$1" legacy_demo
fresh_dbs
"$BUILD/mdwctl" legacy-demo --scale 1 --seed 42 >"$LOGS/demo.log"
assert_eq auth_user 9101 "$(lq 'SELECT count(*) FROM auth_user')"
assert_eq dispatch_office 844 "$(lq 'SELECT count(*) FROM dispatch_office')"
assert_eq dispatch_patient 7849 "$(lq 'SELECT count(*) FROM dispatch_patient')"
assert_eq dispatch_project 66904 "$(lq 'SELECT count(*) FROM dispatch_project')"
assert_eq dispatch_office_doctors 438 "$(lq 'SELECT count(*) FROM dispatch_office_doctors')"
assert_eq dispatch_state 4751 "$(lq 'SELECT count(*) FROM dispatch_state')"
assert_eq dispatch_template 152 "$(lq 'SELECT count(*) FROM dispatch_template')"

# every dirt kind of the generator is present
psql -X -q -t -A -F' ' -d "$LEGACY_DB" -f "$ROOT/sql/legacy/dirt_summary.sql" >"$LOGS/dirt.txt"
kinds=$(wc -l <"$LOGS/dirt.txt")
[ "$kinds" -ge 15 ] || fail "dirt summary lists only $kinds kinds"
while read -r kind table n; do
  [ "$n" -gt 0 ] || fail "dirt kind $kind ($table) is absent"
done <"$LOGS/dirt.txt"
ok "$kinds dirt kinds present"

# the legacy schema is exactly the spec's columns (no extra columns)
cols=$(lq "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public'")
assert_eq "legacy columns" 61 "$cols"

# deterministic: the same seed gives the same data
h1=$(lq "SELECT md5(string_agg(md5(t::text), '' ORDER BY id)) FROM dispatch_project t")
"$BUILD/mdwctl" legacy-demo --scale 1 --seed 42 >/dev/null
h2=$(lq "SELECT md5(string_agg(md5(t::text), '' ORDER BY id)) FROM dispatch_project t")
assert_eq "same seed, same data" "$h1" "$h2"
finish
