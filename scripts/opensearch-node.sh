#!/usr/bin/env bash
# The test OpenSearch node (libs/testing/opensearch): fetches its jars from
# Maven Central and compiles its launcher into a versioned cache outside the
# repository, and prints the folder (classes/ and lib/ inside):
#
#   ${SAKER_TOOLS:-/var/cache/saker-tools}/opensearch-<version>-<launcher hash>
#
# Idempotent, like scripts/go-tools.sh: a complete folder is not made again;
# a build goes into a temporary folder renamed into place when done, under a
# lock. The first fetch is about 45 MB (55 jars) and took 1m18s here; later
# calls return at once. Needs mvn and a JDK 17 (Debian's maven and
# openjdk-17-jdk-headless; OpenSearch 2.19 is the newest that runs on 17).
set -euo pipefail

: "${SAKER_TOOLS:=/var/cache/saker-tools}"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
src=$here/libs/testing/opensearch
version=$(sed -n 's:.*<opensearch.version>\(.*\)</opensearch.version>.*:\1:p' "$src/pom.xml")
[[ -n $version ]] || { echo "opensearch-node: no <opensearch.version> in $src/pom.xml" >&2; exit 1; }
hash=$(cat "$src/pom.xml" "$src/src/OpenSearchNode.java" | sha256sum | cut -c1-12)
dir=$SAKER_TOOLS/opensearch-$version-$hash

if [[ -f $dir/.complete ]]; then
  echo "$dir"
  exit 0
fi
for tool in mvn javac; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "opensearch-node: $tool is not installed (apt-get install maven openjdk-17-jdk-headless)" >&2
    exit 1
  }
done
mkdir -p "$SAKER_TOOLS"
exec {lock}>"$SAKER_TOOLS/.opensearch-$version.lock"
flock "$lock"
if [[ ! -f $dir/.complete ]]; then
  start=$SECONDS
  tmp=$(mktemp -d "$SAKER_TOOLS/.opensearch-$version.XXXXXX")
  chmod 755 "$tmp"
  echo "opensearch-node: fetching OpenSearch $version from Maven Central" >&2
  # Maven's own repository stays inside the cache folder: nothing under ~/.m2.
  mvn -q -B -f "$src/pom.xml" -Dmaven.repo.local="$SAKER_TOOLS/.m2-opensearch" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp/lib" >&2
  javac -d "$tmp/classes" -cp "$tmp/lib/*" "$src/src/OpenSearchNode.java"
  echo "OpenSearch $version, launcher $hash, built $(date -u +%FT%TZ) with $(javac -version 2>&1)" >"$tmp/.complete"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  echo "opensearch-node: ready in $((SECONDS - start))s: $dir" >&2
fi
flock -u "$lock"
exec {lock}>&-
echo "$dir"
