#!/usr/bin/env bash
# Health check of the mdw-migrate images (HEALTHCHECK in deploy/Dockerfile,
# the compose file's healthchecks, the Kubernetes probes). One image runs
# several programs, so it looks at what the container's main process is:
#   mdw-coordinator  healthy when its Prometheus endpoint answers 200 on
#                    GET /metrics (MDW_METRICS_ADDR or --metrics-addr; with
#                    the bearer token of MDW_METRICS_TOKEN[_FILE] if one is
#                    set); when metrics are off, when the process is alive
#   mdw-worker       healthy while the process is alive (not a zombie); a
#                    worker that loses Postgres or Redis retries with backoff
#                    on its own, so that is no reason to restart it
#   bedrock-fake     healthy when GET /health answers 200 (over https with
#                    --tls-cert: curl verifies it with MDW_CA_FILE)
#   mdwctl           (one-shot jobs such as legacy-init) alive
# MDW_HEALTH_PID is the process to check (default 1, the container's main
# process; the local test points it at the process it started).
# Exit 0 healthy, 1 unhealthy, with one line saying why.
set -uo pipefail

# Internal: --http-get HOST PORT PATH, the request of http_get below.
if [ "${1:-}" = --http-get ]; then
  exec 3<>"/dev/tcp/$2/$3" || exit 1
  auth=
  if [ -n "${MDW_HC_TOKEN:-}" ]; then auth="Authorization: Bearer $MDW_HC_TOKEN"$'\r\n'; fi
  printf 'GET %s HTTP/1.1\r\nHost: %s\r\n%sConnection: close\r\n\r\n' "$4" "$2" "$auth" >&3
  IFS= read -r status <&3 || exit 1
  case "$status" in "HTTP/1."?" 200"*) exit 0 ;; esac
  echo "${status%$'\r'}" >&2
  exit 1
fi

pid=${MDW_HEALTH_PID:-1}

unhealthy() { echo "unhealthy: $*"; exit 1; }

[ -r "/proc/$pid/cmdline" ] || unhealthy "no process $pid"
mapfile -d '' -t argv <"/proc/$pid/cmdline"
[ "${#argv[@]}" -gt 0 ] || unhealthy "process $pid has exited"
state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
case "$state" in Z | X | '') unhealthy "process $pid (${argv[0]##*/}) has exited" ;; esac

# Value of flag --NAME in the process's arguments (--NAME VALUE or --NAME=VALUE).
flag() {
  local i
  for ((i = 0; i < ${#argv[@]}; i++)); do
    case "${argv[i]}" in
      "--$1") echo "${argv[i + 1]:-}"; return 0 ;;
      "--$1="*) echo "${argv[i]#*=}"; return 0 ;;
    esac
  done
  return 1
}

# http_get HOST PORT PATH [TOKEN]: exit 0 when the answer's status is 200
# (the request runs in a copy of this script, under a 5 s timeout).
http_get() {
  MDW_HC_TOKEN=${4:-} timeout 5 "${BASH_SOURCE[0]}" --http-get "$1" "$2" "$3"
}

# A listen address as the place to connect to: a wildcard or empty address
# means this host.
connect_host() {
  case "$1" in
    '' | 0.0.0.0 | '*') echo 127.0.0.1 ;;
    :: | '[::]') echo ::1 ;;
    \[*\]) local h=${1#[}; echo "${h%]}" ;;
    *) echo "$1" ;;
  esac
}

prog=${argv[0]##*/}
case "$prog" in
  mdw-coordinator)
    addr=$(flag metrics-addr) || addr=${MDW_METRICS_ADDR:-}
    if [ -z "$addr" ]; then echo "healthy: mdw-coordinator is running (metrics off)"; exit 0; fi
    port=${addr##*:}
    host=$(connect_host "${addr%:*}")
    [ "$addr" = "$port" ] && host=127.0.0.1
    token=$(flag metrics-token) || token=${MDW_METRICS_TOKEN:-}
    if [ -z "$token" ] && [ -n "${MDW_METRICS_TOKEN_FILE:-}" ]; then
      token=$(head -n 1 "$MDW_METRICS_TOKEN_FILE" 2>/dev/null) || unhealthy "cannot read MDW_METRICS_TOKEN_FILE"
    fi
    http_get "$host" "$port" /metrics "$token" || unhealthy "mdw-coordinator: GET http://$host:$port/metrics did not answer 200"
    echo "healthy: mdw-coordinator answers on http://$host:$port/metrics"
    ;;
  mdw-worker | mdwctl)
    echo "healthy: $prog is running"
    ;;
  bedrock-fake)
    port=$(flag port) || port=0
    [ "$port" != 0 ] || unhealthy "bedrock-fake: no fixed --port to check"
    host=$(connect_host "$(flag bind || echo 127.0.0.1)")
    if flag tls-cert >/dev/null; then
      # HTTPS: curl (in the fake image) verifies the certificate with MDW_CA_FILE
      [ -n "${MDW_CA_FILE:-}" ] || unhealthy "bedrock-fake serves https: MDW_CA_FILE must name the CA to verify it"
      case "$host" in *:*) url="https://[$host]:$port/health" ;; *) url="https://$host:$port/health" ;; esac
      curl -fsS -o /dev/null --max-time 5 --cacert "$MDW_CA_FILE" "$url" || unhealthy "bedrock-fake: GET $url did not answer 200"
      echo "healthy: bedrock-fake answers on $url"
      exit 0
    fi
    http_get "$host" "$port" /health || unhealthy "bedrock-fake: GET http://$host:$port/health did not answer 200"
    echo "healthy: bedrock-fake answers on http://$host:$port/health"
    ;;
  *)
    unhealthy "process $pid is '$prog', not an mdw-migrate program"
    ;;
esac
exit 0
