#!/usr/bin/env bash
# Brings up a real single-node Kubernetes on this machine, as root: etcd (Debian),
# kube-apiserver, kube-controller-manager, kube-scheduler, a kubelet on its own
# containerd (Debian's, CRI), kube-proxy (iptables), the bridge CNI plugin and
# CoreDNS. From wiped state to a Ready node with DNS in well under a minute once
# the binaries are built (scripts/go-tools.sh, ~10 minutes the first time).
#
# Usage: scripts/k8s/up.sh          then  source "$SAKER_K8S/env"  (KUBECONFIG, PATH, CONTAINERD_ADDRESS)
#        scripts/k8s/down.sh [--wipe]
#
# Environment:
#   SAKER_K8S                 state folder (default /var/lib/saker-k8s); images built here are kept by --wipe
#   SAKER_K8S_NODE_IP         the node's address (default 10.245.0.1, added to lo: the API server must
#                             advertise a non-loopback address, and this one never leaves the machine)
#   SAKER_K8S_IMAGES          docker-archive tars to import into the node (space-separated)
#   SAKER_K8S_AUDIT_WEBHOOK   an audit webhook kubeconfig (deploy/audit/webhook-kubeconfig.yaml's shape):
#                             the API server sends its audit log there in batches of at most 1 s
#   SAKER_K8S_AUDIT_POLICY    the audit policy (default deploy/audit/audit-policy.yaml)
#   SAKER_K8S_SYNC            the kubelet's syncFrequency (default 10s: mounted ConfigMaps follow
#                             their object within seconds; kubelets default to 1m)
#
# Facts this rests on (each met on this machine kind):
# - this VM removes CAP_SYS_RESOURCE, so runc cannot set the negative oom_score_adj the kubelet
#   asks for sandboxes: containerd's CRI needs restrict_oom_score_adj;
# - the host runs cgroup v1: the kubelet needs failCgroupV1: false (Kubernetes 1.34 still allows it);
# - kube-proxy exits when its config file is rewritten: files are written only when they change;
# - killing the components leaves pod processes behind: down.sh kills by the kubepods cgroups' PIDs.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here=$repo/scripts/k8s
[[ $(id -u) -eq 0 ]] || { echo "up.sh: run as root" >&2; exit 1; }

S=${SAKER_K8S:-/var/lib/saker-k8s}
IP=${SAKER_K8S_NODE_IP:-10.245.0.1}
NODE=$(hostname | tr '[:upper:]' '[:lower:]')
PKI=$S/pki LOG=$S/logs RUN=$S/run
start_time=$SECONDS
say() { echo "[up +$((SECONDS - start_time))s] $*" >&2; }

# On any failure, stop what was started so nothing is left running.
trap 'rc=$?; if ((rc)); then say "failed (exit $rc); logs in $LOG; tearing down"; bash "$here/down.sh" >&2 || true; fi' EXIT

k8s_bin=$(bash "$repo/scripts/go-tools.sh" kubernetes)
coredns_bin=$(bash "$repo/scripts/go-tools.sh" coredns)
pause_bin=$(bash "$repo/scripts/go-tools.sh" pause)
for b in containerd runc etcd iptables conntrack /usr/lib/cni/bridge; do
  command -v "$b" >/dev/null || { echo "up.sh: $b is missing (bash scripts/setup.sh installs it)" >&2; exit 1; }
done
export PATH=$k8s_bin:$PATH
mkdir -p "$LOG" "$RUN" "$S/cni/net.d" "$S/containerd" "$S/kubelet" "$S/etcd" "$S/images" "$S/addons"

start() { # NAME CMD...: in the background, PID in $RUN/NAME.pid, output in $LOG/NAME.log
  local name=$1
  shift
  if [[ -f $RUN/$name.pid ]] && kill -0 "$(cat "$RUN/$name.pid")" 2>/dev/null; then
    say "$name already running"
    return
  fi
  setsid "$@" >"$LOG/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
}
write_if_changed() { # FILE < content
  local tmp
  tmp=$(mktemp "$1.XXXXXX")
  cat >"$tmp"
  if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv "$tmp" "$1"; fi
}
wait_for() { # WHAT SECONDS CMD...
  local what=$1 deadline=$((SECONDS + $2))
  shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { say "timed out waiting for $what"; return 1; }
    sleep 0.5
  done
  say "$what ok"
}

