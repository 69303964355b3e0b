#!/usr/bin/env bash
# Issue 15 item 12: the session settings the code relies on are pinned at
# connect, whatever the databases' defaults. The legacy database is LATIN1
# (C collation) with accented names; both databases default to DateStyle
# 'SQL, DMY', IntervalStyle sql_standard and another time zone. Birth dates
# (compared as ISO text by the patients transform) survive exactly, and the
# names arrive in the UTF8 target as the same characters.
REDIS_DB=11
source "$(dirname "$0")/lib.sh" "$1" session_settings
sq() { psql -X -q -d postgres -c "SET client_min_messages = warning" -c "$1" >/dev/null; }
SCRATCH="${LEGACY_DB}_utf8"
for db in "$LEGACY_DB" "$TARGET_DB" "$SCRATCH"; do sq "DROP DATABASE IF EXISTS $db WITH (FORCE)"; done
sq "CREATE DATABASE $LEGACY_DB ENCODING 'LATIN1' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'"
sq "CREATE DATABASE $TARGET_DB"
sq "CREATE DATABASE $SCRATCH"
# the demo data (generated in UTF8; its few characters outside LATIN1 transliterated) into the LATIN1 database
MDW_SOURCE_DSN="host=127.0.0.1 port=$MDW_PG_PORT dbname=$SCRATCH user=postgres" "$BUILD/mdwctl" legacy-demo --scale 1 >"$LOGS/demo.log"
psql -X -q -d "$SCRATCH" -c "DELETE FROM dispatch_patient WHERE id % 10 <> 0" >/dev/null
pg_dump --no-owner -d "$SCRATCH" | sed "s/^SET client_encoding = 'UTF8';/SET client_encoding = 'LATIN1';/" |
  iconv -f UTF-8 -t LATIN1//TRANSLIT | psql -X -q -v ON_ERROR_STOP=1 -d "$LEGACY_DB" >"$LOGS/restore.log" 2>&1 ||
  fail "cannot load the LATIN1 legacy database: $(tail -3 "$LOGS/restore.log")"
sq "DROP DATABASE $SCRATCH WITH (FORCE)"
for db in "$LEGACY_DB" "$TARGET_DB"; do
  sq "ALTER DATABASE $db SET DateStyle = 'SQL, DMY'"
  sq "ALTER DATABASE $db SET IntervalStyle = 'sql_standard'"
  sq "ALTER DATABASE $db SET TimeZone = 'Pacific/Chatham'"
done
rcli FLUSHDB >/dev/null
# psql here speaks UTF-8; the programs get no PGCLIENTENCODING (they must ask for UTF8 themselves)
lq() { PGCLIENTENCODING=UTF8 psql -X -q -t -A -d "$LEGACY_DB" -c "$1"; }
tq() { PGCLIENTENCODING=UTF8 psql -X -q -t -A -d "$TARGET_DB" -c "$1"; }
unset PGCLIENTENCODING
assert_eq "legacy encoding" LATIN1 "$(lq "SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()")"
# accented names (all in LATIN1) on patients that migrate: no practice, no doctor, a known status
NAMES=("José" "Müller-Ñúñez" "Frédérique" "Ågren Øster" "Þórunn ßæ")
ids=$(lq "SELECT string_agg(id::text, ' ') FROM (SELECT id FROM dispatch_patient p WHERE status BETWEEN 0 AND 4
  AND (office_id IS NULL OR office_id IN (SELECT id FROM dispatch_office))
  AND (doctor_id IS NULL OR doctor_id IN (SELECT id FROM auth_user WHERE email LIKE '%_@_%.__%')) ORDER BY id LIMIT 5) s")
set -- $ids
[ $# -eq 5 ] || fail "not 5 patients to rename: $ids"
for i in 0 1 2 3 4; do
  lq "UPDATE dispatch_patient SET first_name = \$n\$${NAMES[$i]}\$n\$, last_name = \$n\$${NAMES[$i]}\$n\$ WHERE id = $1" >/dev/null
  shift
done
export MDW_POLL_MS=100
start_worker s1 --exit-when-done >/dev/null
start_worker s2 --exit-when-done >/dev/null
timeout 90 "$BUILD/mdw-coordinator" --new-run --phases practices,profiles,patients 2>"$LOGS/coordinator.log" && rc=0 || rc=$?
assert_eq "coordinator exit code" 0 "$rc"

# birth dates: each migrated patient's is the legacy one where the transform keeps it
# (1900-01-01 up to the creation day), else NULL; under the old settings every one was NULL
iso() { PGCLIENTENCODING=UTF8 PGOPTIONS="-c DateStyle=ISO -c TimeZone=UTC" psql -X -q -t -A -d "$1" -c "$2"; }
iso "$LEGACY_DB" "SELECT id || ' ' || coalesce(CASE WHEN birthdate >= '1900-01-01'
  AND birthdate <= (created_at AT TIME ZONE 'UTC')::date THEN birthdate::text END, 'NULL')
  FROM dispatch_patient ORDER BY id::text" >"$LOGS/legacy-births.txt"
iso "$TARGET_DB" "SELECT legacy_id || ' ' || coalesce(birthdate::text, 'NULL') FROM patients ORDER BY legacy_id::text" \
  >"$LOGS/target-births.txt"
join "$LOGS/target-births.txt" "$LOGS/legacy-births.txt" >"$LOGS/joined.txt"
assert_eq "patients compared" "$(wc -l <"$LOGS/target-births.txt")" "$(wc -l <"$LOGS/joined.txt")"
assert_eq "birth dates that differ" 0 "$(awk '$2 != $3' "$LOGS/joined.txt" | wc -l)"
kept=$(awk '$2 != "NULL"' "$LOGS/joined.txt" | wc -l)
[ "$kept" -gt 100 ] || fail "only $kept birth dates migrated"
ok "$kept birth dates exact under DateStyle 'SQL, DMY' ($(wc -l <"$LOGS/joined.txt") patients)"

# names: the same characters in the UTF8 target (compared as UTF-8 bytes)
set -- $ids
compared=0
for i in 0 1 2 3 4; do
  got=$(tq "SELECT encode(convert_to(first_name || '|' || last_name, 'UTF8'), 'hex') FROM patients WHERE legacy_id = $1")
  if [ -n "$got" ] || [ "$(tq "SELECT count(*) FROM mdw.rejects WHERE phase = 'patients' AND legacy_id = $1")" = 0 ]; then
    assert_eq "patient $1's name" "$(printf '%s|%s' "${NAMES[$i]}" "${NAMES[$i]}" | od -An -tx1 | tr -d ' \n')" "$got"
    compared=$((compared + 1))
  fi
  shift
done
[ "$compared" -ge 4 ] || fail "only $compared renamed patients migrated"
assert_eq "rejects" 0 "$(tq "SELECT count(*) FROM mdw.rejects WHERE reason = 'db_error'")"
"$BUILD/mdwctl" validate >"$LOGS/validate.txt" || fail "validate: $(cat "$LOGS/validate.txt")"
ok "the run validates"
for db in "$LEGACY_DB" "$TARGET_DB"; do sq "DROP DATABASE IF EXISTS $db WITH (FORCE)"; done
finish
