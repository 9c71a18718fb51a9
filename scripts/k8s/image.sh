#!/usr/bin/env bash
# Packs files into a one-layer image as a docker-archive tar, which
# `ctr -n k8s.io images import` loads: no registry and no Docker needed.
# Used for the test cluster's own images (pause, CoreDNS, a busybox shell).
# Stages the files here; the tar is written by packaging's writer
# (`node packaging/dist/src/main.js archive`, needs the project built).
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
mkdir -p "$work/root"
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

# Owned by root in the image, whoever owns the sources.
if [[ $(id -u) -eq 0 ]]; then chown -R -h 0:0 "$work/root"; fi
# The one docker-archive writer (packaging/src/image-archive.ts), which npm run images uses too.
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
node "$repo/packaging/dist/src/main.js" archive "$out" "$tag" "$entrypoint" "$work/root" >/dev/null
