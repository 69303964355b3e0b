#!/bin/bash
# Entrypoint of the redis stand-in (deploy/images/redis/Dockerfile): what the
# official image's entrypoint does that the compose file relies on. A first
# argument starting with '-' is an option of redis-server; redis-server runs
# as user redis in /data, with no configuration file (every setting from the
# arguments) and protected mode off, like the official build.
set -euo pipefail
if [ "${1#-}" != "${1:-}" ]; then set -- redis-server "$@"; fi
if [ "${1:-}" = redis-server ]; then
  shift
  if [ "$(id -u)" = 0 ]; then
    find . \! -user redis -exec chown redis '{}' +
    exec setpriv --reuid=redis --regid=redis --init-groups redis-server --protected-mode no "$@"
  fi
  exec redis-server --protected-mode no "$@"
fi
exec "$@"
