#!/usr/bin/env bash
# Entrypoint of a worker: the image's (docker-compose service `worker`, scaled
# with --scale; Kubernetes Deployment `mdw-worker`) and the local test's.
# Configuration is the environment: every MDW_* variable that
# `mdw-worker --help` lists, plus
#   MDW_BIN_DIR  where the binaries are (default /usr/local/bin)
# The worker id defaults to hostname-pid, i.e. the container or pod name.
# SIGTERM (docker stop, pod deletion) finishes the chunk in hand and exits 0.
set -euo pipefail
bin=${MDW_BIN_DIR:-/usr/local/bin}
exec "$bin/mdw-worker" "$@"
