#!/usr/bin/env bash
# Builds the logprobe OCI image index, linux/amd64 and linux/arm64, and exports it.
#
#   image/build.sh [ARCHIVE]      default ARCHIVE: target/image/logprobe.oci.tar
#
# For each platform it takes the static executable (LOGPROBE_EXE for amd64,
# LOGPROBE_EXE_ARM64 for arm64; else scripts/build-static builds it), builds
# image/Containerfile with podman from a context holding only that file, and
# tags it localhost/logprobe:<version>-<platform>. Then it makes the index of
# both, localhost/logprobe:<version> and :latest in podman's storage (podman
# run picks the machine's own platform from it; `podman run --arch arm64` needs
# the -arm64 tag), writes it with both images to ARCHIVE as an OCI archive whose
# one reference is localhost/logprobe:<version> (what `skopeo copy --all` pushes
# and `ctr images import` imports), and prints the index's digest on stdout
# (progress goes to stderr). The build is reproducible: --timestamp 0 pins every
# date in the images, so the same executables always give the same digests.
# Installs nothing: see `scripts/install-deps packaging arm64`.
# Env: LOGPROBE_EXE, LOGPROBE_EXE_ARM64 (prebuilt executables), LOGPROBE_PLATFORMS
# (default "amd64 arm64"; e.g. "amd64" for an index of the native image alone),
# LOGPROBE_SOURCE (source URL label; default: `repository` from Cargo.toml).
# Removing what it made: remove_logprobe_images in image/podman-env.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
. image/podman-env.sh

archive=${1:-target/image/logprobe.oci.tar}
read -ra platforms <<<"${LOGPROBE_PLATFORMS:-amd64 arm64}"
((${#platforms[@]})) || { echo "build.sh: LOGPROBE_PLATFORMS is empty (amd64, arm64)" >&2; exit 2; }

declare -A exe
version=
for p in "${platforms[@]}"; do
  case $p in
    amd64) exe[$p]=${LOGPROBE_EXE:-$(scripts/build-static amd64)} ;;
    arm64) exe[$p]=${LOGPROBE_EXE_ARM64:-$(scripts/build-static arm64)} ;;
    *) echo "build.sh: unknown platform '$p' in LOGPROBE_PLATFORMS (amd64, arm64)" >&2; exit 2 ;;
  esac
  [[ $(elf_platform "${exe[$p]}") == "$p" ]] ||
    { echo "build.sh: ${exe[$p]} is not a linux/$p executable ($(elf_platform "${exe[$p]}"))" >&2; exit 1; }
  # An arm64 executable runs here through qemu (binfmt_misc: scripts/install-deps arm64).
  v=$("${exe[$p]}" --version 2>/dev/null | awk '$1 == "logprobe" { print $2 }') || true
  [[ -n $v ]] || { echo "build.sh: ${exe[$p]} --version did not print 'logprobe <version>'" >&2; exit 1; }
  [[ -z $version || $v == "$version" ]] ||
    { echo "build.sh: the executables disagree on the version ($version, $v from ${exe[$p]})" >&2; exit 1; }
  version=$v
done
source_url=${LOGPROBE_SOURCE:-$(python3 -c 'import tomllib
print(tomllib.load(open("Cargo.toml", "rb"))["package"].get("repository", ""))' 2>/dev/null || true)}
[[ -n $source_url ]] || echo "build.sh: warning: no repository in Cargo.toml and no LOGPROBE_SOURCE; the source label is empty" >&2

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
use_private_podman_conf "$tmp"

index=localhost/logprobe:$version
remove_logprobe_images "$version"
podman manifest create "$index" >/dev/null
for p in "${platforms[@]}"; do
  mkdir "$tmp/$p"
  cp "${exe[$p]}" "$tmp/$p/logprobe"
  # --layers=false: one commit, no intermediate images; --timestamp 0: reproducible.
  # COPY only, so building for arm64 needs no emulation.
  podman build --quiet --layers=false --timestamp 0 --platform "linux/$p" \
    --build-arg VERSION="$version" --build-arg SOURCE="$source_url" \
    -f image/Containerfile -t "$index-$p" "$tmp/$p" >/dev/null
  podman manifest add "$index" "containers-storage:$index-$p" >/dev/null
done
podman tag "$index" localhost/logprobe:latest

mkdir -p "$(dirname "$archive")"
rm -f "$archive"
podman manifest push --quiet --all --format oci "$index" "oci-archive:$archive:$index"
digest=sha256:$(skopeo inspect --raw "oci-archive:$archive" | sha256sum | cut -d' ' -f1)
echo "build.sh: $index (${platforms[*]}) -> $archive ($(stat -c %s "$archive") bytes), index $digest" >&2
echo "$digest"
