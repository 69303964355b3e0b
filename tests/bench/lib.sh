# shellcheck shell=bash
# Shared by tests/bench/run and tests/bench/profile: small helpers, the COPY
# proxy's pipes, the phase timeline of a mdw-migrate run. Source it; it
# defines functions and PROXY only.

now() { date +%s.%N; }
tod() { date -u +%H:%M:%S.%N; } # time of day, as the logs' timestamps
calc() { awk "BEGIN { printf \"%s\", ($1) }"; }
# peak RSS in MB and CPU seconds (user + system, summed over files) from /usr/bin/time -v files
rss_mb() { awk -F': ' '/Maximum resident/ { printf "%.1f", $2 / 1024 }' "$1"; }
cpu_s() { awk -F': ' '/User time/ { u += $2 } /System time/ { s += $2 } END { printf "%.2f", u + s }' "$@"; }
# the sum of the chunks' own durations (ms= of "chunk done") in worker logs, in seconds
chunk_seconds() { cat "$@" | awk '/msg="chunk done"/ && match($0, / ms=[0-9]+/) { s += substr($0, RSTART + 4, RLENGTH - 4) } END { printf "%.2f", s / 1000 }'; }

# Per phase: the legacy rows moved as they are (the phase's source columns) and
# the columns of the target table that receive them.
PROXY=(
  "practices|SELECT id, name, address, apt, city, state, zip, country, phone, email, is_active, created_at FROM dispatch_office|legacy_id, name, address, apt, city, state, zip, country, phone, email, is_active, created_at"
  "profiles|SELECT id, email, first_name, last_name, is_active, last_login, date_joined FROM auth_user|legacy_id, email, first_name, last_name, is_active, last_login, joined_at"
  "patients|SELECT id, office_id, doctor_id, first_name, last_name, birthdate, sex, status, archived, suspended, created_at, updated_at FROM dispatch_patient|legacy_id, practice_id, profile_id, first_name, last_name, birthdate, sex, status, is_archived, is_suspended, created_at, updated_at"
  "cases|SELECT id, patient_id, name, type, status, notes, created_at, updated_at FROM dispatch_project|legacy_project_id, patient_id, title, case_type, status, clinical_notes, created_at, updated_at"
  "projects|SELECT id, uid, creator_id, name, type, size, created_at, updated_at FROM dispatch_project|legacy_id, uid, creator_id, name, asset_type, file_size_bytes, created_at, updated_at"
  "practice_members|SELECT id, office_id, user_id FROM dispatch_office_doctors|legacy_id, practice_id, profile_id"
  "case_states|SELECT id, project_id, status, actor_id, changed_at, note FROM dispatch_state|legacy_id, case_id, state, changed_by, created_at, note"
  "workflow_templates|SELECT id, office_id, name, steps, is_active, created_at FROM dispatch_template|legacy_id, practice_id, name, steps, is_active, created_at"
)

