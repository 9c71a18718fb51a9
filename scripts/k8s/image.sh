#!/usr/bin/env bash
# Packs files into a one-layer image as a docker-archive tar, which
# `ctr -n k8s.io images import` loads: no registry and no Docker needed.
# Used for the test cluster's own images (pause, CoreDNS, a busybox shell).
#
# Usage: image.sh OUT.tar NAME:TAG ENTRYPOINT_JSON ITEM...
#   ITEM is DEST=SRC (copy the file or folder SRC to DEST in the image) or
#   DEST->TARGET (a symbolic link). Example:
#   image.sh busybox.tar local/busybox:1 '["/bin/sh"]' /bin/busybox=/bin/busybox /bin/sh->busybox
# The layer is reproducible: sorted, owned by root, mtime 0.
set -euo pipefail
out=${1:?usage: image.sh OUT.tar NAME:TAG ENTRYPOINT_JSON ITEM...}
tag=${2:?image name:tag}
entrypoint=${3:?entrypoint as a JSON list}
shift 3
[[ $tag == *:* ]] || { echo "image.sh: '$tag' has no :TAG" >&2; exit 2; }
[[ $entrypoint == \[*\] ]] || { echo "image.sh: entrypoint '$entrypoint' is not a JSON list" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root" "$work/out"
for item in "$@"; do
  if [[ $item == *'->'* ]]; then
    dest=${item%%->*} target=${item#*->}
    mkdir -p "$work/root$(dirname "$dest")"
    ln -s "$target" "$work/root$dest"
  elif [[ $item == *=* ]]; then
    dest=${item%%=*} src=${item#*=}
    [[ -e $src ]] || { echo "image.sh: $src does not exist" >&2; exit 1; }
    mkdir -p "$work/root$(dirname "$dest")"
    cp -a "$src" "$work/root$dest"
  else
    echo "image.sh: '$item' is neither DEST=SRC nor DEST->TARGET" >&2
    exit 2
  fi
done
mkdir -p "$work/root/tmp" "$work/root/etc"
chmod 1777 "$work/root/tmp"
# A pod's /etc/hosts and /etc/resolv.conf are mounted by the kubelet; nsswitch is not.
[[ -e $work/root/etc/nsswitch.conf ]] || echo 'hosts: files dns' >"$work/root/etc/nsswitch.conf"

tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$work/root" -cf "$work/layer.tar" .
diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
mkdir -p "$work/out/$diff_id"
mv "$work/layer.tar" "$work/out/$diff_id/layer.tar"
cat >"$work/config.json" <<EOF
{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z",
 "config":{"Entrypoint":$entrypoint,"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"WorkingDir":"/"},
 "rootfs":{"type":"layers","diff_ids":["sha256:$diff_id"]}}
EOF
config_id=$(sha256sum "$work/config.json" | cut -d' ' -f1)
mv "$work/config.json" "$work/out/$config_id.json"
printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]\n' "$config_id" "$tag" "$diff_id" \
  >"$work/out/manifest.json"
mkdir -p "$(dirname "$out")"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$work/out" -cf "$out.tmp" .
mv "$out.tmp" "$out"
