#!/usr/bin/env bash
# One unloadable value rejects one row, not its chunk (issue 15 item 16,
# the staging COPY): a SQL_ASCII legacy database holds two offices whose
# city has a byte that is not UTF-8 (0xFF), which the UTF-8 target's staging
# COPY refuses. The COPY is bisected down to the row: each is rejected with
# reason db_error and the server's message, every other office of their
# chunks arrives, the run completes.
source "$(dirname "$0")/lib.sh" "$1" stage_bisect
fresh_dbs
psql -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $LEGACY_DB WITH (FORCE)" \
  -c "CREATE DATABASE $LEGACY_DB ENCODING SQL_ASCII LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0" >/dev/null
"$BUILD/mdwctl" legacy-demo --scale 1 >"$LOGS/demo.log"
"$BUILD/mdwctl" schema >/dev/null
BAD="$(lq "SELECT string_agg(id::text, ',' ORDER BY id) FROM (SELECT id FROM dispatch_office
  WHERE btrim(coalesce(name, '')) <> '' ORDER BY id OFFSET 100 LIMIT 2) o")"
lq "UPDATE dispatch_office SET city = 'Ber' || chr(255) || 'n' WHERE id IN ($BAD)" >/dev/null
ok "offices $BAD hold a byte that is not UTF-8"
export MDW_POLL_MS=100 MDW_CHUNK_ROWS=200 MDW_MAX_ATTEMPTS=2

start_worker w1 --exit-when-done >/dev/null
"$BUILD/mdw-coordinator" --new-run --phases practices 2>"$LOGS/coordinator.log" && rc=0 || rc=$?
assert_eq "coordinator exit code" 0 "$rc"
assert_eq "dead chunks" 0 "$(tq "SELECT count(*) FROM mdw.chunks WHERE status <> 'done'")"
assert_eq "db_error rejects" "$BAD" "$(tq "SELECT string_agg(legacy_id::text, ',' ORDER BY legacy_id) FROM mdw.rejects
  WHERE reason = 'db_error' AND detail LIKE '22021: invalid byte sequence for encoding \"UTF8\"%'")"
assert_eq "rows read" "$(lq "SELECT count(*) FROM dispatch_office")" "$(tq "SELECT sum(rows_read) FROM mdw.chunks")"
assert_eq "practices + rejects" "$(lq "SELECT count(*) FROM dispatch_office")" \
  "$(tq "SELECT (SELECT count(*) FROM practices) + (SELECT count(*) FROM mdw.rejects)")"
assert_eq "rejects counted" "$(tq "SELECT count(*) FROM mdw.rejects")" "$(tq "SELECT sum(rows_rejected) FROM mdw.chunks")"
"$BUILD/mdwctl" validate >"$LOGS/validate.txt" || fail "mdwctl validate: $(cat "$LOGS/validate.txt")"
ok "mdwctl validate passes"
finish
