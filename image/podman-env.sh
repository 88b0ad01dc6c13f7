# Sourced by the image and e2e scripts. Points podman at a private containers.conf with
# the settings this kind of VM needs (runc, cgroupfs, ulimits it allows, file events),
# leaving /etc/containers alone. Usage: use_private_podman_conf DIR  (DIR: the caller's temp dir)
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
