#!/usr/bin/env bash
# Entrypoint of the demo's legacy database loader (docker-compose service
# `legacy-init`) and of the local test's: waits for the legacy database, then
# (re)creates the demo legacy data in MDW_SOURCE_DSN with
# `mdwctl legacy-demo`. Not for a real legacy database: it replaces its
# tables. `docker compose up` runs it again each time (e.g. to scale the
# workers), so by default it leaves the data alone while a run is in
# progress. Configuration (environment):
#   MDW_SOURCE_DSN      the legacy database (libpq connection string)
#   MDW_DEMO_RELOAD     auto: load unless `mdwctl status` (MDW_TARGET_DSN,
#                       MDW_REDIS_URL) shows a run in progress (default);
#                       always; never
#   MDW_DEMO_SCALE      scale factor, 1 = the production snapshot's row counts (default 1)
#   MDW_DEMO_SEED       seed of the deterministic generator (default: mdwctl's)
#   MDW_WAIT_SECONDS    how long to keep retrying while the database is not
#                       reachable yet (default 60)
#   MDW_BIN_DIR         where the binaries are (default /usr/local/bin)
set -euo pipefail
bin=${MDW_BIN_DIR:-/usr/local/bin}
args=(legacy-demo --scale "${MDW_DEMO_SCALE:-1}")
if [ -n "${MDW_DEMO_SEED:-}" ]; then args+=(--seed "$MDW_DEMO_SEED"); fi
wait_s=${MDW_WAIT_SECONDS:-60}
if ! [[ $wait_s =~ ^[0-9]+$ ]]; then
  echo "legacy-init.sh: invalid MDW_WAIT_SECONDS '$wait_s': a number of seconds" >&2
  exit 2
fi

case "${MDW_DEMO_RELOAD:-auto}" in
  always) ;;
  never) echo "legacy-init.sh: MDW_DEMO_RELOAD=never: legacy data left as it is"; exit 0 ;;
  auto)
    # A phase planning, running or validating means a run is in progress
    # (or its coordinator died and will resume it): never change its source.
    if [ -n "${MDW_TARGET_DSN:-}" ] &&
      status=$("$bin/mdwctl" status --json 2>/dev/null) &&
      grep -Eq '"state": ?"(planning|running|validating)"' <<<"$status"; then
      echo "legacy-init.sh: a run is in progress: legacy data left as it is"
      exit 0
    fi
    ;;
  *)
    echo "legacy-init.sh: invalid MDW_DEMO_RELOAD '$MDW_DEMO_RELOAD': one of auto, always, never" >&2
    exit 2
    ;;
esac

# legacy-demo drops and re-creates its tables, so a retry after a failure
# (the database still starting) is safe. The last attempt's status is the
# script's.
deadline=$((SECONDS + wait_s))
attempt=1
while :; do
  rc=0
  "$bin/mdwctl" "${args[@]}" || rc=$?
  if [ "$rc" -eq 0 ]; then exit 0; fi
  if [ "$rc" -eq 2 ] || [ "$SECONDS" -ge "$deadline" ]; then exit "$rc"; fi # 2: bad settings
  echo "legacy-init.sh: attempt $attempt failed (exit $rc); retrying in 2s" >&2
  attempt=$((attempt + 1))
  sleep 2
done
