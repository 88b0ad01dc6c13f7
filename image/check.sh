#!/usr/bin/env bash
# Checks the logprobe image: reproducible, one layer holding only the executable,
# the right config and labels, and an executable that runs once unpacked.
# Builds with image/build.sh twice; removes what it built and its temp files.
# Env: LOGPROBE_EXE (prebuilt executable; default: scripts/build-static).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh # check, detail; counts failures
. image/podman-env.sh

tmp=$(mktemp -d)
version=
cleanup() {
  [[ -z $version ]] || podman rmi -f "localhost/logprobe:$version" localhost/logprobe:latest >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
use_private_podman_conf "$tmp"

export LOGPROBE_EXE=${LOGPROBE_EXE:-$(scripts/build-static)}
version=$("$LOGPROBE_EXE" --version | awk '{ print $2 }')
echo "image/check.sh: logprobe $version from $LOGPROBE_EXE"

# Reproducible: build, forget the image, build again from scratch.
digest1=$(image/build.sh "$tmp/first.oci.tar" 2>/dev/null)
id1=$(podman image inspect --format '{{.Id}}' "localhost/logprobe:$version")
podman rmi -f "localhost/logprobe:$version" localhost/logprobe:latest >/dev/null
digest2=$(image/build.sh "$tmp/image.oci.tar" 2>/dev/null)
id2=$(podman image inspect --format '{{.Id}}' "localhost/logprobe:$version")
check "same manifest digest twice ($digest1)" test "$digest1" = "$digest2"
check "same image id twice (sha256:$id1)" test "$id1" = "$id2"

# The archive as a registry would receive it.
skopeo copy --quiet "oci-archive:$tmp/image.oci.tar" "oci:$tmp/layout:logprobe"
manifest=$(skopeo inspect --raw "oci:$tmp/layout:logprobe")
config=$(skopeo inspect --config "oci:$tmp/layout:logprobe")
check "exactly one layer" test "$(jq '.layers | length' <<<"$manifest")" = 1
check "entrypoint is [\"/logprobe\"] with no cmd" \
  test "$(jq -c '[.config.Entrypoint, .config.Cmd]' <<<"$config")" = '[["/logprobe"],null]'
check "linux/amd64" test "$(jq -r '.os + "/" + .architecture' <<<"$config")" = linux/amd64
label() { jq -r --arg k "org.opencontainers.image.$1" '.config.Labels[$k] // ""' <<<"$config"; }
check "label version = $version" test "$(label version)" = "$version"
check "label licenses = Apache-2.0" test "$(label licenses)" = Apache-2.0
check "label title = logprobe" test "$(label title)" = logprobe
check "label description set" test -n "$(label description)"
check "label source set ($(label source))" test -n "$(label source)"

# The layer holds one regular file, /logprobe, root-owned, mode 0555, byte-identical to the executable.
layer=$tmp/layout/blobs/sha256/$(jq -r '.layers[0].digest | ltrimstr("sha256:")' <<<"$manifest")
listing=$(tar --numeric-owner -tvzf "$layer")
sed 's/^/layer: /' <<<"$listing" | detail
check "layer holds only logprobe" test "$(tar -tzf "$layer")" = logprobe
check "logprobe is mode 0555, owner 0:0" test "$(awk '{ print $1, $2 }' <<<"$listing")" = "-r-xr-xr-x 0/0"

# Unpacked on the host, the executable runs.
umoci unpack --image "$tmp/layout:logprobe" "$tmp/bundle" >/dev/null
check "rootfs holds only /logprobe" test "$(ls -A "$tmp/bundle/rootfs")" = logprobe
check "unpacked executable is the built one" cmp -s "$tmp/bundle/rootfs/logprobe" "$LOGPROBE_EXE"
out=$("$tmp/bundle/rootfs/logprobe" --version 2>&1) || true
check "unpacked /logprobe --version prints 'logprobe $version' ($out)" test "$out" = "logprobe $version"
out=$(podman run --rm --network none "localhost/logprobe:$version" --version 2>&1) || true
check "podman run of the image prints 'logprobe $version'" test "$out" = "logprobe $version"

layer_size=$(jq '.layers[0].size' <<<"$manifest")
exe_size=$(stat -c %s "$LOGPROBE_EXE")
echo "image/check.sh: digest $digest2, image id sha256:$id2"
echo "image/check.sh: size ${layer_size} bytes compressed layer, ${exe_size} bytes unpacked"
if ((failures)); then echo "image/check.sh: $failures check(s) FAILED"; exit 1; fi
echo "image/check.sh: all checks passed"
