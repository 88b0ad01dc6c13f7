#!/usr/bin/env bash
# End-to-end check of logprobe on containerd's CRI API, driven as the kubelet drives
# it (see e2e/cri/README.md for what it proves and what only a real cluster would).
#
#   bash e2e/cri/run.sh
#
# Builds the logprobe image (image/build.sh), the Filebeat stand-in
# (e2e/standin/) and a catatonit pause image with podman, as OCI archives; gets
# the CRI API's protobuf definitions from the k8s-cri crate (cargo fetch) and
# compiles them with grpcio-tools; renders deploy/kustomize on the official 9.x
# and 7.17 DaemonSets (../shared) and takes deploy/example as it is; then
# e2e/cri/scenarios.py starts a private containerd, imports the archives and plays
# the pods (node.py: containerd; kubelet.py: the kubelet's part). Tears everything
# down, on failure too. Needs `scripts/install-deps cri` (containerd, podman,
# grpcio, grpcio-tools). Env: LOGPROBE_EXE (prebuilt executable; default:
# scripts/build-static), LOGPROBE_SHARED, CI.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh # ok, fail, shared_missing; $shared
. image/podman-env.sh

K8S_CRI=0.11.0 # the crate whose proto/v1.proto is the CRI API (runtime.v1)
prefix=localhost/logprobe-cri
t0=$SECONDS

