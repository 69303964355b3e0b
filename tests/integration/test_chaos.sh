#!/usr/bin/env bash
# The chaos run (tests/chaos/run) on a stack of its own (other ports, its own
# state folder), because it restarts Redis and Postgres.
set -euo pipefail
BUILD=${1:?build dir}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export MDW_STATE_DIR="$BUILD/chaos-state" MDW_PG_PORT=55442 MDW_REDIS_PORT=56389
"$ROOT/deploy/local/stack" up >/dev/null
trap '"$ROOT/deploy/local/stack" down >/dev/null 2>&1 || true' EXIT
"$ROOT/tests/chaos/run" "$BUILD"
