# shellcheck shell=bash
# Sourced by the image and e2e scripts. Points podman at a private containers.conf with
# the settings this kind of VM needs (runc, cgroupfs, ulimits it allows, file events),
# leaving /etc/containers alone. Usage: use_private_podman_conf DIR  (DIR: the caller's temp dir)
# Also: elf_platform FILE, remove_logprobe_images VERSION (below).
use_private_podman_conf() {
  cat >"$1/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  export CONTAINERS_CONF=$1/containers.conf
}

# elf_platform FILE: the platform FILE is an executable for (amd64, arm64), else what it is.
elf_platform() {
  local head
  head=$(od -An -tx1 -N20 "$1" 2>/dev/null | tr -d ' \n') || true
  case $head in
    7f454c46*) case ${head:36:4} in 3e00) echo amd64 ;; b700) echo arm64 ;; *) echo "ELF machine 0x${head:38:2}${head:36:2}" ;; esac ;;
    '') echo "unreadable" ;;
    *) echo "not an ELF file" ;;
  esac
}

# remove_logprobe_images VERSION: removes what image/build.sh made in podman's storage:
# the index localhost/logprobe:VERSION and :latest, and the images :VERSION-amd64 and
# :VERSION-arm64; a plain image under an index's name too. (`podman rmi` on an index's
# name would remove the native image in it, not the index: `podman manifest rm` it.)
remove_logprobe_images() {
  local name
  for name in "localhost/logprobe:$1" localhost/logprobe:latest; do
    if podman manifest exists "$name" 2>/dev/null; then
      podman manifest rm "$name" >/dev/null
    else
      podman rmi -f "$name" >/dev/null 2>&1 || true
    fi
  done
  podman rmi -f "localhost/logprobe:$1-amd64" "localhost/logprobe:$1-arm64" >/dev/null 2>&1 || true
}