missing=()
for cmd in containerd ctr podman skopeo kubectl cargo; do command -v "$cmd" >/dev/null || missing+=("$cmd"); done
python3 -c 'import grpc, grpc_tools, yaml' 2>/dev/null || missing+=("python3 modules grpc, grpc_tools, yaml")
if ((${#missing[@]})); then
  echo "cri: missing ${missing[*]}; run scripts/install-deps cri" >&2
  exit 2
fi

tmp=$(mktemp -d /tmp/logprobe-cri.XXXXXX)
made_images=() made_logprobe=
cgroups_before=$(find /sys/fs/cgroup -maxdepth 2 -name k8s.io -type d 2>/dev/null)
cleanup() {
  local rc=$? pid
  set +e
  # scenarios.py stops containerd itself; this is for when it could not (killed, crashed):
  # its containers' tasks killed and deleted through containerd, then containerd and
  # any shim left stopped by pid.
  if [[ -s $tmp/containerd/containerd.pid ]]; then
    pid=$(cat "$tmp/containerd/containerd.pid")
    if kill -0 "$pid" 2>/dev/null; then
      echo "cri: containerd (pid $pid) still running after the scenarios: removing its tasks, stopping it and its shims" >&2
      local c=(ctr -a "$tmp/containerd/containerd.sock" -n k8s.io) task
      for task in $("${c[@]}" tasks ls -q); do "${c[@]}" tasks kill -s SIGKILL "$task"; done
      sleep 1
      for task in $("${c[@]}" tasks ls -q); do "${c[@]}" tasks delete -f "$task"; done
      for task in $("${c[@]}" containers ls -q); do "${c[@]}" containers rm "$task"; done
      kill "$pid"
      sleep 1
      for shim in $(pgrep -f -- "-address $tmp/containerd/containerd.sock"); do kill -9 "$shim"; done
    fi
  fi
  grep -o " $tmp/[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m"; done
  # containerd's parent cgroup for the CRI's containers, if this run made it (empty by now).
  [[ -n $cgroups_before ]] || for d in /sys/fs/cgroup/*/k8s.io /sys/fs/cgroup/k8s.io; do
    [[ ! -d $d ]] || rmdir "$d"
  done
  podman rmi -f "${made_images[@]}" >/dev/null 2>&1
  [[ -z $made_logprobe ]] || remove_logprobe_images "$made_logprobe"
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
use_private_podman_conf "$tmp"

# --- the CRI API, for Python --------------------------------------------------------
mkdir -p "$tmp/crate/src" "$tmp/api"
cat >"$tmp/crate/Cargo.toml" <<EOF
[package]
name = "cri-proto"
version = "0.0.0"
edition = "2021"
[dependencies]
k8s-cri = "=$K8S_CRI"
EOF
echo 'fn main() {}' >"$tmp/crate/src/main.rs"
cargo fetch -q --manifest-path "$tmp/crate/Cargo.toml"
crate_dir=$(cargo metadata -q --offline --format-version 1 --manifest-path "$tmp/crate/Cargo.toml" |
  python3 -c 'import json, os, sys
print(next(os.path.dirname(p["manifest_path"]) for p in json.load(sys.stdin)["packages"] if p["name"] == "k8s-cri"))')
cp "$crate_dir/proto/v1.proto" "$tmp/api/v1.proto"
python3 -m grpc_tools.protoc -I "$tmp/api" --python_out="$tmp/api" --grpc_python_out="$tmp/api" "$tmp/api/v1.proto"
echo "cri: CRI API from k8s-cri $K8S_CRI (proto/v1.proto), compiled with grpcio-tools $(python3 -m pip show grpcio-tools 2>/dev/null | awk '$1 == "Version:" { print $2 }') ($((SECONDS - t0))s)"

# --- images -------------------------------------------------------------------------
case $(uname -m) in
  x86_64) platform=linux/amd64 ;;
  aarch64) platform=linux/arm64 ;;
  *) echo "cri: no OCI platform for $(uname -m)" >&2; exit 2 ;;
esac
export LOGPROBE_EXE=${LOGPROBE_EXE:-$(scripts/build-static)}
version=$("$LOGPROBE_EXE" --version | awk '{ print $2 }')
# image/build.sh leaves the image (an index of the platforms it built) in podman's
# storage: removed at the end unless it was there before.
if ! podman image exists "localhost/logprobe:$version" && ! podman manifest exists "localhost/logprobe:$version"; then
  made_logprobe=$version
fi
image/build.sh "$tmp/logprobe.oci.tar" >/dev/null 2>"$tmp/build.log" || { cat "$tmp/build.log" >&2; exit 1; }

mkdir -p "$tmp/standin/rootfs/bin" "$tmp/standin/rootfs/usr/share/filebeat" "$tmp/pause"
cp /bin/busybox "$tmp/standin/rootfs/bin/busybox"
ln -s busybox "$tmp/standin/rootfs/bin/sh"
cp e2e/standin/filebeat-standin "$tmp/standin/rootfs/usr/share/filebeat/"
cp "$(command -v catatonit)" "$tmp/pause/catatonit"
printf 'FROM scratch\nCOPY catatonit /catatonit\nENTRYPOINT ["/catatonit", "-P"]\n' >"$tmp/pause/Containerfile"
made_images+=("$prefix-filebeat-standin:latest" "$prefix-pause:latest")
podman build --quiet --layers=false --timestamp 0 -f e2e/standin/Containerfile \
  -t "$prefix-filebeat-standin:latest" "$tmp/standin" >/dev/null
podman build --quiet --layers=false --timestamp 0 -t "$prefix-pause:latest" "$tmp/pause" >/dev/null
podman save --quiet --format oci-archive -o "$tmp/standin.oci.tar" "$prefix-filebeat-standin:latest"
podman save --quiet --format oci-archive -o "$tmp/pause.oci.tar" "$prefix-pause:latest"
echo "cri: images: localhost/logprobe:$version (image/build.sh), the Filebeat stand-in, catatonit as the pause image ($((SECONDS - t0))s)"

# --- the pod specs deploy/ gives users ----------------------------------------------
manifests=()
if [[ -d $shared/elastic-beats ]]; then
  for v in 9:9.5.2 7:7.17.21; do
    deploy/kustomize/build-with.sh "$shared/elastic-beats/filebeat-kubernetes.${v#*:}.yaml" >"$tmp/k${v%%:*}.yaml"
    manifests+=(--manifest "k${v%%:*}=$tmp/k${v%%:*}.yaml")
  done
  echo "cri: deploy/kustomize applied to the official DaemonSets 9.5.2 (k9) and 7.17.21 (k7); deploy/example (example)"
else
  shared_missing "deploy/kustomize on the official DaemonSets" "$shared/elastic-beats"
fi
manifests+=(--manifest "example=deploy/example/filebeat-logprobe.yaml")

mkdir -p "$tmp/containerd"
rc=0
python3 -B e2e/cri/scenarios.py --api "$tmp/api" --dir "$tmp/containerd" --platform "$platform" \
  --pause "$tmp/pause.oci.tar=$prefix-pause:latest" \
  --logprobe "$tmp/logprobe.oci.tar=localhost/logprobe:$version" \
  --standin "$tmp/standin.oci.tar=$prefix-filebeat-standin:latest" "${manifests[@]}" || rc=$?
echo "cri: the step took $((SECONDS - t0))s"
((rc == 0 && failures == 0)) || exit 1
