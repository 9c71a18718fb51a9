#!/usr/bin/env bash
# Builds Saker's images as docker-archive tars, without a registry or a daemon:
#   build/images/saker-<version>.tar        saker:<version>       (every service, the sensor's loader)
#   build/images/saker-nats-<version>.tar   saker-nats:<version>  (nats-server from scripts/go-tools.sh)
# <version> is services/cli/package.json's (`saker --version`). Load them with
#   ctr -n k8s.io images import build/images/saker-<version>.tar    (containerd: docker.io/library/saker:<version>)
#   docker load -i build/images/saker-<version>.tar
# Needs the project built (scripts/setup.sh) and go for nats-server's first build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
npm run --silent images -- "$@"
