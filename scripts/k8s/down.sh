#!/usr/bin/env bash
# Stops the single-node cluster of up.sh and removes what it left on the host:
# the components (by their recorded PIDs), every process of its pods (by the
# PIDs in the kubepods cgroups of the pods this kubelet ran, so nothing
# survives a killed run), the shims, mounts, the pods' network namespaces, the
# bridge, the node address, and the iptables rules and chains of kube-proxy,
# the kubelet and this cluster's CNI network. Other containers, namespaces
# and rules on the machine (other tests') are left as they are.
# Usage: scripts/k8s/down.sh [--wipe]   (--wipe also deletes etcd, kubelet and containerd state and
#        the PKI; the images built into $SAKER_K8S/images are kept)
# Safe to run when nothing is up, and twice; tests call it from an EXIT trap.
set -uo pipefail
[[ $(id -u) -eq 0 ]] || { echo "down.sh: run as root" >&2; exit 1; }
S=${SAKER_K8S:-/var/lib/saker-k8s}
IP=${SAKER_K8S_NODE_IP:-10.245.0.1}
RUN=$S/run
sock=$S/containerd/containerd.sock

stop() { # NAME: SIGTERM, then SIGKILL after 10 s
  local f=$RUN/$1.pid pid
  [[ -f $f ]] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null
  fi
  rm -f "$f"
}

# What belongs to this cluster, found before anything stops: the pods this kubelet ran (its
# pods/<uid> folders) and the network namespaces of their sandboxes. Other kubepods cgroups and
# cni-* namespaces on the machine (other tests' containers) are not this script's to touch.
pod_uids=()
for d in "$S"/kubelet/root/pods/*/; do
  [[ -d $d ]] && pod_uids+=("$(basename "$d")")
done
netns=()
if [[ -S $sock ]]; then
  ctr=(ctr -a "$sock" -n k8s.io)
  for c in $("${ctr[@]}" containers ls -q 2>/dev/null); do
    ns=$("${ctr[@]}" containers info "$c" 2>/dev/null |
      python3 -c 'import json,sys
spec=json.load(sys.stdin).get("Spec") or {}
for n in (spec.get("linux") or {}).get("namespaces") or []:
    if n.get("type") == "network" and n.get("path"): print(n["path"])' 2>/dev/null)
    [[ -n $ns ]] && netns+=("$ns")
  done
fi

# The kubelet first, so it does not restart what is killed below.
stop kubelet
stop kube-proxy
# Pod processes: whatever is in this kubelet's pod cgroups (cgroup v1: one tree per controller;
# cgroup v2: one tree), containers and sandboxes alike, by pod UID.
pod_cgroups() {
  local uid
  for uid in "${pod_uids[@]}"; do
    find /sys/fs/cgroup/pids/kubepods /sys/fs/cgroup/memory/kubepods /sys/fs/cgroup/kubepods \
      -type d -name "pod$uid" 2>/dev/null
  done
}
kill_pods() {
  local dir f p n=0
  while IFS= read -r dir; do
    while IFS= read -r f; do
      # A cgroup may go while it is read: that is no error.
      { while IFS= read -r p; do
        [[ -n $p ]] && kill -9 "$p" 2>/dev/null && n=$((n + 1))
      done <"$f"; } 2>/dev/null
    done < <(find "$dir" -name cgroup.procs 2>/dev/null)
  done < <(pod_cgroups)
  echo "$n"
}
for _ in 1 2 3; do [[ $(kill_pods) == 0 ]] && break; sleep 0.5; done
if [[ -S $sock ]]; then
  for t in $("${ctr[@]}" tasks ls -q 2>/dev/null); do "${ctr[@]}" tasks delete -f "$t" >/dev/null 2>&1; done
fi
stop kube-scheduler
stop kube-controller-manager
stop kube-apiserver
stop etcd
stop containerd
# Shims of this containerd whose parent is gone.
for p in $(pgrep -f "containerd-shim-runc-v2 .*-address $sock" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
kill_pods >/dev/null

# Mounts under the state folder (pod volumes, rootfs overlays), deepest first.
awk -v s="$S/" 'index($2, s) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
# The pods' network namespaces, the address reservations, the bridge, the node address.
for n in "${netns[@]}"; do
  umount -l "$n" 2>/dev/null
  rm -f "$n"
done
rm -rf "$S/cni/ipam"
ip link del sakercni0 2>/dev/null
ip addr del "$IP/32" dev lo 2>/dev/null
# This kubelet's pod cgroups, now empty (the shared kubepods parents stay).
pod_cgroups | while read -r d; do find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null; done

# iptables: kube-proxy's and the kubelet's chains (KUBE-*), and the CNI chains of this cluster's
# network (their rules carry the comment name: "saker-k8s"); the rules that jump to them first.
clean_iptables() { # iptables|ip6tables
  local cmd=$1 table line chain chains
  command -v "$cmd" >/dev/null || return 0
  for table in filter nat mangle raw; do
    "$cmd" -t "$table" -S >/dev/null 2>&1 || continue
    chains=$("$cmd" -t "$table" -S | awk '$1 == "-N" && $2 ~ /^KUBE-/ {print $2}')
    chains+=" $("$cmd" -t "$table" -S | awk '$1 == "-A" && $2 ~ /^CNI-/ && /name: \\"saker-k8s\\"/ {print $2}' | sort -u)"
    for chain in $chains; do
      "$cmd" -t "$table" -S | grep -E "^-A " | grep -E -- "-j $chain( |$)" |
        while IFS= read -r line; do eval "$cmd -t $table -D ${line#-A }" 2>/dev/null; done
    done
    for chain in $chains; do "$cmd" -t "$table" -F "$chain" 2>/dev/null; done
    for chain in $chains; do "$cmd" -t "$table" -X "$chain" 2>/dev/null; done
  done
}
clean_iptables iptables
clean_iptables ip6tables

if [[ ${1:-} == --wipe ]]; then
  rm -rf "$S/etcd" "$S/kubelet" "$S/containerd" "$S/cni" "$S/pki" "$S/run" "$S/logs" "$S/addons" "$S/env" "$S/kube-proxy.yaml"
fi
exit 0
