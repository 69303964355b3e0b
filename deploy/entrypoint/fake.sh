#!/usr/bin/env bash
# Entrypoint of the bedrock-fake image (docker-compose service `bedrock-fake`,
# profile `fake`): a local stand-in for Amazon Bedrock Runtime and an
# OpenAI-compatible /v1/embeddings server, for offline runs
# (tests/fakes/README.md). It accepts the credentials the workers are given,
# so one env file configures both. Configuration (environment):
#   MDW_FAKE_BIND        listen address (default 0.0.0.0: reachable from the
#                        other containers; the compose file publishes no port)
#   MDW_FAKE_PORT        port (default 8080)
#   AWS_REGION           region the SigV4 scope must name (default us-east-1)
#   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
#                        the only credentials accepted (default: the fake's
#                        documented example pair)
#   MDW_FAKE_RPM, MDW_FAKE_TPM, MDW_FAKE_LATENCY_MS
#                        quota and latency to simulate (default: none)
#   MDW_FAKE_TLS_CERT, MDW_FAKE_TLS_KEY
#                        PEM certificate chain and key: serve HTTPS (the
#                        workers, in other containers, accept no plain http;
#                        they trust the CA through MDW_CA_FILE)
#   MDW_BIN_DIR          where the binaries are (default /usr/local/bin)
set -euo pipefail
bin=${MDW_BIN_DIR:-/usr/local/bin}
args=(--bind "${MDW_FAKE_BIND:-0.0.0.0}" --port "${MDW_FAKE_PORT:-8080}" --region "${AWS_REGION:-us-east-1}")
if [ -n "${AWS_ACCESS_KEY_ID:-}" ]; then args+=(--access-key "$AWS_ACCESS_KEY_ID"); fi
if [ -n "${AWS_SECRET_ACCESS_KEY:-}" ]; then args+=(--secret-key "$AWS_SECRET_ACCESS_KEY"); fi
if [ -n "${MDW_FAKE_RPM:-}" ]; then args+=(--rpm "$MDW_FAKE_RPM"); fi
if [ -n "${MDW_FAKE_TPM:-}" ]; then args+=(--tpm "$MDW_FAKE_TPM"); fi
if [ -n "${MDW_FAKE_LATENCY_MS:-}" ]; then args+=(--latency-ms "$MDW_FAKE_LATENCY_MS"); fi
if [ -n "${MDW_FAKE_TLS_CERT:-}" ]; then args+=(--tls-cert "$MDW_FAKE_TLS_CERT" --tls-key "${MDW_FAKE_TLS_KEY:?MDW_FAKE_TLS_CERT needs MDW_FAKE_TLS_KEY}"); fi
exec "$bin/bedrock-fake" "${args[@]}" "$@"
