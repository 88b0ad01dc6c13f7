#!/usr/bin/env bash
# Checks the logprobe image index: reproducible, linux/amd64 and linux/arm64 and
# nothing else, each image one layer holding only its platform's executable, the
# right config and labels, and executables that run once unpacked (arm64 through
# qemu) and in podman (arm64 with --arch arm64, through qemu's binfmt_misc entry).
# Builds with image/build.sh twice; removes what it built and its temp files.
# Env: LOGPROBE_EXE, LOGPROBE_EXE_ARM64 (prebuilt executables; default:
# scripts/build-static amd64, arm64).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh # check, detail; counts failures
. image/podman-env.sh

tmp=$(mktemp -d)
version=
cleanup() {
  [[ -z $version ]] || remove_logprobe_images "$version"
  rm -rf "$tmp"
}
trap cleanup EXIT
use_private_podman_conf "$tmp"

export LOGPROBE_EXE=${LOGPROBE_EXE:-$(scripts/build-static amd64)}
export LOGPROBE_EXE_ARM64=${LOGPROBE_EXE_ARM64:-$(scripts/build-static arm64)}
declare -A exe=([amd64]=$LOGPROBE_EXE [arm64]=$LOGPROBE_EXE_ARM64) size=()
version=$("$LOGPROBE_EXE" --version | awk '{ print $2 }')
echo "image/check.sh: logprobe $version from $LOGPROBE_EXE (amd64) and $LOGPROBE_EXE_ARM64 (arm64)"
command -v qemu-aarch64-static >/dev/null || { echo "image/check.sh: no qemu-aarch64-static: scripts/install-deps arm64" >&2; exit 2; }

# image_ids: each platform's image id, as podman's storage has it.
image_ids() {
  local p ids=()
  for p in amd64 arm64; do
    ids+=("$p=sha256:$(podman image inspect --format '{{.Id}}' "localhost/logprobe:$version-$p")")
  done
  echo "${ids[*]}"
}

# Reproducible: build, forget the images, build again from scratch.
digest1=$(image/build.sh "$tmp/first.oci.tar" 2>/dev/null)
ids1=$(image_ids)
remove_logprobe_images "$version"
digest2=$(image/build.sh "$tmp/image.oci.tar" 2>/dev/null)
ids2=$(image_ids)
check "same index digest twice ($digest1)" test "$digest1" = "$digest2"
check "same image ids twice ($ids1)" test "$ids1" = "$ids2"

# The archive as a registry would receive it: the index and both images.
skopeo copy --quiet --all "oci-archive:$tmp/image.oci.tar" "oci:$tmp/layout:logprobe"
index=$(skopeo inspect --raw "oci:$tmp/layout:logprobe")
check "the archive's one reference is localhost/logprobe:$version" \
  test "$(tar -xOf "$tmp/image.oci.tar" index.json | jq -r '[.manifests[].annotations["org.opencontainers.image.ref.name"]] | join(" ")')" = "localhost/logprobe:$version"
check "an OCI image index" test "$(jq -r .mediaType <<<"$index")" = application/vnd.oci.image.index.v1+json
check "for linux/amd64 and linux/arm64, nothing else" \
  test "$(jq -r '[.manifests[].platform | .os + "/" + .architecture] | sort | join(" ")' <<<"$index")" = "linux/amd64 linux/arm64"

