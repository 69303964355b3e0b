#!/usr/bin/env bash
# Big rows (issue 15 item 6): 150 legacy projects with 2.5 MB of notes each,
# all in one cases chunk (375 MB; the old code built it in one buffer and
# sent it as one COPY message, whose int length wrapped past 2 GiB and lost
# every row silently). With MDW_CHUNK_MAX_BYTES=8 MiB the worker reads the
# source range through a cursor in parts and COPYs in bounded pieces: its
# peak memory stays far below the chunk's size, and every note arrives
# byte for byte.
source "$(dirname "$0")/lib.sh" "$1" big_rows
fresh_dbs
"$BUILD/mdwctl" legacy-demo --scale 1 >"$LOGS/demo.log"
"$BUILD/mdwctl" schema >/dev/null
lq "DELETE FROM dispatch_state" >/dev/null
lq "DELETE FROM dispatch_project WHERE id NOT IN (SELECT id FROM dispatch_project ORDER BY id LIMIT 150)" >/dev/null
lq "UPDATE dispatch_project SET notes = id || ':' || (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 78125) g)" >/dev/null
BYTES=$(lq "SELECT sum(length(notes)) FROM dispatch_project")
ok "150 legacy projects, $((BYTES / 1048576)) MiB of notes"
export MDW_POLL_MS=100 MDW_CHUNK_ROWS=100000 MDW_CHUNK_MAX_BYTES=8388608

W=$(start_worker w1)
"$BUILD/mdw-coordinator" --new-run --phases practices,profiles,patients,cases 2>"$LOGS/coordinator.log" && rc=0 || rc=$?
assert_eq "coordinator exit code" 0 "$rc"
HWM_KB=$(awk '/^VmHWM:/ {print $2}' "/proc/$W/status")
kill "$W"
ok "worker peak memory: $((HWM_KB / 1024)) MiB"
[ "$HWM_KB" -lt $((160 * 1024)) ] || fail "the worker peaked at $((HWM_KB / 1024)) MiB for a $((BYTES / 1048576)) MiB chunk"
assert_eq "cases chunks" 1 "$(tq "SELECT count(*) FROM mdw.chunks WHERE phase = 'cases'")"
assert_eq "cases rows read" 150 "$(tq "SELECT rows_read FROM mdw.chunks WHERE phase = 'cases'")"
assert_eq "cases inserted" "$(tq "SELECT rows_inserted FROM mdw.chunks WHERE phase = 'cases'")" "$(tq "SELECT count(*) FROM cases")"
[ "$(tq "SELECT count(*) FROM cases")" -gt 100 ] || fail "too few cases migrated"
tq "SELECT legacy_project_id || ' ' || md5(clinical_notes) FROM cases ORDER BY 1" >"$LOGS/target.txt"
lq "SELECT id || ' ' || md5(notes) FROM dispatch_project ORDER BY 1" >"$LOGS/legacy.txt"
assert_eq "notes that differ from the legacy's" 0 "$(comm -23 "$LOGS/target.txt" "$LOGS/legacy.txt" | wc -l)"
"$BUILD/mdwctl" validate >"$LOGS/validate.txt" || fail "mdwctl validate: $(cat "$LOGS/validate.txt")"
ok "mdwctl validate passes"
finish
