#!/usr/bin/env bash
# Builds Go tools from the Go module proxy into a versioned cache outside the
# repository, and prints each tool's bin directory (one line per tool asked):
#
#   ${SAKER_TOOLS:-/var/cache/saker-tools}/<tool>-<version>/bin/<binaries>
#
# Usage: scripts/go-tools.sh TOOL...   (TOOL: kubernetes helm coredns pause nats-server, or all)
#
# Idempotent: a tool whose folder is complete is not built again, so a second
# call returns at once. A build goes into a temporary folder that is renamed
# into place only when every binary is there, under a per-tool lock, so a
# killed build or two callers at once never leave a half-built folder.
# The first build of everything takes about 10 minutes of 2 CPUs on an empty
# Go cache (Kubernetes ~5, helm ~2, CoreDNS ~2, nats-server ~1); run it under
# nice. Versions can be overridden for a trial, but the defaults are what the
# project tests.
set -euo pipefail

: "${SAKER_TOOLS:=/var/cache/saker-tools}"
KUBERNETES_VERSION=${KUBERNETES_VERSION:-v1.34.4}
HELM_VERSION=${HELM_VERSION:-v4.3.2}
COREDNS_VERSION=${COREDNS_VERSION:-v1.14.7}
NATS_SERVER_VERSION=${NATS_SERVER_VERSION:-v2.15.3}
# The pause program below is the project's own: bump this when it changes.
PAUSE_VERSION=${PAUSE_VERSION:-saker-1}

export CGO_ENABLED=0
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  export PATH=/usr/local/go/bin:$PATH
fi

log() { echo "go-tools: $*" >&2; }
die() { log "$*"; exit 1; }

usage() {
  echo "usage: $0 TOOL...   (kubernetes helm coredns pause nats-server all)" >&2
  exit 2
}

version_of() {
  case $1 in
    kubernetes) echo "$KUBERNETES_VERSION" ;;
    helm) echo "$HELM_VERSION" ;;
    coredns) echo "$COREDNS_VERSION" ;;
    nats-server) echo "$NATS_SERVER_VERSION" ;;
    pause) echo "$PAUSE_VERSION" ;;
    *) die "unknown tool '$1' (known: kubernetes helm coredns pause nats-server)" ;;
  esac
}

binaries_of() {
  case $1 in
    kubernetes) echo "kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl" ;;
    *) echo "$1" ;;
  esac
}

# Kubernetes is not meant to be a dependency: its go.mod replaces every
# staging module (k8s.io/api, k8s.io/apimachinery, ...) with a folder of its
# own repository. A wrapper module requires k8s.io/kubernetes and pins each of
# those to its published v0.<minor>.<patch>.
build_kubernetes() {
  local out=$1 work=$2 v=$KUBERNETES_VERSION
  [[ $v =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] || die "KUBERNETES_VERSION '$v' is not v1.MINOR.PATCH"
  local minor=${BASH_REMATCH[1]} staging="v0.${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"
  local gomod
  gomod=$(cd "$work" && go mod download -json "k8s.io/kubernetes@$v" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
  [[ -f $gomod ]] || die "no go.mod downloaded for k8s.io/kubernetes@$v"
  {
    echo "module saker.local/kubernetes-tools"
    echo
    awk '/^go [0-9]/{print; exit}' "$gomod"
    echo
    echo "require k8s.io/kubernetes $v"
    echo
    echo "replace ("
    awk -v s="$staging" '$2 == "=>" && $3 ~ /^\.\/staging\// {print "\t" $1 " => " $1 " " s}' "$gomod"
    echo ")"
  } >"$work/go.mod"
  local cmds=() c
  for c in $(binaries_of kubernetes); do cmds+=("k8s.io/kubernetes/cmd/$c"); done
  # One `go get` for all six: resolving kube-proxy alone misses go.sum entries.
  (cd "$work" && go get "${cmds[@]/%/@$v}" 2>&1 | grep -v '^go: downloading' >&2 || true)
  # Without the -X flags the server reports v0.0.0 and charts' kubeVersion checks fail.
  local ld="-s -w" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$v -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  (cd "$work" && go build -trimpath -ldflags "$ld" -o "$out/" "${cmds[@]}")
}

build_helm() {
  local out=$1
  GOBIN=$out go install -trimpath -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
}

build_coredns() {
  GOBIN=$1 go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$COREDNS_VERSION"
}

build_nats_server() {
  GOBIN=$1 go install -trimpath -ldflags "-s -w" "github.com/nats-io/nats-server/v2@$NATS_SERVER_VERSION"
}

# The pod sandbox's process: waits for SIGINT or SIGTERM and reaps the
# orphans that the pod's PID namespace hands it. Static, no dependencies.
build_pause() {
  local out=$1 work=$2
  cat >"$work/main.go" <<'EOF'
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range signals {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var status syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
EOF
  printf 'module saker.local/pause\n\ngo 1.22\n' >"$work/go.mod"
  (cd "$work" && go build -trimpath -ldflags "-s -w" -o "$out/pause" .)
}

ensure() {
  local tool=$1 v dir
  v=$(version_of "$tool")
  dir=$SAKER_TOOLS/$tool-$v
  if [[ -f $dir/.complete ]]; then
    echo "$dir/bin"
    return
  fi
  command -v go >/dev/null 2>&1 || die "go is not installed (needed to build $tool $v)"
  mkdir -p "$SAKER_TOOLS"
  exec {lock}>"$SAKER_TOOLS/.$tool-$v.lock"
  flock "$lock"
  if [[ ! -f $dir/.complete ]]; then
    local tmp start=$SECONDS
    tmp=$(mktemp -d "$SAKER_TOOLS/.$tool-$v.XXXXXX")
    chmod 755 "$tmp"
    mkdir -p "$tmp/bin" "$tmp/work"
    log "building $tool $v"
    case $tool in
      kubernetes) build_kubernetes "$tmp/bin" "$tmp/work" ;;
      helm) build_helm "$tmp/bin" ;;
      coredns) build_coredns "$tmp/bin" ;;
      nats-server) build_nats_server "$tmp/bin" ;;
      pause) build_pause "$tmp/bin" "$tmp/work" ;;
    esac
    local b
    for b in $(binaries_of "$tool"); do
      [[ -x $tmp/bin/$b ]] || die "$tool $v: the build made no $b"
    done
    rm -rf "$tmp/work"
    echo "$tool $v built $(date -u +%FT%TZ) with $(go version)" >"$tmp/.complete"
    rm -rf "$dir"
    mv "$tmp" "$dir"
    log "$tool $v built in $((SECONDS - start))s: $dir/bin"
  fi
  flock -u "$lock"
  exec {lock}>&-
  echo "$dir/bin"
}

(($#)) || usage
tools=()
for t in "$@"; do
  case $t in
    all) tools+=(kubernetes helm coredns pause nats-server) ;;
    -h | --help) usage ;;
    *) version_of "$t" >/dev/null && tools+=("$t") ;;
  esac
done
for t in "${tools[@]}"; do ensure "$t"; done
