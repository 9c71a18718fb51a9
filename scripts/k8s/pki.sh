#!/usr/bin/env bash
# A throwaway PKI for the single-node test cluster (up.sh): one CA, the API
# server's serving certificate, one client certificate and kubeconfig per
# component, the kubelet's serving certificate and the service-account keys.
# Usage: pki.sh DIR NODE_NAME NODE_IP     (does nothing when DIR/ca.crt exists)
set -euo pipefail
dir=${1:?usage: pki.sh DIR NODE_NAME NODE_IP}
node=${2:?node name}
ip=${3:?node ip}
[[ -f $dir/ca.crt ]] && exit 0
mkdir -p "$dir"
chmod 700 "$dir"
cd "$dir"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
  -days 7 -subj /CN=saker-test-cluster-ca 2>/dev/null

# cert NAME SUBJECT [SAN]: a key and a certificate signed by the CA; with a
# SAN it serves (and may be a client), without one it is a client only.
cert() {
  local name=$1 subject=$2 san=${3:-}
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$name.key" \
    -out "$name.csr" -subj "$subject" 2>/dev/null
  if [[ -n $san ]]; then
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature\n' "$san" >"$name.ext"
  else
    printf 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n' >"$name.ext"
  fi
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$name.crt" \
    -days 7 -extfile "$name.ext" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

kubeconfig() { # NAME: NAME.kubeconfig with NAME's client certificate
  cat >"$1.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: local
    cluster:
      certificate-authority: $dir/ca.crt
      server: https://$ip:6443
users:
  - name: $1
    user:
      client-certificate: $dir/$1.crt
      client-key: $dir/$1.key
contexts:
  - name: local
    context: {cluster: local, user: $1}
current-context: local
EOF
}

cert apiserver /CN=kube-apiserver \
  "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,DNS:$node,IP:127.0.0.1,IP:10.96.0.1,IP:$ip"
cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
cert kubelet-serving "/O=system:nodes/CN=system:node:$node" "DNS:$node,DNS:localhost,IP:127.0.0.1,IP:$ip"
cert admin "/O=system:masters/CN=saker-test-admin"
cert controller-manager /CN=system:kube-controller-manager
cert scheduler /CN=system:kube-scheduler
cert kube-proxy /CN=system:kube-proxy
cert kubelet "/O=system:nodes/CN=system:node:$node"
for c in admin controller-manager scheduler kube-proxy kubelet; do kubeconfig "$c"; done
# Service-account tokens are signed with RSA or ECDSA; the API server takes either.
openssl ecparam -name prime256v1 -genkey -noout -out sa.key 2>/dev/null
openssl ec -in sa.key -pubout -out sa.pub 2>/dev/null