# --- host --------------------------------------------------------------------
bash "$here/pki.sh" "$PKI" "$NODE" "$IP"
ip -4 addr show dev lo | grep -q " $IP/" || ip addr add "$IP/32" dev lo
modprobe br_netfilter 2>/dev/null || true
sysctl -qw net.ipv4.ip_forward=1
sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || true
# cgroup v1 hosts without a hugetlb hierarchy: the kubelet's container manager wants one.
if [[ -d /sys/fs/cgroup/memory && ! -d /sys/fs/cgroup/hugetlb ]] && grep -q '^hugetlb' /proc/cgroups; then
  mkdir -p /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb || true
fi

# --- images of the cluster itself ----------------------------------------------
[[ -f $S/images/pause.tar ]] ||
  bash "$here/image.sh" "$S/images/pause.tar" local/pause:saker-1 '["/pause"]' "/pause=$pause_bin/pause"
coredns_version=$(basename "$(dirname "$coredns_bin")")
[[ -f $S/images/$coredns_version.tar ]] ||
  bash "$here/image.sh" "$S/images/$coredns_version.tar" "local/coredns:${coredns_version#coredns-}" \
    '["/coredns"]' "/coredns=$coredns_bin/coredns"

# --- containerd ----------------------------------------------------------------
write_if_changed "$S/containerd/config.toml" <<EOF
version = 2
root = "$S/containerd/root"
state = "$S/containerd/state"
[grpc]
  address = "$S/containerd/containerd.sock"
[ttrpc]
  address = "$S/containerd/containerd.sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/local/pause:saker-1"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$S/cni/net.d"
