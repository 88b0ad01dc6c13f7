#!/usr/bin/env bash
# Builds the logprobe OCI image for this machine's architecture and exports it.
#
#   image/build.sh [ARCHIVE]      default ARCHIVE: target/image/logprobe.oci.tar
#
# Builds the static executable with scripts/build-static (or takes LOGPROBE_EXE),
# builds image/Containerfile with podman from a context holding only that file,
# tags it localhost/logprobe:<version> and :latest, writes an OCI archive, and
# prints the archive's manifest digest on stdout (progress goes to stderr).
# The build is reproducible: --timestamp 0 pins every date in the image, so the
# same executable always gives the same digest. Installs nothing: see
# `scripts/install-deps packaging`.
# Env: LOGPROBE_EXE (prebuilt executable), LOGPROBE_SOURCE (source URL label;
# default: `repository` from Cargo.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
. image/podman-env.sh

archive=${1:-target/image/logprobe.oci.tar}
exe=${LOGPROBE_EXE:-$(scripts/build-static)}
version=$("$exe" --version | awk '$1 == "logprobe" { print $2 }')
[[ -n $version ]] || { echo "build.sh: $exe --version did not print 'logprobe <version>'" >&2; exit 1; }
source_url=${LOGPROBE_SOURCE:-$(python3 -c 'import tomllib
print(tomllib.load(open("Cargo.toml", "rb"))["package"].get("repository", ""))' 2>/dev/null || true)}
[[ -n $source_url ]] || echo "build.sh: warning: no repository in Cargo.toml and no LOGPROBE_SOURCE; the source label is empty" >&2

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
use_private_podman_conf "$tmp"
mkdir "$tmp/context"
cp "$exe" "$tmp/context/logprobe"

image=localhost/logprobe:$version
# --layers=false: one commit, no intermediate images; --timestamp 0: reproducible.
podman build --quiet --layers=false --timestamp 0 \
  --build-arg VERSION="$version" --build-arg SOURCE="$source_url" \
  -f image/Containerfile -t "$image" -t localhost/logprobe:latest "$tmp/context" >/dev/null

mkdir -p "$(dirname "$archive")"
rm -f "$archive"
podman save --quiet --format oci-archive -o "$archive" "$image"
digest=$(skopeo inspect --format '{{.Digest}}' "oci-archive:$archive")
echo "build.sh: $image -> $archive ($(stat -c %s "$archive") bytes), manifest $digest" >&2
echo "$digest"
