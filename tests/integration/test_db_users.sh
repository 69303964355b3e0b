#!/usr/bin/env bash
# Issue 14 (fix the cause): the schema a table lands in must not depend on
# who connects. The whole migration (9 phases) runs as a non-superuser named
# `mdw` (the control schema's name: with the default search_path
# "$user", public the unqualified DDL used to land in schema mdw) and as
# `public_user`, who has a schema of its own in both databases (in the legacy
# one it holds empty look-alikes of the legacy tables, which an unqualified
# read would find first). Every phase completes and validates, the
# application tables are in public, nothing is in the user's schema, and both
# runs migrate the same rows.
REDIS_DB=9
source "$(dirname "$0")/lib.sh" "$1" db_users
fresh_dbs
"$BUILD/mdwctl" legacy-demo --scale 1 >"$LOGS/demo.log"
for t in auth_user dispatch_office dispatch_patient dispatch_project dispatch_office_doctors dispatch_state dispatch_template; do
  lq "DELETE FROM $t WHERE id % 10 <> 0" >/dev/null
done
export MDW_POLL_MS=100
APP_TABLES="'practices','profiles','profile_legacy_users','patients','cases','projects','practice_members',
  'case_states','workflow_templates','ai_embeddings','ai_embedding_sources'"
COUNTS="SELECT concat_ws(' ', (SELECT count(*) FROM public.practices), (SELECT count(*) FROM public.profiles),
  (SELECT count(*) FROM public.patients), (SELECT count(*) FROM public.cases), (SELECT count(*) FROM public.projects),
  (SELECT count(*) FROM public.practice_members), (SELECT count(*) FROM public.case_states),
  (SELECT count(*) FROM public.workflow_templates), (SELECT count(*) FROM public.ai_embedding_sources))"

sq() { psql -X -q -t -A -d postgres -c "SET client_min_messages = warning" -c "$1" >/dev/null; }
counts=()
for u in mdw public_user; do
  db="it_db_users_target_$u"
  sq "DROP DATABASE IF EXISTS $db WITH (FORCE)"
  sq "DROP OWNED BY $u" 2>/dev/null || true
  psql -X -q -d "$LEGACY_DB" -c "SET client_min_messages = warning" -c "DROP SCHEMA IF EXISTS $u CASCADE" >/dev/null
  sq "DROP ROLE IF EXISTS $u"
  sq "CREATE ROLE $u LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE"
  sq "CREATE DATABASE $db OWNER $u"
  psql -X -q -d "$LEGACY_DB" -c "GRANT SELECT ON ALL TABLES IN SCHEMA public TO $u" >/dev/null
  if [ "$u" = public_user ]; then
    psql -X -q -d "$db" -c "CREATE SCHEMA public_user AUTHORIZATION public_user" >/dev/null
    psql -X -q -d "$LEGACY_DB" -c "CREATE SCHEMA public_user AUTHORIZATION public_user" >/dev/null
    for t in auth_user dispatch_office dispatch_patient dispatch_project dispatch_office_doctors dispatch_state dispatch_template; do
      psql -X -q -d "$LEGACY_DB" -c "CREATE TABLE public_user.$t (LIKE public.$t); ALTER TABLE public_user.$t OWNER TO public_user" >/dev/null
    done
  fi
  rcli FLUSHDB >/dev/null
  export MDW_SOURCE_DSN="host=127.0.0.1 port=$MDW_PG_PORT dbname=$LEGACY_DB user=$u"
  export MDW_TARGET_DSN="host=127.0.0.1 port=$MDW_PG_PORT dbname=$db user=$u"
  start_worker "$u-1" --exit-when-done >/dev/null
  start_worker "$u-2" --exit-when-done >/dev/null
  # a stuck run is the failure being tested for: bound it
  timeout 60 "$BUILD/mdw-coordinator" --new-run 2>"$LOGS/coordinator-$u.log" && rc=0 || rc=$?
  assert_eq "all 9 phases as user $u: coordinator exit code" 0 "$rc"
  "$BUILD/mdwctl" validate >"$LOGS/validate-$u.txt" || fail "validate as $u: $(cat "$LOGS/validate-$u.txt")"
  ok "mdwctl validate passes as $u"
  where="psql -X -q -t -A -d $db -c"
  assert_eq "application tables in public ($u)" 11 \
    "$($where "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename IN ($APP_TABLES)")"
  assert_eq "control tables in mdw ($u)" 1 "$($where "SELECT count(*) FROM pg_tables WHERE schemaname = 'mdw' AND tablename = 'chunks'")"
  if [ "$u" = mdw ]; then
    assert_eq "application tables in schema mdw" 0 \
      "$($where "SELECT count(*) FROM pg_tables WHERE schemaname = 'mdw' AND tablename IN ($APP_TABLES)")"
  else
    assert_eq "relations in schema public_user" 0 \
      "$($where "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public_user'")"
  fi
  counts+=("$($where "$COUNTS")")
  [ "${counts[-1]%% *}" -gt 0 ] || fail "nothing migrated as $u"
done
assert_eq "rows migrated as mdw and as public_user" "${counts[0]}" "${counts[1]}"
for u in mdw public_user; do
  sq "DROP DATABASE IF EXISTS it_db_users_target_$u WITH (FORCE)"
done
finish