EOF
write_if_changed "$S/cni/net.d/10-saker-bridge.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "saker-k8s",
  "plugins": [
    {"type": "bridge", "bridge": "sakercni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$S/cni/ipam",
              "ranges": [[{"subnet": "10.244.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "loopback"}
  ]
}
EOF
start containerd containerd --config "$S/containerd/config.toml"
ctr=(ctr -a "$S/containerd/containerd.sock" -n k8s.io)
wait_for containerd 30 "${ctr[@]}" version
for tar in "$S/images/pause.tar" "$S/images/$coredns_version.tar" ${SAKER_K8S_IMAGES:-}; do
  "${ctr[@]}" images import --no-unpack "$tar" >/dev/null
done
say "images imported"

# --- etcd ------------------------------------------------------------------------
start etcd etcd --name saker-k8s --data-dir "$S/etcd/data" \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster saker-k8s=http://127.0.0.1:2380 --quota-backend-bytes=2147483648 \
  --listen-metrics-urls=http://127.0.0.1:2381
wait_for etcd 30 curl -sf http://127.0.0.1:2379/health

# --- control plane -------------------------------------------------------------------
audit=()
if [[ -n ${SAKER_K8S_AUDIT_WEBHOOK:-} ]]; then
  [[ -f $SAKER_K8S_AUDIT_WEBHOOK ]] || { echo "up.sh: SAKER_K8S_AUDIT_WEBHOOK: no file $SAKER_K8S_AUDIT_WEBHOOK" >&2; exit 1; }
  audit=(
    "--audit-policy-file=${SAKER_K8S_AUDIT_POLICY:-$repo/deploy/audit/audit-policy.yaml}"
    "--audit-webhook-config-file=$SAKER_K8S_AUDIT_WEBHOOK"
    --audit-webhook-mode=batch --audit-webhook-batch-max-wait=1s --audit-webhook-initial-backoff=1s
  )
fi
start kube-apiserver kube-apiserver \
  --etcd-servers=http://127.0.0.1:2379 \
  --bind-address="$IP" --advertise-address="$IP" --secure-port=6443 \
  --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
  --client-ca-file="$PKI/ca.crt" \
  --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
  --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
  --kubelet-preferred-address-types=InternalIP \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
  --service-cluster-ip-range=10.96.0.0/16 \
  --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
  --allow-privileged=true --profiling=false "${audit[@]}"
kc=(kubectl --kubeconfig="$PKI/admin.kubeconfig")
wait_for kube-apiserver 120 "${kc[@]}" get --raw /readyz

start kube-controller-manager kube-controller-manager \
  --kubeconfig="$PKI/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$PKI/controller-manager.kubeconfig" \
  --authorization-kubeconfig="$PKI/controller-manager.kubeconfig" \
  --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
  --root-ca-file="$PKI/ca.crt" --service-account-private-key-file="$PKI/sa.key" \
  --use-service-account-credentials=true --service-cluster-ip-range=10.96.0.0/16 \
  --allocate-node-cidrs=true --cluster-cidr=10.244.0.0/16 --node-cidr-mask-size=24 \
  --leader-elect=false --profiling=false --bind-address=127.0.0.1
start kube-scheduler kube-scheduler \
  --kubeconfig="$PKI/scheduler.kubeconfig" \
  --authentication-kubeconfig="$PKI/scheduler.kubeconfig" --authorization-kubeconfig="$PKI/scheduler.kubeconfig" \
  --leader-elect=false --profiling=false --bind-address=127.0.0.1

# --- node -------------------------------------------------------------------------------
echo "nameserver 127.0.0.1" | write_if_changed "$S/kubelet/resolv.conf"
write_if_changed "$S/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
failCgroupV1: false
containerRuntimeEndpoint: unix://$S/containerd/containerd.sock
clusterDomain: cluster.local
clusterDNS: [10.96.0.10]
resolvConf: $S/kubelet/resolv.conf
address: $IP
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
failSwapOn: false
syncFrequency: ${SAKER_K8S_SYNC:-10s}
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
podPidsLimit: -1
maxPods: 110
EOF
start kubelet kubelet --config="$S/kubelet/config.yaml" --kubeconfig="$PKI/kubelet.kubeconfig" \
  --root-dir="$S/kubelet/root" --node-ip="$IP" --hostname-override="$NODE" --v=1
write_if_changed "$S/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $PKI/kube-proxy.kubeconfig}
hostnameOverride: $NODE
mode: iptables
clusterCIDR: 10.244.0.0/16
conntrack: {maxPerCore: 0}
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
EOF
"${kc[@]}" create clusterrolebinding saker-test-kube-proxy --clusterrole=system:node-proxier \
  --user=system:kube-proxy --dry-run=client -o yaml | "${kc[@]}" apply -f - >/dev/null
start kube-proxy kube-proxy --config="$S/kube-proxy.yaml"
wait_for "node $NODE Ready" 120 "${kc[@]}" wait --for=condition=Ready "node/$NODE" --timeout=1s

# --- cluster DNS ----------------------------------------------------------------------
write_if_changed "$S/addons/coredns.yaml" <<EOF
apiVersion: v1
kind: ServiceAccount
metadata: {name: coredns, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:coredns"}
rules:
  - apiGroups: [""]
    resources: [endpoints, services, pods, namespaces]
    verbs: [list, watch]
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}
subjects: [{kind: ServiceAccount, name: coredns, namespace: kube-system}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  Corefile: |
    .:1053 {
        errors
        health :8080
        ready :8181
        kubernetes cluster.local in-addr.arpa ip6.arpa {
            pods insecure
            fallthrough in-addr.arpa ip6.arpa
        }
        cache 30
        loop
        reload
    }
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  replicas: 1
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      serviceAccountName: coredns
      tolerations: [{operator: Exists}]
      securityContext: {runAsNonRoot: true, runAsUser: 65534, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: coredns
          image: docker.io/local/coredns:${coredns_version#coredns-}
          imagePullPolicy: Never
          args: [-conf, /etc/coredns/Corefile]
          ports:
            - {name: dns, containerPort: 1053, protocol: UDP}
            - {name: dns-tcp, containerPort: 1053, protocol: TCP}
          readinessProbe: {httpGet: {path: /ready, port: 8181}, periodSeconds: 2}
          securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
          volumeMounts: [{name: config, mountPath: /etc/coredns, readOnly: true}]
      volumes: [{name: config, configMap: {name: coredns}}]
---
apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  clusterIP: 10.96.0.10
  selector: {k8s-app: kube-dns}
  ports:
    - {name: dns, port: 53, targetPort: 1053, protocol: UDP}
    - {name: dns-tcp, port: 53, targetPort: 1053, protocol: TCP}
EOF
"${kc[@]}" apply -f "$S/addons/coredns.yaml" >/dev/null
wait_for coredns 120 "${kc[@]}" -n kube-system rollout status deploy/coredns --timeout=1s

cat >"$S/env" <<EOF
export KUBECONFIG=$PKI/admin.kubeconfig
export PATH=$k8s_bin:\$PATH
export CONTAINERD_ADDRESS=$S/containerd/containerd.sock
export CONTAINERD_NAMESPACE=k8s.io
EOF
say "cluster up: node $NODE ($IP); source $S/env"