# Run the proxy's eight pipes one after the other, from database $1 into
# bench_proxy.* of database $2 (created by proxy_tables). Prints each pipe's seconds.
proxy_tables() { # target-db
  local e
  psql -X -q -v ON_ERROR_STOP=1 -d "$1" -c "CREATE SCHEMA bench_proxy" >/dev/null
  for e in "${PROXY[@]}"; do
    psql -X -q -v ON_ERROR_STOP=1 -d "$1" -c "CREATE TABLE bench_proxy.${e%%|*} AS SELECT * FROM public.${e%%|*} WITH NO DATA" >/dev/null
  done
  # jsonb would parse (check) the steps: moved as text
  psql -X -q -v ON_ERROR_STOP=1 -d "$1" -c "ALTER TABLE bench_proxy.workflow_templates ALTER steps TYPE text" >/dev/null
}
proxy_pipes() { # source-db target-db
  local e name sel cols t0
  for e in "${PROXY[@]}"; do
    name=${e%%|*} sel=${e#*|} cols=${sel#*|} sel=${sel%%|*}
    t0=$(now)
    psql -X -q -v ON_ERROR_STOP=1 -d "$1" -c "COPY ($sel) TO STDOUT" |
      psql -X -q -v ON_ERROR_STOP=1 -d "$2" -c "COPY bench_proxy.$name ($cols) FROM STDIN"
    printf '%s %.2f\n' "$name" "$(calc "$(now) - $t0")"
  done
}

# How long after the run's completion the last --exit-when-done worker exited, in ms:
# its "stopped" line against the coordinator's "run complete" line (negative: before it).
exit_ms() { # prefix: logs PREFIX-coordinator.log, PREFIX-worker*.log
  awk 'function ms(ts,  a) { split(substr(ts, 12, 12), a, ":"); return (a[1] * 3600 + a[2] * 60 + a[3]) * 1000 }
    match($0, /ts=[^ ]+/) { ts = substr($0, RSTART + 3, RLENGTH - 3) }
    FILENAME ~ /-coordinator\.log$/ && /msg="run complete"/ { c = ms(ts) }
    FILENAME ~ /-worker[0-9]+\.log$/ && /msg="stopped"/ { w[FILENAME] = ms(ts) }
    END { m = ""; for (f in w) if (m == "" || w[f] - c > m) m = w[f] - c; printf "%s", (m == "" || c == "") ? "?" : sprintf("%.0f", m) }' \
    "$1-coordinator.log" "$1"-worker*.log
}

# Per phase, seconds after the start: planned, first chunk started, last chunk done, complete.
timeline() { # prefix: logs PREFIX-coordinator.log, PREFIX-worker*.log, PREFIX.t0 (start, as tod)
  local p=$1
  cat "$p-coordinator.log" "$p"-worker*.log | awk -v t0="$(cat "$p.t0")" '
    function sec(ts,  a) { split(ts, a, ":"); return a[1] * 3600 + a[2] * 60 + a[3] }
    function rel(x,  d) { d = x - sec(t0); if (d < -43200) d += 86400; return d }
    {
      if (!match($0, /ts=[^ ]+/)) next
      ts = substr($0, RSTART + 14, 12); t = rel(sec(ts))
      ph = ""; if (match($0, / phase=[a-z_]+/)) ph = substr($0, RSTART + 7, RLENGTH - 7)
      if ($0 ~ /msg="new run"/) start = t
      if ($0 ~ /msg="run complete"/) end = t
      if (ph == "") next
      if ($0 ~ /msg="phase planned"/) planned[ph] = t
      if ($0 ~ /msg="phase complete"/) done[ph] = t
      if ($0 ~ /msg="chunk done"/) {
        ms = 0; if (match($0, / ms=[0-9]+/)) ms = substr($0, RSTART + 4, RLENGTH - 4) / 1000
        if (!(ph in first) || t - ms < first[ph]) first[ph] = t - ms
        if (!(ph in last) || t > last[ph]) last[ph] = t
        busy[ph] += ms; chunks[ph]++; total += ms
      }
    }
    END {
      printf "run opened at %.2f s, complete at %.2f s; chunk-seconds (all workers) %.2f\n", start, end, total
      printf "%-20s %8s %8s %8s %8s %7s %9s\n", "phase", "planned", "1st start", "last done", "complete", "chunks", "chunk-s"
      n = split("practices profiles patients cases projects practice_members case_states workflow_templates", o, " ")
      for (i = 1; i <= n; i++) if (o[i] in planned)
        printf "%-20s %8.2f %8.2f %8.2f %8.2f %7d %9.2f\n", o[i], planned[o[i]], first[o[i]], last[o[i]], done[o[i]], chunks[o[i]], busy[o[i]]
    }'
}

# ------------------------------------------------------------------ private cluster
# A private Postgres 15 cluster in DIR on 127.0.0.1:PORT, nobody else's load
# on it (tests/bench/profile; tests/bench/run --server durable). MODE:
#   fast     the test stack's settings (fsync, synchronous_commit and
#            full_page_writes off) and autovacuum off: CPU accounting;
#   durable  Postgres' own durability defaults (fsync, synchronous_commit,
#            full_page_writes on), as a production warehouse runs: every
#            commit waits for the disk.
# Both: shared_buffers 256MB, max_wal_size 2GB. Needs root (initdb runs as
# postgres). Dies (die) when the cluster cannot start.
PGBIN=/usr/lib/postgresql/15/bin
as_pg() { (cd / && runuser -u postgres -- "$@"); }
private_pg_up() { # dir port mode log
  local dir=$1 port=$2 mode=$3 log=$4
  if [ -f "$dir/data/PG_VERSION" ] && [ "$(cat "$dir/mode" 2>/dev/null)" != "$mode" ]; then
    as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    mkdir -p "$dir"
    chown postgres:postgres "$dir"
    as_pg "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C >"$log" 2>&1 ||
      die "initdb failed, see $log"
    {
      echo "listen_addresses = '127.0.0.1'"
      echo "max_connections = 200"
      echo "shared_buffers = 256MB"
      echo "maintenance_work_mem = 256MB"
      echo "max_wal_size = 2GB"
      echo "log_min_messages = warning"
      if [ "$mode" = fast ]; then
        printf '%s\n' "fsync = off" "synchronous_commit = off" "full_page_writes = off" "autovacuum = off"
      fi
    } | as_pg tee -a "$dir/data/postgresql.conf" >/dev/null
    echo "$mode" >"$dir/mode"
  fi
  as_pg mkdir -p "$dir/run"
  as_pg "$PGBIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1 && return 0 # left running by an interrupted bench
  as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -o "-p $port -k $dir/run" start >/dev/null ||
    die "cannot start the private cluster, see $dir/postgres.log"
}
private_pg_down() { as_pg "$PGBIN/pg_ctl" -D "$1/data" -m fast -w stop >/dev/null 2>&1 || true; }
