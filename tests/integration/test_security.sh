#!/usr/bin/env bash
# Security (issue: patient data): 1. the workers run a whole migration with
# only the privileges of sql/roles.sql; 2. hostile legacy text (quotes,
# backslashes, SQL, COPY's special characters) arrives byte for byte; 3. Redis
# with a password and an ACL user limited to mdw:* keys and the commands the
# tools use; 4. Postgres over TLS with sslmode=verify-full against a test CA
# made here, and a wrong CA refused.
REDIS_DB=7
source "$(dirname "$0")/lib.sh" "$1" security
fresh_dbs
"$BUILD/mdwctl" legacy-demo --scale 1 >"$LOGS/demo.log"
keep_legacy 4 # the projects with states and 1 in 4 of the others: the volume only costs time here
"$BUILD/mdwctl" schema >/dev/null
export MDW_POLL_MS=100

# 2. hostile text in the legacy rows, checked byte for byte after the run
HOSTILE=$'O\'Brien "quoted" back\\slash tab\there new\nline cr\r end; \\. \'); DROP TABLE patients; -- \xf0\x9f\xa6\xb7 e\xcc\x81'
lq "UPDATE dispatch_office SET name = \$h\$$HOSTILE\$h\$ WHERE id = (SELECT min(id) FROM dispatch_office)" >/dev/null
lq "UPDATE dispatch_patient SET last_name = \$h\$$HOSTILE\$h\$ WHERE id = (SELECT min(id) FROM dispatch_patient
    WHERE status BETWEEN 0 AND 4 AND doctor_id IS NULL AND office_id IS NULL)" >/dev/null
lq "UPDATE dispatch_project SET notes = \$h\$$HOSTILE\$h\$ WHERE id IN (SELECT id FROM dispatch_project
    WHERE patient_id IS NULL AND type BETWEEN 0 AND 5 ORDER BY id LIMIT 1)" >/dev/null

# 1. least-privilege roles: the workers connect as mdw_worker
psql -X -q -v legacy_db="$LEGACY_DB" -v target_db="$TARGET_DB" -d postgres -f "$ROOT/sql/roles.sql" >/dev/null
WORKER_ENV=(MDW_SOURCE_DSN="host=127.0.0.1 port=$MDW_PG_PORT dbname=$LEGACY_DB user=mdw_worker"
  MDW_TARGET_DSN="host=127.0.0.1 port=$MDW_PG_PORT dbname=$TARGET_DB user=mdw_worker")
for w in 1 2; do
  env "${WORKER_ENV[@]}" "$BUILD/mdw-worker" --worker-id "least$w" --exit-when-done >/dev/null 2>>"$LOGS/worker-least$w.log" &
  echo $! >>"$LOGS/pids"
done
"$BUILD/mdw-coordinator" --new-run 2>"$LOGS/coordinator.log" && rc=0 || rc=$?
assert_eq "all 9 phases with mdw_worker's privileges only" 0 "$rc"
MDW_TARGET_DSN="host=127.0.0.1 port=$MDW_PG_PORT dbname=$TARGET_DB user=mdw_readonly" "$BUILD/mdwctl" validate \
  >"$LOGS/validate.txt" || fail "validate as mdw_readonly: $(cat "$LOGS/validate.txt")"
ok "mdwctl validate runs as mdw_readonly"
# and mdw_worker really is limited
if psql -X -q -d "$TARGET_DB" -U mdw_worker -c "DELETE FROM patients" >/dev/null 2>&1; then
  fail "mdw_worker may delete patients"
fi
if psql -X -q -d "$LEGACY_DB" -U mdw_worker -c "UPDATE auth_user SET email = ''" >/dev/null 2>&1; then
  fail "mdw_worker may write the legacy database"
fi
ok "mdw_worker can neither delete target rows nor write the legacy database"
# a catch-up with the same privileges: one patient changed in the legacy
# database is updated in place (and its row hash recorded), one changed on
# both sides becomes a conflict (the worker marks its listed row)
read -r pa pb <<<"$(tq "SELECT string_agg(legacy_id::text, ' ' ORDER BY legacy_id) FROM (SELECT legacy_id FROM patients
  WHERE mdw_run_id = 1 AND last_name NOT LIKE 'O''Brien%' ORDER BY legacy_id LIMIT 2) x")"
