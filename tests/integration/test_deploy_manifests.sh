#!/usr/bin/env bash
# The deployment files, checked without a Docker engine or a cluster
# (tests/deploy/check-manifests): docker-compose.yml through docker-compose's
# own parser, deploy/Dockerfile and deploy/k8s through required-field and
# consistency checks, the Kubernetes manifests and the KEDA ScaledObject
# through the Kubernetes and KEDA JSON schemas.
set -euo pipefail
BUILD=${1:?build dir}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
if "$ROOT/tests/deploy/check-manifests" "$BUILD"; then
  echo "1 passed, 0 failed"
else
  echo "0 passed, 1 failed"
  exit 1
fi
