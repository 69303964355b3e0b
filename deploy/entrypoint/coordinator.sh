#!/usr/bin/env bash
# Entrypoint of the coordinator: the image's (docker-compose service
# `coordinator`, Kubernetes Job `mdw-coordinator`) and the local test's
# (tests/integration/test_compose_local.sh). Configuration is the environment:
# every MDW_* variable that `mdw-coordinator --help` lists, plus
#   MDW_BIN_DIR  where the binaries are (default /usr/local/bin)
#   MDW_NEW_RUN  1|true|yes: start a new run even if an unfinished one exists
#                (--new-run); 0|false|no or empty: create or resume (default)
# Arguments are passed on to mdw-coordinator. It exits 0 when the run is
# complete and validated.
set -euo pipefail
bin=${MDW_BIN_DIR:-/usr/local/bin}
args=()
case "${MDW_NEW_RUN:-0}" in
  1 | true | TRUE | True | yes | YES | Yes) args+=(--new-run) ;;
  0 | false | FALSE | False | no | NO | No | '') ;;
  *)
    echo "coordinator.sh: invalid MDW_NEW_RUN '$MDW_NEW_RUN': one of 1, 0, true, false, yes, no" >&2
    exit 2
    ;;
esac
exec "$bin/mdw-coordinator" "${args[@]}" "$@"