lq "UPDATE dispatch_patient SET last_name = 'Caught up' WHERE id IN ($pa, $pb)" >/dev/null
tq "UPDATE patients SET first_name = 'Changed by the app' WHERE legacy_id = $pb" >/dev/null
for w in 1 2; do
  env "${WORKER_ENV[@]}" "$BUILD/mdw-worker" --worker-id "leastcu$w" --exit-when-done >/dev/null 2>>"$LOGS/worker-least$w.log" &
  echo $! >>"$LOGS/pids"
done
"$BUILD/mdw-coordinator" --new-run --catch-up --phases patients 2>"$LOGS/coordinator-catchup.log" && rc=0 || rc=$?
assert_eq "a catch-up with mdw_worker's privileges only" 0 "$rc"
assert_eq "catch-up as mdw_worker: the update in place with its row hash, the conflict" \
  "Caught up 1 $pb conflict" \
  "$(tq "SELECT (SELECT last_name FROM patients WHERE legacy_id = $pa) || ' ' || (SELECT count(*) FROM mdw.row_hashes h
     JOIN mdw.runs r ON r.id = h.run_id WHERE h.phase = 'patients' AND h.legacy_id = $pa AND r.id = (SELECT max(id) FROM mdw.runs))
     || ' ' || (SELECT string_agg(legacy_id || ' ' || action, ',') FROM mdw.catchup_rows WHERE action = 'conflict')")"
# roles.sql grants SET on session_replication_role: loads skip the per-row FK
# triggers (validation checks the keys); without the grant a worker falls
# back to per-row checks and says so
grep 'foreign keys checked row by row' "$LOGS"/worker-least*.log >/dev/null && fail "roles.sql's grant did not suffice"
psql -X -q -d postgres -c "REVOKE SET ON PARAMETER session_replication_role FROM mdw_worker" >/dev/null
env "${WORKER_ENV[@]}" "$BUILD/mdw-worker" --worker-id nogrant >/dev/null 2>>"$LOGS/worker-nogrant.log" &
nogrant=$!
echo $nogrant >>"$LOGS/pids"
wait_for 20 "the no-grant worker's fallback warning" "grep 'foreign keys checked row by row' '$LOGS/worker-nogrant.log'"
kill "$nogrant"
wait "$nogrant" 2>/dev/null || true
psql -X -q -d postgres -c "GRANT SET ON PARAMETER session_replication_role TO mdw_worker" >/dev/null
ok "without SET on session_replication_role a worker checks FKs row by row, and says so"

want=$(printf '%s' "$HOSTILE" | od -An -tx1 | tr -d ' \n')
for q in "SELECT name FROM practices WHERE legacy_id = (SELECT min(legacy_id) FROM practices)" \
  "SELECT last_name FROM patients WHERE last_name LIKE 'O''Brien%'" \
  "SELECT clinical_notes FROM cases WHERE clinical_notes LIKE 'O''Brien%'"; do
  got=$(psql -X -q -t -A -d "$TARGET_DB" -c "COPY ($q) TO STDOUT WITH (FORMAT binary)" | od -An -tx1 | tr -d ' \n')
  case "$got" in *"$want"*) ok "byte for byte: ${q:0:40}..." ;; *) fail "hostile text changed: $q" ;; esac
done
assert_eq "tables still there" 1 "$(tq "SELECT count(*) FROM pg_tables WHERE tablename = 'patients'")"

# 3. Redis with a password and a restricted ACL user (the line documented in the README)
RPORT=$((MDW_REDIS_PORT + 100))
ACL=$(grep -o 'user mdw on .*' "$ROOT/README.md" | head -1 | sed 's/`$//')
[ -n "$ACL" ] || fail "the README documents no ACL line"
printf '%s\n' "${ACL/>CHANGE-ME/>acl-pass}" >"$LOGS/users.acl"
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes --requirepass admin-pass \
  --aclfile "$LOGS/users.acl" --pidfile "$LOGS/redis.pid" --logfile "$LOGS/redis-acl.log" --dir "$LOGS"
