#!/usr/bin/env bash
# Entrypoint of the demo's legacy database loader (docker-compose service
# `legacy-init`) and of the local test's: waits for the legacy database, then
# (re)creates the demo legacy data in MDW_SOURCE_DSN with
# `mdwctl legacy-demo`. Not for a real legacy database: it replaces its
# tables. Configuration (environment):
#   MDW_SOURCE_DSN      the legacy database (libpq connection string)
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