for p in amd64 arm64; do
  echo "linux/$p:"
  skopeo copy --quiet --override-arch "$p" "oci:$tmp/layout:logprobe" "oci:$tmp/layout:$p"
  manifest=$(skopeo inspect --raw "oci:$tmp/layout:$p")
  config=$(skopeo inspect --config "oci:$tmp/layout:$p")
  check "  the index's linux/$p entry is this image" \
    test "$(jq -r --arg p "$p" '.manifests[] | select(.platform.architecture == $p) | .digest' <<<"$index")" \
    = "$(jq -r --arg p "$p" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $p) | .digest' "$tmp/layout/index.json")"
  check "  exactly one layer" test "$(jq '.layers | length' <<<"$manifest")" = 1
  check "  entrypoint is [\"/logprobe\"] with no cmd" \
    test "$(jq -c '[.config.Entrypoint, .config.Cmd]' <<<"$config")" = '[["/logprobe"],null]'
  check "  config says linux/$p" test "$(jq -r '.os + "/" + .architecture' <<<"$config")" = "linux/$p"
  label() { jq -r --arg k "org.opencontainers.image.$1" '.config.Labels[$k] // ""' <<<"$config"; }
  check "  label version = $version" test "$(label version)" = "$version"
  check "  label licenses = Apache-2.0" test "$(label licenses)" = Apache-2.0
  check "  label title = logprobe" test "$(label title)" = logprobe
  check "  label description set" test -n "$(label description)"
  check "  label source set ($(label source))" test -n "$(label source)"

  # The layer holds one regular file, /logprobe, root-owned, mode 0555, byte-identical to the executable.
  layer=$tmp/layout/blobs/sha256/$(jq -r '.layers[0].digest | ltrimstr("sha256:")' <<<"$manifest")
  listing=$(tar --numeric-owner -tvzf "$layer")
  sed 's/^/layer: /' <<<"$listing" | detail
  check "  layer holds only logprobe" test "$(tar -tzf "$layer")" = logprobe
  check "  logprobe is mode 0555, owner 0:0" test "$(awk '{ print $1, $2 }' <<<"$listing")" = "-r-xr-xr-x 0/0"

  # Unpacked, the executable is the built one, for this platform, and runs.
  umoci unpack --image "$tmp/layout:$p" "$tmp/bundle-$p" >/dev/null
  rootfs=$tmp/bundle-$p/rootfs
  check "  rootfs holds only /logprobe" test "$(ls -A "$rootfs")" = logprobe
  check "  unpacked executable is the built one" cmp -s "$rootfs/logprobe" "${exe[$p]}"
  check "  unpacked executable is for $p ($(elf_platform "$rootfs/logprobe"))" test "$(elf_platform "$rootfs/logprobe")" = "$p"
  if [[ $p == amd64 ]]; then
    out=$("$rootfs/logprobe" --version 2>&1) || true
  else
    out=$(qemu-aarch64-static "$rootfs/logprobe" --version 2>&1) || true
  fi
  check "  unpacked /logprobe --version prints 'logprobe $version'$([[ $p == arm64 ]] && echo ' (qemu-aarch64-static)') ($out)" \
    test "$out" = "logprobe $version"
  out=$(podman run --rm --network none --arch "$p" "localhost/logprobe:$version-$p" --version 2>&1) || true
  check "  podman run --arch $p of localhost/logprobe:$version-$p prints 'logprobe $version' ($out)" \
    test "$out" = "logprobe $version"
  size[$p]="$(jq '.layers[0].size' <<<"$manifest") bytes compressed layer, $(stat -c %s "${exe[$p]}") bytes unpacked"
done

# The index's tag runs the machine's own image.
case $(uname -m) in x86_64) native=amd64 ;; aarch64) native=arm64 ;; *) native=$(uname -m) ;; esac
out=$(podman run --rm --network none "localhost/logprobe:$version" --version 2>&1) || true
check "podman run of the index localhost/logprobe:$version prints 'logprobe $version' ($out)" \
  test "$out" = "logprobe $version"
check "  and runs its linux/$native image" \
  test "$(podman image inspect --format '{{.Id}}' "localhost/logprobe:$version")" = \
  "$(podman image inspect --format '{{.Id}}' "localhost/logprobe:$version-$native")"

echo "image/check.sh: index $digest2, images $ids2"
for p in amd64 arm64; do echo "image/check.sh: linux/$p: ${size[$p]}"; done
if ((failures)); then echo "image/check.sh: $failures check(s) FAILED"; exit 1; fi
echo "image/check.sh: all checks passed"