trap 'kill $(cat "$LOGS/redis.pid" 2>/dev/null) 2>/dev/null; cleanup' EXIT
wait_for 10 "redis with ACL" 'redis-cli -p $RPORT --user mdw --pass acl-pass --no-auth-warning ping'
fresh_target
"$BUILD/mdwctl" schema >/dev/null
export MDW_REDIS_URL="redis://mdw:acl-pass@127.0.0.1:$RPORT/0"
start_worker acl --exit-when-done >/dev/null
"$BUILD/mdw-coordinator" --new-run --phases practices,profiles,patients 2>"$LOGS/coordinator-acl.log" && rc=0 || rc=$?
assert_eq "migration through the restricted Redis user" 0 "$rc"
MDW_REDIS_URL="redis://mdw:wrong@127.0.0.1:$RPORT/0" "$BUILD/mdwctl" queue >/dev/null 2>"$LOGS/wrongpass.txt" && fail "wrong Redis password accepted"
grep -q 'refused AUTH for user mdw' "$LOGS/wrongpass.txt" || fail "unclear error: $(cat "$LOGS/wrongpass.txt")"
grep -q 'wrong' "$LOGS/wrongpass.txt" && fail "the password was echoed"
MDW_REDIS_URL="rediss://mdw:x@127.0.0.1:$RPORT/0" "$BUILD/mdwctl" queue 2>"$LOGS/tls.txt" && fail "rediss accepted"
grep -q 'TLS) needs hiredis 1.x' "$LOGS/tls.txt" || fail "unclear rediss error: $(cat "$LOGS/tls.txt")"
ok "Redis: ACL user works, wrong password refused clearly, rediss explained"
redis-cli -p "$RPORT" --user mdw --pass acl-pass --no-auth-warning SET other:key 1 2>&1 | grep NOPERM >/dev/null \
  || fail "the ACL user may write keys outside mdw:*"
ok "the ACL user cannot touch keys outside mdw:*"
export MDW_REDIS_URL="redis://127.0.0.1:$MDW_REDIS_PORT/$REDIS_DB"

# 4. Postgres over TLS, sslmode=verify-full, with a CA made here
T="$LOGS/tls"
mkdir -p "$T"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=mdw test CA" -keyout "$T/ca.key" -out "$T/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$T/server.key" -out "$T/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost\n' >"$T/ext"
openssl x509 -req -in "$T/server.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
  -extfile "$T/ext" -out "$T/server.crt" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=other CA" -keyout "$T/other.key" -out "$T/other.crt" 2>/dev/null
PGD=/var/tmp/mdw-tls-test-$$
rm -rf "$PGD" && mkdir -p "$PGD" && cp "$T/server.crt" "$T/server.key" "$PGD/" && chown -R postgres "$PGD" && chmod 600 "$PGD/server.key"
runuser -u postgres -- /usr/lib/postgresql/15/bin/initdb -D "$PGD/data" -A trust -U postgres >/dev/null
trap 'runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$PGD/data" -m immediate stop >/dev/null 2>&1; rm -rf "$PGD"; kill $(cat "$LOGS/redis.pid" 2>/dev/null) 2>/dev/null; cleanup' EXIT
# the port is in the kernel's ephemeral range: a client connection of an
# earlier test may hold it as its own end ("Address already in use"), then the
# next port is tried
TPORT=$((MDW_PG_PORT + 100))
for try in 1 2 3 4 5; do
  if runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$PGD/data" -l "$PGD/log" -w -o \
    "-p $TPORT -k $PGD -c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file=$PGD/server.crt -c ssl_key_file=$PGD/server.key" \
    start >/dev/null; then
    break
  fi
  grep -q 'Address already in use' "$PGD/log" && [ "$try" -lt 5 ] || fail "the TLS Postgres does not start: $(tail -3 "$PGD/log")"
  TPORT=$((TPORT + 1))
done
MDW_TARGET_DSN="host=localhost hostaddr=127.0.0.1 port=$TPORT dbname=postgres user=postgres sslmode=verify-full sslrootcert=$T/ca.crt" \
  "$BUILD/mdwctl" schema >"$LOGS/tls-ok.txt" 2>&1 || fail "verify-full with the right CA: $(cat "$LOGS/tls-ok.txt")"
assert_eq "the session is encrypted" t "$(psql -X -q -t -A "host=localhost hostaddr=127.0.0.1 port=$TPORT dbname=postgres user=postgres sslmode=verify-full sslrootcert=$T/ca.crt" \
  -c "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")"
if MDW_TARGET_DSN="host=localhost hostaddr=127.0.0.1 port=$TPORT dbname=postgres user=postgres sslmode=verify-full sslrootcert=$T/other.crt" \
  "$BUILD/mdwctl" schema >"$LOGS/tls-bad.txt" 2>&1; then fail "a server signed by another CA was accepted"; fi
grep -q 'certificate verify failed' "$LOGS/tls-bad.txt" || fail "unclear TLS error: $(cat "$LOGS/tls-bad.txt")"
ok "Postgres verify-full: right CA accepted, wrong CA refused"
finish
