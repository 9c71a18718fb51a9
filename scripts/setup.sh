#!/usr/bin/env bash
# Sets up a Debian machine for Saker (as root) and builds the project.
# Idempotent: packages already present are not fetched again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ $(id -u) -ne 0 ]]; then
  echo "setup: run as root (it installs Debian packages, and the sensor needs root)" >&2
  exit 1
fi

# Build and runtime dependencies, all from Debian:
# - clang, llvm, libbpf-dev, bpftool, libelf-dev, zlib1g-dev, gcc, make, pkg-config: the eBPF sensor
# - nats-server: the bus in the distributed shape, and the test harness
# - runc, containerd, busybox-static: real containers for the sensor and enrichment tests
# - redis-server: a real Redis for the sinks' redis output tests
# - openssl: throwaway CAs and certificates for the TLS tests (audit webhook, control gRPC mTLS, saker ctl)
# - nginx: the webhook receiver of bench:sinks (a real, cheap HTTP server; the bench runs its own config)
# - postfix, rsyslog, prometheus-alertmanager: the real servers the sinks' SMTP (STARTTLS), syslog and
#   Alertmanager outputs are tested against (libs/testing starts each with its own config on a loopback port)
# - containernetworking-plugins, iptables, etcd-server, conntrack, socat (with containerd, runc,
#   busybox-static): the single-node Kubernetes of the chart's cluster test (scripts/k8s/up.sh):
#   pod networking, kube-proxy's rules, the API server's store, kubectl port-forward
# - debootstrap, systemd-container: the host-install tests make a clean Debian root
#   and boot it with systemd-nspawn (packaging/test)
# - docker.io, docker-compose: the container e2e (e2e/test/containers*.test.ts) starts its own dockerd
#   (@saker/testing/docker: roots, socket and bridge in a temporary slot) for testcontainers, builds
#   deploy/container/Containerfile and brings up deploy/compose with Debian's docker-compose;
#   the system's docker service is neither started nor enabled (below)
# - chromium: the browser the web UI's tests drive through playwright-core (e2e/test/ui-*.test.ts)
# - openssh-client (ssh), socat, iproute2: the sensor's real-kernel rule tests connect out of a
#   network namespace ("Disallowed SSH Connection Non Standard Port")
# - g++, python3: node-gyp builds better-sqlite3 (the web UI's store, services/ui) from source
# - maven, openjdk-17-jdk-headless: the real OpenSearch node the UI's Elasticsearch/OpenSearch
#   store is tested against (scripts/opensearch-node.sh, libs/testing startOpenSearch)
packages=(
  ca-certificates git curl
  g++ python3
  clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev gcc make pkg-config
  nats-server runc containerd busybox-static openssl redis-server nginx
  postfix rsyslog prometheus-alertmanager
  containernetworking-plugins iptables etcd-server conntrack socat
  debootstrap systemd-container
  docker.io docker-compose
  chromium
  iproute2 procps util-linux openssh-client
  maven openjdk-17-jdk-headless
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
command -v node >/dev/null 2>&1 || missing+=(nodejs)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # The tests and benches start their own servers (nats-server, containerd, dockerd,
  # redis, nginx, postfix, rsyslog, alertmanager) on ephemeral ports: keep the packages' system services from
  # starting (nginx's would take port 80 and fail the install if it is busy).
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=1
    # Removed even when the install fails, so later installs start services again.
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if ((own_policy)); then
    rm -f "$policy"
    trap - EXIT
  fi
fi
# docker.io enables docker.service and docker.socket at install: the tests run
# their own dockerd, and a system one would take /var/run/docker.sock, docker0
# and iptables chains of the same names. Idempotent (already disabled: no-op).
if command -v systemctl >/dev/null 2>&1 && [[ -e /lib/systemd/system/docker.service ]]; then
  systemctl disable --quiet docker.service docker.socket 2>/dev/null || true
fi
# Debian's nodejs ships npm separately; NodeSource's bundles it.
if ! command -v npm >/dev/null 2>&1; then
  apt-get install -y -qq --no-install-recommends npm >/dev/null
fi

# Vite 8 (the web UI's build, services/ui-web) needs 20.19; undici (the sinks'
# HTTP client) 20.18.1.
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
  echo "setup: Node.js $(node --version) is too old; Saker needs Node.js 20.19.0 or newer" >&2
  exit 1
fi

# Go tools built from the Go module proxy into a versioned cache outside the
# repository (scripts/go-tools.sh): Kubernetes, helm, CoreDNS and a pause
# binary for the chart's tests, nats-server for the NATS image. About 10
# minutes of 2 CPUs the first time on a machine, at once afterwards.
echo "setup: go tools"
bash scripts/go-tools.sh kubernetes helm coredns pause nats-server >/dev/null
# OpenSearch's jars from Maven Central and the test node's launcher, into the
# same cache (scripts/opensearch-node.sh): about a minute the first time.
echo "setup: opensearch test node"
bash scripts/opensearch-node.sh >/dev/null

echo "setup: npm ci"
# better-sqlite3 (services/ui) is compiled here: its prebuilt binaries are on a
# host this machine cannot reach, so skip the attempt, and node-gyp takes
# Node's headers from Debian's nodejs (/usr/include/node) instead of
# downloading them.
export npm_config_build_from_source=true
node_prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
if [[ -f $node_prefix/include/node/common.gypi ]]; then
  export npm_config_nodedir=$node_prefix
fi
# A second set-up on the same checkout keeps node_modules when the lockfile and
# Node are those of the last `npm ci` here (its stamp below): compiling
# better-sqlite3 again would cost minutes. Remove the stamp to force `npm ci`.
stamp=node_modules/.saker-setup-stamp
want="$(sha256sum package-lock.json | cut -d' ' -f1) $(node --version)"
if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
  echo "setup: node_modules matches package-lock.json ($stamp), npm ci skipped"
else
  rm -f "$stamp"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi
unset npm_config_build_from_source npm_config_nodedir
echo "setup: build"
npx turbo run build --output-logs=errors-only
# The saker bin is services/cli/bin/saker.js, kept in git with its execute
# bit, so npm links it at install and turbo's cache (which restores dist/
# without execute bits) cannot break it: a second run of this script works.
npx --no-install saker --version >/dev/null
echo "setup: done ($(node --version), $(npx tsc --version))"
