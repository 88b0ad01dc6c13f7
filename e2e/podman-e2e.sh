#!/usr/bin/env bash
# End-to-end check of logprobe as deploy/ wires it, with podman instead of a cluster:
#
#   e2e/podman-e2e.sh [--arch amd64|arm64]
#
# The logprobe image is image/build.sh's index, as deploy/ refers to it (podman picks
# the machine's own platform). With --arch arm64 the pods run its linux/arm64 image
# instead (the executable runs through qemu, registered with binfmt_misc by
# scripts/install-deps arm64), for phase 1 only: phases 2 to 6 test restarts and the
# crash-loop guard, the same code on either platform, and through qemu they would
# double the run.
#
# 1. kube play: the Filebeat DaemonSet of deploy/ played as Pods, with the logprobe
#    image and a busybox stand-in for Filebeat that writes Filebeat-shaped log lines:
#    - pod logs (the default): deploy/kustomize applied to the official 7.17 and 9.x
#      manifests, and deploy/example. The stand-in keeps -e and logs to stderr (plus,
#      on stdout, events quoting the stuck message, which must not count). podman has
#      no kubelet, so a kubelet emulation on the host copies the container's CRI
#      records (conmon writes them, as it does for CRI-O) into the node's
#      /var/log/pods/<namespace>_<pod>_<uid>/filebeat/0.log, rotates that the
#      kubelet's way (0.log.<time>, older ones gzipped) and rotates right after the
#      stuck record. The node's /var/log is a hostPath mounted at /var/log as in the
#      official DaemonSet, and a hostPath holds the service account's namespace file.
#      The probe runs without --pod-logs and finds its directory by itself: the
#      kustomize pods have hostNetwork's hostname (the node's) and the kubelet's
#      termination-log mount, so by the pod UID in /proc/self/mountinfo; the example
#      pod by its hostname (the pod's name) and namespace. Another Filebeat pod's
#      directory on the node holds the stuck message and must not count; asked for
#      a container that has no directory, the probe says it cannot check and passes.
#    - file logs: deploy/kustomize-file-logs on the same manifests; the stand-in
#      writes and rotates Filebeat's own files (7.x rename chain, 8.x+ new names).
#    The init container installs the probe; `podman healthcheck run` (the
#    livenessProbe) must pass while the log is benign and fail, with the UNHEALTHY
#    line, within failureThreshold runs once the stuck message is written (and rotated
#    away at once).
# 2. restart: the same probe as a podman health check with --health-on-failure
#    restart and the log directory on a volume that outlives the container: after the
#    trip the container restarts, and the probe is healthy again although the old
#    error line is still on the volume; a new error trips it again.
# 3. restart with pod logs: the same with Filebeat on stderr and the kubelet
#    emulation, where the restarted container's records go to a new 1.log while 0.log
#    and its rotations, with the old error, stay on the node.
# 4. the crash-loop guard: a kubelet emulation runs deploy/'s liveness and readiness
#    commands in the container each period and restarts it after failureThreshold
#    liveness failures. A stand-in that logs the one-shot start-up failure at every
#    start is restarted exactly K times (--max-restarts, by default 3), then stays
#    running: liveness passes (the rule is held back), readiness fails with one line
#    that says why (NotReady). With the cause fixed, `logprobe state reset` makes it
#    Ready again, and the one restart that this Filebeat still needs cures it. Again
#    with --max-restarts 1.
# 5. restart in a pod that shares its PID namespace (PID 1 is the infra process): the
#    restarted container is a new incarnation, healthy at its first liveness run.
# 6. Elastic Agent and ECK: deploy/kustomize-elastic-agent's standalone and managed
#    overlays on Elastic Agent's official manifests, and the DaemonSet ECK builds from
#    deploy/eck/beat.yaml (deploy/eck/eck.py pod; and as a 7.17 Beat), played as in 1
#    with the stand-in as Agent (its ndjson, with its Filebeat component's component.*
#    fields, on stderr) or as Filebeat, and the kubelet emulations of 1 and 4 (pod logs
#    under the container's own name; the rendered liveness and readiness commands):
#    healthy and Ready, then the one-shot start-up failure fails liveness from the next
#    period, naming the rule and that container's pod log, until the restart after
#    failureThreshold; the restarted container is healthy and Ready at once.
#
# Without ../shared (a user's clone), the official-manifest pods (Filebeat's and
# Agent's) are SKIPPED; under CI (CI=true) that is a FAIL. Cleans up its pods,
# containers, volumes, images and temp files. Env: LOGPROBE_EXE, LOGPROBE_EXE_ARM64
# (prebuilt executables; default: scripts/build-static), LOGPROBE_SHARED, CI.
# The stuck message is a one-shot start-up failure that the filebeat preset trips
# on at once (add_kubernetes_metadata: could not detect kubernetes env).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh # ok, fail, check, detail, shared_missing; counts failures; $shared
. image/podman-env.sh

arch=amd64
while (($#)); do
  case $1 in
    --arch) [[ ${2:-} == @(amd64|arm64) ]] || { echo "e2e: --arch needs amd64 or arm64, not '${2:-}'" >&2; exit 2; }
      arch=$2; shift 2 ;;
    *) echo "e2e: unknown argument '$1'; usage: e2e/podman-e2e.sh [--arch amd64|arm64]" >&2; exit 2 ;;
  esac
done

prefix=logprobe-e2e
standin=localhost/$prefix-filebeat-standin:latest
tmp=$(mktemp -d)
pods=() emulations=() logprobe_image= pause_existed=yes
cleanup() {
  local rc=$?
  set +e
  if ((rc && !failures)) && [[ -s $tmp/podman.log ]]; then
    echo "e2e: stopped (exit $rc); podman said:"
    grep -v 'systemd connection' "$tmp/podman.log" | tail -n 20
  fi
  {
    # Each kubelet emulation leads its own process group (tail and the copy loop).
    for pid in "${emulations[@]}"; do kill -- -"$pid"; done
    wait
    # Side by side: each takes seconds.
    for pod in "${pods[@]}"; do podman kube down "$tmp/$pod.yaml" & done
    wait
    podman pod rm -f -t 0 "$prefix-shared-pid"
    # kube play builds a pause image the first time; remove it if this run made it.
    [[ $pause_existed == yes ]] || podman rmi -f $(podman images -q --filter reference=localhost/podman-pause)
    podman rm -f -t 0 "$prefix-restart" "$prefix-restart-pods" "$prefix-crashloop" "$prefix-crashloop-1"
    podman volume rm -f $(podman volume ls -q --filter "name=$prefix")
    podman rmi -f "$standin"
    [[ -z $logprobe_image ]] || remove_logprobe_images "$version"
    rm -rf "$tmp"
  } >/dev/null 2>&1
}
trap cleanup EXIT
use_private_podman_conf "$tmp"
[[ -n $(podman images -q --filter reference=localhost/podman-pause) ]] || pause_existed=no

# podman 4.3 logs an error for each health-check timer it cannot create without systemd: keep it out.
pm() { podman "$@" 2>>"$tmp/podman.log"; }
health() { pm inspect --format '{{.State.Health.Status}}' "$1"; }
last_output() { pm inspect "$1" | jq -r '.[0].State.Health.Log[-1].Output'; }
wait_for() { # SECONDS COMMAND...: polls every 0.2 s
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do ((SECONDS < deadline)) || return 1; sleep 0.2; done
}
stuck_on_disk() { pm exec "$1" sh -c 'grep -l "could not detect kubernetes env" /usr/share/filebeat/logs/*'; }
# Pod-log directories on the node (DIR): the files the probe reads, not the gzipped ones.
pod_log_files() { ls "$1"/0.log "$1"/0.log.*[0-9] 2>/dev/null; }
pod_log_rotated() { ls "$1"/0.log.*.gz >/dev/null 2>&1; }
stdout_quotes_stuck() { pod_log_files "$1" | xargs -r grep -l ' stdout F .*could not detect kubernetes env'; }
# stuck_in_rotated_pod_log DIR [N]: the rotated N.log (default 0) files holding a stuck stderr record.
stuck_in_rotated_pod_log() { ls "$1/${2:-0}".log.*[0-9] 2>/dev/null | xargs -r grep -l ' stderr F .*could not detect kubernetes env'; }
stuck_in_gzipped_pod_log() { ls "$1"/0.log.*.gz 2>/dev/null | xargs -r zgrep -l ' stderr F .*could not detect kubernetes env'; }
# cannot_find_passes C: asked for another container's pod logs, which do not exist,
# the probe cannot check: it exits 0 (--on-error pass) and says so.
cannot_find_passes() {
  local out
  out=$(pm exec "$1" /probe/logprobe --state /tmp/other.json --container sidecar --format json) &&
    jq -e '.status == "error" and (.message | contains("cannot find this pod'"'"'s log directory"))' <<<"$out"
}
stuck_lines_are() { [[ $(pm exec "$1" sh -c 'cat /usr/share/filebeat/logs/* | grep -c "could not detect kubernetes env"') == "$2" ]]; }
running() { [[ $(pm inspect --format '{{.State.Status}}' "$1") == running ]]; }
logs_rotated() { pm exec "$1" sh -c '[ "$(ls /usr/share/filebeat/logs | wc -l)" -ge 2 ]'; }

# spec_of POD CONTAINER JQ: a field of the played pod's CONTAINER, raw.
spec_of() {
  jq -r ".[] | select(.kind == \"Pod\") | .spec.containers[] | select(.name == \"$2\") | $3" "$tmp/$1.json"
}
filebeat_spec() { spec_of "$1" filebeat "$2"; } # POD JQ

# Runs the health check up to N times, 1 s apart, until the container is unhealthy;
# prints how many runs that took (or N+1).
runs_until_unhealthy() {
  local c=$1 n=$2 i
  for ((i = 1; i <= n; i++)); do
    pm healthcheck run "$c" >/dev/null || true
    [[ $(health "$c") == unhealthy ]] && { echo "$i"; return; }
    sleep 1
  done
  echo $((n + 1))
}

# --- the kubelet emulation ------------------------------------------------------------
# rotate_like_kubelet LOG: what the kubelet's container log manager does when LOG
# (N.log) has grown past containerLogMaxSize, with containerLogMaxFiles 5: drop
# leftovers of a failed compression, keep at most 3 rotated files, gzip the rotated
# ones (through NAME.tmp, then NAME.gz), rename LOG to LOG.<YYYYMMDD-hhmmss>; the
# runtime then reopens LOG.
rotate_like_kubelet() {
  local log=$1 f rotated
  rm -f "$log".*.tmp
  rotated=("$log".*)
  [[ -e ${rotated[0]} ]] || rotated=()
  while ((${#rotated[@]} > 3)); do rm -f "${rotated[0]}"; rotated=("${rotated[@]:1}"); done
  for f in "${rotated[@]}"; do
    [[ $f == *.gz ]] || { gzip -c "$f" >"$f.tmp" && mv "$f.tmp" "$f.gz" && rm -f "$f"; }
  done
  mv "$log" "$log.$(date +%Y%m%d-%H%M%S)"
}

# kubelet_emulation CONTAINER DIR RUNTIME: copies CONTAINER's CRI records, as conmon
# writes them into podman's k8s-file log, into DIR/N.log, the kubelet's layout.
# RUNTIME cri-o keeps conmon's times (2026-11-26T10:00:00.123456789+00:00), as on
# CRI-O nodes; containerd writes them with Z. Rotates every ROTATE_BYTES (the
# kubelet's 10 MiB default, scaled down) and right after the stuck record, so the
# probe must find that in a rotated file.
# A restarted container (podman appends to the same k8s-file log) writes to the next
# N.log, as the kubelet names a container's log by its restart count: a record read
# after the container's pid file changed belongs to the new container.
kubelet_emulation() {
  local container=$1 dir=$2 runtime=$3 src pidfile pid last= n=0 rec
  read -r src pidfile < <(pm container inspect "$container" | jq -r '.[0] | "\(.HostConfig.LogConfig.Path) \(.PidFile)"')
  tail -n +1 -F "$src" 2>/dev/null | while IFS= read -r rec; do
    pid=$(cat "$pidfile" 2>/dev/null) || pid=$last
    [[ -z $last || $pid == "$last" ]] || n=$((n + 1))
    last=$pid
    [[ $runtime != containerd ]] || rec=${rec/+00:00 /Z }
    printf '%s\n' "$rec" >>"$dir/$n.log"
    if (($(stat -c %s "$dir/$n.log") >= ROTATE_BYTES)) || [[ $rec == *' stderr F '*'could not detect kubernetes env'* ]]; then
      rotate_like_kubelet "$dir/$n.log"
    fi
  done
}
ROTATE_BYTES=3000

# --- images -------------------------------------------------------------------------
export LOGPROBE_EXE=${LOGPROBE_EXE:-$(scripts/build-static)}
version=$("$LOGPROBE_EXE" --version | awk '{ print $2 }')
image/build.sh "$tmp/logprobe.oci.tar" >/dev/null 2>"$tmp/build.log" || { cat "$tmp/build.log"; exit 1; }
# The index, as deploy/ names it; for --arch arm64 its arm64 image, by its own tag.
logprobe_image=localhost/logprobe:$version
[[ $arch == amd64 ]] || logprobe_image+=-$arch
mkdir -p "$tmp/standin/rootfs/bin" "$tmp/standin/rootfs/usr/share/filebeat"
cp /bin/busybox "$tmp/standin/rootfs/bin/busybox"
ln -s busybox "$tmp/standin/rootfs/bin/sh"
cp e2e/standin/filebeat-standin "$tmp/standin/rootfs/usr/share/filebeat/"
pm build --quiet --layers=false --timestamp 0 -f e2e/standin/Containerfile -t "$standin" "$tmp/standin" >/dev/null
echo "e2e: logprobe $version ($logprobe_image, $arch), Filebeat stand-in $standin"

# --- deploy/'s DaemonSets played as Pods (1 and 6) -----------------------------------
# The node: its /var/log/pods (pod-log directories are made before the pod starts,
# as the kubelet does), the service accounts' namespace files, the kubelet's pod dirs.
node=$tmp/node
mkdir -p "$node/var/log/pods" "$node/var/lib/kubelet/pods"
# namespace_dir NS: prints the directory holding NS's service account namespace file.
namespace_dir() {
  mkdir -p "$node/serviceaccount/$1" && printf %s "$1" >"$node/serviceaccount/$1/namespace"
  echo "$node/serviceaccount/$1"
}
# For each played pod: the container the stand-in plays (main), where the probe reads
# (logging: pods, the kubelet's copy of its stderr, or files, the stand-in's own), for
# pod logs how the probe finds the directory (find: uid, name), the directory
# (logdir) and the runtime whose time format the records have.
declare -A main logging find logdir runtime
# play POD MANIFEST CONTAINER NAMESPACE HOW RUNTIME [ARG...]: plays MANIFEST's
# DaemonSet as the Pod POD (e2e/pod_from_daemonset.py, given ARGs), with the stand-in
# in place of CONTAINER's image, and keeps it as $tmp/POD.json. HOW: files, or pod
# logs found by uid or name: then CONTAINER's directory under the node's
# /var/log/pods is made first and the service account's namespace file mounted; for
# uid (hostNetwork, as the official DaemonSets and ECK's recipes have) the hostname is
# the node's, and the kubelet mounts the termination log from its directory for the
# pod, named by the UID.
play() {
  local pod=$1 manifest=$2 container=$3 ns=$4 how=$5 uid term
  local args=(--name "$pod" --container "$container" --logprobe-image "$logprobe_image" --standin-image "$standin")
  main[$pod]=$container find[$pod]=$how runtime[$pod]=$6 logging[$pod]=pods
  shift 6
  if [[ $how == files ]]; then
    logging[$pod]=files
  else
    uid=$(cat /proc/sys/kernel/random/uuid)
    logdir[$pod]=$node/var/log/pods/${ns}_${pod}_$uid/$container
    mkdir -p "${logdir[$pod]}"
    args+=(--mount "$(namespace_dir "$ns"):/var/run/secrets/kubernetes.io/serviceaccount")
    if [[ $how == uid ]]; then
      term=$node/var/lib/kubelet/pods/$uid/containers/$container/3b1f0c2d
      mkdir -p "${term%/*}" && : >"$term"
      args+=(--hostname e2e-node --mount "$term:/dev/termination-log")
    fi
  fi
  python3 e2e/pod_from_daemonset.py "$manifest" "${args[@]}" "$@" >"$tmp/$pod.yaml"
  python3 -c 'import json, sys, yaml; json.dump(list(yaml.safe_load_all(sys.stdin)), sys.stdout)' \
    <"$tmp/$pod.yaml" >"$tmp/$pod.json"
  pods+=("$pod")
  # podman 4.3's kube play now and then fails with "name ... is in use: pod already
  # exists" for a pod no one made before (a race in podman, its issue #18041): then
  # take down what it left and play once more; a second failure stops the test.
  if ! pm kube play --network none --log-driver k8s-file "$tmp/$pod.yaml" >/dev/null; then
    echo "e2e: podman kube play of $pod failed ($(tail -n 1 "$tmp/podman.log")); taken down and played again"
    pm kube down "$tmp/$pod.yaml" >/dev/null || true
    pm pod rm -f -t 0 "$pod" >/dev/null || true
    pm kube play --network none --log-driver k8s-file "$tmp/$pod.yaml" >/dev/null
  fi
}
# emulate_kubelet POD: the kubelet's part for a pod-log pod, in its own process group
# (which cleanup ends).
emulate_kubelet() {
  set -m
  kubelet_emulation "$1-${main[$1]}" "${logdir[$1]}" "${runtime[$1]}" 2>>"$tmp/emulation.log" &
  emulations+=($!)
  set +m
}
# wait_initial_delay POD: until its container's initialDelaySeconds have passed since
# it started (podman's start period; the kubelet probes no earlier).
wait_initial_delay() {
  local start delay
  start=$(date -d "$(pm inspect --format '{{.State.StartedAt}}' "$1-${main[$1]}" | cut -d' ' -f1-3)" +%s)
  delay=$(spec_of "$1" "${main[$1]}" .livenessProbe.initialDelaySeconds)
  while (($(date +%s) <= start + delay)); do sleep 0.5; done
}

# --- 1. kube play -------------------------------------------------------------------
namespace=kube-system
# Rows: pod name, manifest, log style of the Filebeat version it runs (7 or 8), where
# the probe reads (files: Filebeat's own files; uid, name: the kubelet's copy of its
# stderr, the directory found by the pod's UID or by its name) and for pod logs the
# runtime whose time format the records have.
sources=()
if [[ -d $shared/elastic-beats ]]; then
  for v in 7:7.17.21 9:9.5.2; do
    deploy/kustomize/build-with.sh "$shared/elastic-beats/filebeat-kubernetes.${v#*:}.yaml" >"$tmp/k${v%%:*}.yaml"
    deploy/kustomize-file-logs/build-with.sh "$shared/elastic-beats/filebeat-kubernetes.${v#*:}.yaml" >"$tmp/f${v%%:*}.yaml"
  done
  sources+=("$prefix-k7" "$tmp/k7.yaml" 7 uid cri-o
            "$prefix-k9" "$tmp/k9.yaml" 8 uid containerd
            "$prefix-f7" "$tmp/f7.yaml" 7 files -
            "$prefix-f9" "$tmp/f9.yaml" 8 files -)
else
  shared_missing "deploy/kustomize and deploy/kustomize-file-logs on the official manifests" "$shared/elastic-beats"
fi
sources+=("$prefix-example" deploy/example/filebeat-logprobe.yaml 8 name containerd)

for ((i = 0; i < ${#sources[@]}; i += 5)); do
  extra=(--env STANDIN_STYLE="${sources[i + 2]}")
  [[ ${sources[i + 3]} == files ]] || extra+=(--env STANDIN_STDOUT_EVENTS=1 --host-path "/var/log=$node/var/log")
  play "${sources[i]}" "${sources[i + 1]}" filebeat "$namespace" "${sources[i + 3]}" "${sources[i + 4]}" "${extra[@]}"
done
echo "e2e: played ${pods[*]}"

# The kubelet's part, for the pod-log pods; and a decoy: the directory of another
# Filebeat pod in the same namespace whose stderr holds the stuck message.
for pod in "${pods[@]}"; do
  [[ ${logging[$pod]} != pods ]] || emulate_kubelet "$pod"
done
decoy=$node/var/log/pods/${namespace}_filebeat-decoy_$(cat /proc/sys/kernel/random/uuid)/filebeat
mkdir -p "$decoy"
echo "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ) stderr F add_kubernetes_metadata: could not detect kubernetes env: unable to build kube config" >"$decoy/0.log"

for pod in "${pods[@]}"; do
  c=$pod-filebeat dir=${logdir[$pod]:-}
  if [[ ${logging[$pod]} == pods ]]; then
    echo "e2e: $pod (pod logs: ${runtime[$pod]} records in ${dir#"$node"})"
  else
    echo "e2e: $pod (file logs)"
  fi
  check "init container installed the probe" pm exec "$c" sh -c 'test -x /probe/logprobe'
  check "...the $arch executable" test "$(pm exec "$c" busybox cat /probe/logprobe | elf_platform /dev/stdin)" = "$arch"
  # Wait out initialDelaySeconds (the health check's start period) and a first rotation.
  if [[ ${logging[$pod]} == pods ]]; then
    check "Filebeat stand-in logs to stderr only: no log directory" pm exec "$c" sh -c '! test -e /usr/share/filebeat/logs'
    check "kubelet emulation writes 0.log and rotates it, gzipping older files" wait_for 30 pod_log_rotated "$dir"
    check "with --container sidecar (no such directory): could not check, exit 0" cannot_find_passes "$c"
    if [[ ${find[$pod]} == uid ]]; then
      check "hostname is the node's (e2e-node), as with hostNetwork" \
        test "$(pm exec "$c" sh -c 'cat /proc/sys/kernel/hostname')" = e2e-node
    fi
  else
    check "Filebeat stand-in writes and rotates its log" wait_for 30 logs_rotated "$c"
  fi
  wait_initial_delay "$pod"
  healthy_runs=0
  for _ in 1 2 3; do pm healthcheck run "$c" >/dev/null && healthy_runs=$((healthy_runs + 1)); sleep 0.5; done
  check "healthy on benign logs: 3 of 3 runs, status $(health "$c")" test "$healthy_runs-$(health "$c")" = 3-healthy
  echo "          probe said: $(last_output "$c")"
  if [[ ${logging[$pod]} == pods ]]; then
    check "...although stdout records quote the stuck message" wait_for 2 stdout_quotes_stuck "$dir"
  fi
  pm exec "$c" sh -c ': >/tmp/stuck'
  if [[ ${logging[$pod]} == pods ]]; then
    check "stand-in logged the stuck message to stderr, now in a rotated pod log" wait_for 5 stuck_in_rotated_pod_log "$dir"
  else
    check "stand-in logged the stuck message" wait_for 5 stuck_on_disk "$c"
  fi
  runs=$(runs_until_unhealthy "$c" 3)
  check "unhealthy after $runs run(s) (failureThreshold 3)" test "$runs" -le 3
  out=$(last_output "$c")
  echo "          probe said: ${out:0:200}..."
  want='UNHEALTHY: "add_kubernetes_metadata: could not detect kubernetes env"'
  check "probe output starts with $want" test "${out:0:${#want}}" = "$want"
  if [[ ${logging[$pod]} == pods ]]; then
    check "...found in this pod's own log directory, by ${find[$pod]/uid/pod UID}" \
      grep -q "\" in ${dir#"$node"}/0\.log\.[0-9-]* at byte " <<<"$out"
  fi
done

# finish: the emulations' errors, then the verdict (exit 1 on a failure).
finish() {
  if [[ -s $tmp/emulation.log ]]; then
    fail "kubelet emulation reported errors"; detail <"$tmp/emulation.log"
  fi
  if ((failures)); then
    echo "e2e: $failures check(s) FAILED; podman said:"
    grep -v 'systemd connection' "$tmp/podman.log" | tail -n 20
    exit 1
  fi
  echo "e2e: all checks passed"
}
if [[ $arch != amd64 ]]; then
  echo "e2e: --arch $arch: phase 1 only (see the header)"
  finish
  exit
fi

# --- 2. restart on failure, log dir on a volume -------------------------------------
# Same probe command and failureThreshold as the played pods' Filebeat, and the args
# of the first file-log pod (without one, the stand-in's default: files).
probe_cmd=$(filebeat_spec "${pods[0]}" '.livenessProbe.exec.command | @sh')
retries=$(filebeat_spec "${pods[0]}" .livenessProbe.failureThreshold)
filebeat_args=()
for pod in "${pods[@]}"; do
  [[ ${logging[$pod]} == files ]] || continue
  mapfile -t filebeat_args < <(filebeat_spec "$pod" '.args[]')
  break
done
c=$prefix-restart
echo "e2e: restart path ($c, health cmd: $probe_cmd)"
pm volume create "$prefix-logs" >/dev/null
pm volume create "$prefix-probe" >/dev/null
pm run --rm --network none -v "$prefix-probe:/probe" "$logprobe_image" install /probe >/dev/null
pm run -d --name "$c" --network none -v "$prefix-logs:/usr/share/filebeat/logs" -v "$prefix-probe:/probe" \
  -e STANDIN_STYLE=7 -e STANDIN_ROTATE_LINES=10 \
  --health-cmd "$probe_cmd" --health-retries "$retries" --health-interval 10s --health-on-failure restart \
  "$standin" "${filebeat_args[@]}" >/dev/null
wait_for 10 logs_rotated "$c"
check "healthy on benign logs" pm healthcheck run "$c"
pid_before=$(pm inspect --format '{{.State.Pid}}' "$c")
pm exec "$c" sh -c ': >/tmp/stuck'
wait_for 5 stuck_on_disk "$c"
failed=0
for ((i = 1; i <= retries; i++)); do
  pm healthcheck run "$c" >/dev/null || failed=$((failed + 1))
  sleep 1
done
check "the probe failed $failed of $retries runs" test "$failed" = "$retries"
wait_for 20 running "$c" || true
pid_after=$(pm inspect --format '{{.State.Pid}}' "$c")
check "podman restarted the container (pid $pid_before -> $pid_after)" test "$pid_after" != "$pid_before" -a "$pid_after" != 0
check "the old error line is still on the volume ($(stuck_on_disk "$c" | tr '\n' ' '))" stuck_on_disk "$c"
healthy_runs=0
for _ in 1 2 3; do pm healthcheck run "$c" >/dev/null && healthy_runs=$((healthy_runs + 1)); sleep 0.5; done
check "healthy in the new incarnation: $healthy_runs of 3 runs" test "$healthy_runs" = 3
pm exec "$c" sh -c ': >/tmp/stuck'
wait_for 5 stuck_lines_are "$c" 2
pm healthcheck run "$c" >/dev/null && rc=0 || rc=$?
check "a new error in the new incarnation trips it again" test "$rc" = 1

# --- 3. restart on failure, pod logs ------------------------------------------------
# As 2, with the args of the first pod-log pod (-e) and the kubelet emulation; the
# probe finds the directory by hostname and namespace.
filebeat_args=(-c /etc/filebeat.yml -e)
for pod in "${pods[@]}"; do
  [[ ${logging[$pod]} == pods ]] || continue
  mapfile -t filebeat_args < <(filebeat_spec "$pod" '.args[]')
  break
done
c=$prefix-restart-pods
dir=$node/var/log/pods/${namespace}_${c}_$(cat /proc/sys/kernel/random/uuid)/filebeat
mkdir -p "$dir"
echo "e2e: restart path with pod logs ($c, records in ${dir#"$node"})"
pm volume create "$prefix-probe-pods" >/dev/null
pm run --rm --network none -v "$prefix-probe-pods:/probe" "$logprobe_image" install /probe >/dev/null
pm run -d --name "$c" --hostname "$c" --network none --log-driver k8s-file -v "$prefix-probe-pods:/probe" \
  -v "$node/var/log:/var/log:ro" -v "$(namespace_dir "$namespace"):/var/run/secrets/kubernetes.io/serviceaccount:ro" \
  -e STANDIN_STYLE=8 -e STANDIN_STDOUT_EVENTS=1 \
  --health-cmd "$probe_cmd" --health-retries "$retries" --health-interval 10s --health-on-failure restart \
  "$standin" "${filebeat_args[@]}" >/dev/null
set -m
kubelet_emulation "$c" "$dir" containerd 2>>"$tmp/emulation.log" &
emulations+=($!)
set +m
wait_for 30 pod_log_rotated "$dir"
check "healthy on benign logs" pm healthcheck run "$c"
pid_before=$(pm inspect --format '{{.State.Pid}}' "$c")
pm exec "$c" sh -c ': >/tmp/stuck'
wait_for 5 stuck_in_rotated_pod_log "$dir"
failed=0
for ((i = 1; i <= retries; i++)); do
  pm healthcheck run "$c" >/dev/null || failed=$((failed + 1))
  sleep 1
done
check "the probe failed $failed of $retries runs" test "$failed" = "$retries"
wait_for 20 running "$c" || true
pid_after=$(pm inspect --format '{{.State.Pid}}' "$c")
check "podman restarted the container (pid $pid_before -> $pid_after)" test "$pid_after" != "$pid_before" -a "$pid_after" != 0
check "the restarted container's records go to 1.log" wait_for 10 test -s "$dir/1.log"
check "the old error record is still on the node, gzipped ($(stuck_in_gzipped_pod_log "$dir" | sed "s|^$node||"))" \
  stuck_in_gzipped_pod_log "$dir"
healthy_runs=0
for _ in 1 2 3; do pm healthcheck run "$c" >/dev/null && healthy_runs=$((healthy_runs + 1)); sleep 0.5; done
check "healthy in the new incarnation: $healthy_runs of 3 runs" test "$healthy_runs" = 3
pm exec "$c" sh -c ': >/tmp/stuck'
wait_for 5 stuck_in_rotated_pod_log "$dir" 1
pm healthcheck run "$c" >/dev/null && rc=0 || rc=$?
out=$(last_output "$c")
check "a new error in the new incarnation trips it again, in 1.log.<time>" \
  test "$rc-$(grep -c '" in /var/log/pods/[^ ]*/filebeat/1\.log\.[0-9-]* at byte ' <<<"$out")" = 1-1

# --- 4. the crash-loop guard ----------------------------------------------------------
# The kubelet's part, for one container at a time, with deploy/'s probes: each period
# (periodSeconds scaled down to 1 s) it runs the liveness command, then the readiness
# command, in the container with podman exec (the argv itself, as the kubelet execs
# it, within timeoutSeconds; the output is stdout and stderr, which the kubelet keeps
# too); after failureThreshold liveness failures in a row it restarts the container
# (podman restart: stopped and started again with the same volumes, as
# --health-on-failure restart does in 2). The readiness probe has failureThreshold and
# successThreshold 1, so each period's result is the Ready condition. What it saw goes
# to arrays indexed by period (kpid, live_rc, live_out, ready_rc, ready_out, restarted)
# and to $tmp/kubelet-<container>.log, in kubectl describe pod's words.
# kubelet_probes POD CONTAINER: probe as POD's spec says for CONTAINER (its liveness
# and readiness commands, timeouts, failureThreshold).
kubelet_probes() {
  kname=$2
  mapfile -t liveness < <(spec_of "$1" "$2" '.livenessProbe.exec.command[]')
  mapfile -t readiness < <(spec_of "$1" "$2" '.readinessProbe.exec.command[]')
  live_timeout=$(spec_of "$1" "$2" .livenessProbe.timeoutSeconds)
  ready_timeout=$(spec_of "$1" "$2" .readinessProbe.timeoutSeconds)
  retries=$(spec_of "$1" "$2" .livenessProbe.failureThreshold)
}
spec_pod=${pods[0]}
for pod in "${pods[@]}"; do [[ ${logging[$pod]} != files ]] || { spec_pod=$pod; break; }; done
kubelet_probes "$spec_pod" filebeat
file_args=() # Filebeat's args in a file-log pod (without one, the stand-in's default: files)
[[ ${logging[$spec_pod]} != files ]] || mapfile -t file_args < <(filebeat_spec "$spec_pod" '.args[]')
kubelet_reset() { # CONTAINER [ARG...]: a new container to probe; ARGs are added to the liveness command
  kc=$1; shift
  live_cmd=("${liveness[@]}" "$@")
  period=0 fails=0 restarts=0
  kpid=() live_rc=() live_out=() ready_rc=() ready_out=() restarted=()
  : >"$tmp/kubelet-$kc.log"
}
kubelet_period() {
  local out rc
  period=$((period + 1))
  kpid[period]=$(pm inspect --format '{{.State.Pid}}' "$kc")
  out=$(timeout "$live_timeout" podman exec "$kc" "${live_cmd[@]}" 2>&1) && rc=0 || rc=$?
  live_rc[period]=$rc live_out[period]=$out
  if ((rc)); then fails=$((fails + 1)); else fails=0; fi
  out=$(timeout "$ready_timeout" podman exec "$kc" "${readiness[@]}" 2>&1) && rc=0 || rc=$?
  ready_rc[period]=$rc ready_out[period]=$out restarted[period]=0
  {
    echo "period $period, pid ${kpid[period]}: liveness exit ${live_rc[period]}: ${live_out[period]:0:300}"
    if ((rc)); then echo "  NotReady: Readiness probe failed: $out"; else echo "  Ready: $out"; fi
  } >>"$tmp/kubelet-$kc.log"
  if ((fails >= retries)); then
    echo "  Killing: Container $kname failed liveness probe, will be restarted" >>"$tmp/kubelet-$kc.log"
    pm restart -t 5 "$kc" >/dev/null
    restarts=$((restarts + 1)) restarted[period]=1 fails=0
  fi
  sleep 1
}
kubelet_until() { # N COMMAND...: periods until COMMAND succeeds after one; at most N
  local n=$1 j; shift
  for ((j = 0; j < n; j++)); do kubelet_period; "$@" && return 0; done
  return 1
}
restarts_are() { [[ $restarts == "$1" ]]; }
# every_period FROM TO ARRAY VALUE: ARRAY holds VALUE for each period FROM..TO.
every_period() {
  local -n a=$3
  local i
  (($1 <= $2)) || return 1
  for ((i = $1; i <= $2; i++)); do [[ ${a[i]} == "$4" ]] || return 1; done
}
pids_seen() { printf '%s\n' "${kpid[@]}" | uniq | paste -sd' ' | sed 's/ / -> /g'; }
last_restart() { # the period of the latest restart, 0 for none
  local i
  for ((i = period; i > 0; i--)); do ((!restarted[i])) || { echo "$i"; return; }; done
  echo 0
}
# restarted_exactly K: K restarts so far, and K+1 containers (pids) seen.
restarted_exactly() { [[ $restarts == "$1" && $(printf '%s\n' "${kpid[@]}" | uniq | wc -l) == $(($1 + 1)) ]]; }
# held FROM: liveness exited 0 in each period from FROM, and no restart since FROM - 1.
held() { every_period "$1" "$period" live_rc 0 && (($(last_restart) < $1)); }
# not_ready_line OUT K: one line under 1 KiB that names the rule, the K incarnations and
# that a restart does not cure it.
not_ready_line() {
  local out=$1 times="each of the last $2 incarnations"
  (($2 > 1)) || times="the last incarnation"
  [[ $out != *$'\n'* ]] && (($(printf %s "$out" | wc -c) < 1024)) &&
    [[ $out == 'NOT READY: "add_kubernetes_metadata: could not detect kubernetes env" tripped '"$times "* ]] &&
    [[ $out == *"a restart does not cure it"* ]]
}
failed_starts_are() { # CONTAINER N: N start-up failures in the logs on its volume
  [[ $(pm exec "$1" sh -c 'cat /usr/share/filebeat/logs/filebeat* | grep -c "could not detect kubernetes env"') == "$2" ]]
}
kubelet_said() { # on failed checks: the kubelet emulation's last events
  echo "          kubelet emulation ($tmp/kubelet-$kc.log), last events:"
  tail -n 16 "$tmp/kubelet-$kc.log" | detail
}
fix_cause=/usr/share/filebeat/logs/.cause-fixed # the stand-in's STANDIN_FAIL_AT_START file
# crash_loop CONTAINER K [ARG...]: a Filebeat stand-in that logs the start-up failure at
# every start (STANDIN_FAIL_AT_START=$fail_at_start: always, or until $fix_cause
# exists), in a container of its own with the state and the logs on volumes,
# probed as deploy/ does (ARGs added to the liveness command): restarted exactly K
# times, then held for $held_periods periods: running, liveness passing, NotReady
# with the reason.
crash_loop() {
  local c=$1 k=$2 engaged i
  shift 2
  pm volume create "$c-logs" >/dev/null
  pm volume create "$c-probe" >/dev/null
  pm run --rm --network none -v "$c-probe:/probe" "$logprobe_image" install /probe >/dev/null
  pm run -d --name "$c" --network none -v "$c-logs:/usr/share/filebeat/logs" -v "$c-probe:/probe" \
    -e STANDIN_STYLE=8 -e STANDIN_ROTATE_LINES=100000 -e STANDIN_FAIL_AT_START="$fail_at_start" \
    "$standin" "${file_args[@]}" >/dev/null
  kubelet_reset "$c" "$@"
  kubelet_until $(((k + 1) * (retries + 3))) restarts_are "$k" || true
  engaged=$period
  for ((i = 0; i < held_periods; i++)); do kubelet_period; done
  check "restarted exactly $k time(s), after $retries liveness failures in a row each time (pids $(pids_seen))" \
    restarted_exactly "$k"
  check "the stand-in logged the start-up failure at each of its $((k + 1)) starts" failed_starts_are "$c" $((k + 1))
  check "readiness passed in each of the $engaged periods up to the restart that engaged the guard" \
    every_period 1 "$engaged" ready_rc 0
  check "then liveness exited 0 in each of $held_periods periods: no further restart" held $((engaged + 1))
  check "...the container is running, pid unchanged (${kpid[period]})" \
    test "$(pm inspect --format '{{.State.Status}} {{.State.Pid}}' "$c")" = "running ${kpid[period]}"
  echo "          liveness said: ${live_out[period]:0:420}..."
  check "...liveness says the rule is held back by the crash-loop guard" \
    grep -q '^HEALTHY (crash-loop guard): .* tripped again' <<<"${live_out[period]}"
  check "readiness failed (NotReady) in each of the $held_periods periods" \
    every_period $((engaged + 1)) "$period" ready_rc 1
  echo "          Readiness probe failed: ${ready_out[period]}"
  check "...one line of $(printf %s "${ready_out[period]}" | wc -c) bytes (< 1 KiB) naming the rule, and that a restart does not cure it" \
    not_ready_line "${ready_out[period]}" "$k"
}

cured() { held "$1" && failed_starts_are "$2" 4; } # FROM CONTAINER: after 4 failed starts
c=$prefix-crashloop
f0=$failures
echo "e2e: crash-loop guard, --max-restarts by default ($c)"
echo "          liveness: ${liveness[*]}; readiness: ${readiness[*]}; failureThreshold $retries"
held_periods=5 fail_at_start=$fix_cause
crash_loop "$c" 3
# The operator fixes the cause and resets the state, as the NOT READY line says.
# Readiness passes at once: the pod is Ready again. But this Filebeat logged the
# failure when it started and stays without metadata; only a restart cures it. The
# reset gives the guard its restarts back: liveness trips on this incarnation's line
# (the earlier incarnations' lines never count), the kubelet restarts it once more,
# and the new start, with the cause gone, is healthy and Ready.
pm exec "$c" sh -c ": >$fix_cause"
out=$(pm exec "$c" /probe/logprobe state reset --state /probe/state.json) || true
check "cause fixed, then logprobe state reset: \"$out\"" test "$out" = "forgot /probe/state.json"
from=$((period + 1))
kubelet_period
echo "          readiness said: ${ready_out[period]}"
check "readiness passes again at the next period (Ready)" test "${ready_rc[period]}" = 0
check "liveness trips again on this incarnation's start-up failure (exit ${live_rc[period]})" test "${live_rc[period]}" = 1
kubelet_until $((retries + 2)) restarts_are 4 || true
check "...so the kubelet restarts it once more, after $retries failures" \
  test "$restarts-$(last_restart)" = "4-$((from + retries - 1))"
from=$((period + 1))
for _ in 1 2 3; do kubelet_period; done
check "the new start (pids $(pids_seen)) logged no failure: healthy in 3 of 3 periods, no restart" \
  cured "$from" "$c"
check "...and Ready in each" every_period "$from" "$period" ready_rc 0
echo "          readiness said: ${ready_out[period]}"
((failures == f0)) || kubelet_said

c=$prefix-crashloop-1
f0=$failures
echo "e2e: crash-loop guard with --max-restarts 1 ($c)"
held_periods=4 fail_at_start=always
crash_loop "$c" 1 --max-restarts 1
((failures == f0)) || kubelet_said

# --- the pods of 6, played now: their initialDelaySeconds pass during 5 -------------
# Rows: pod, manifest, the container the stand-in plays, namespace, the stand-in's
# style, the runtime of the records, the node's log directory the manifest mounts.
agents=$shared/elastic-agent/deploy/kubernetes
sixth=()
if [[ -f $agents/elastic-agent-standalone-kubernetes.yaml && -f $agents/elastic-agent-managed-kubernetes.yaml ]]; then
  for v in standalone managed; do
    deploy/kustomize-elastic-agent/build-with.sh "$v" "$agents/elastic-agent-$v-kubernetes.yaml" >"$tmp/agent-$v.yaml"
  done
  sixth+=("$prefix-agent-standalone" "$tmp/agent-standalone.yaml" elastic-agent-standalone kube-system agent containerd /var/log
          "$prefix-agent" "$tmp/agent-managed.yaml" elastic-agent kube-system agent cri-o /var/log)
else
  shared_missing "deploy/kustomize-elastic-agent on Elastic Agent's DaemonSets" "$agents"
fi
python3 deploy/eck/eck.py pod deploy/eck/beat.yaml >"$tmp/eck.yaml"
sed 's/^  version: 9\.5\.2$/  version: 7.17.21/' deploy/eck/beat.yaml >"$tmp/beat-7.yaml"
python3 deploy/eck/eck.py pod "$tmp/beat-7.yaml" >"$tmp/eck-7.yaml"
sixth+=("$prefix-eck" "$tmp/eck.yaml" filebeat default 8 containerd /var/log/pods
        "$prefix-eck-7" "$tmp/eck-7.yaml" filebeat default 7 cri-o /var/log/pods)
sixth_pods=()
for ((i = 0; i < ${#sixth[@]}; i += 7)); do
  pod=${sixth[i]} hostpath=${sixth[i + 6]}
  play "$pod" "${sixth[i + 1]}" "${sixth[i + 2]}" "${sixth[i + 3]}" uid "${sixth[i + 5]}" \
    --env STANDIN_STYLE="${sixth[i + 4]}" --env STANDIN_STDOUT_EVENTS=1 --host-path "$hostpath=$node$hostpath" \
    --sandbox-keeper "$standin"
  emulate_kubelet "$pod"
  # The init container's own directory in the pod's, with a record quoting the stuck message.
  mkdir -p "${logdir[$pod]%/*}/logprobe-install"
  echo "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ) stderr F add_kubernetes_metadata: could not detect kubernetes env: decoy" \
    >"${logdir[$pod]%/*}/logprobe-install/0.log"
  sixth_pods+=("$pod")
done
echo "e2e: played ${sixth_pods[*]}"
check "ECK's DaemonSet for deploy/eck/beat.yaml as a 7.17.21 Beat runs filebeat:7.17.21" \
  grep -q 'image: docker.elastic.co/beats/filebeat:7.17.21$' "$tmp/eck-7.yaml"

# --- 5. restart in a pod that shares its PID namespace -------------------------------
# As with shareProcessNamespace, PID 1 is the pod's infra (pause) process, which
# outlives the container's restarts. The restarted container must still be a new
# incarnation: with the cause fixed, its first liveness run passes. (Were the
# incarnation PID 1's, the earlier container's sticky trip would carry over and fail it
# at once, and the guard would never count a restart.)
pod=$prefix-shared-pid c=$prefix-shared-pid-filebeat
f0=$failures
echo "e2e: restart in a pod sharing its PID namespace ($pod, podman pod create --share pid)"
pm volume create "$c-logs" >/dev/null
pm volume create "$c-probe" >/dev/null
pm run --rm --network none -v "$c-probe:/probe" "$logprobe_image" install /probe >/dev/null
pm pod create --name "$pod" --share pid --network none >/dev/null
pm run -d --pod "$pod" --name "$c" -v "$c-logs:/usr/share/filebeat/logs" -v "$c-probe:/probe" \
  -e STANDIN_STYLE=7 -e STANDIN_FAIL_AT_START="$fix_cause" "$standin" "${file_args[@]}" >/dev/null
init_of() { pm exec "$1" sh -c 'cat /proc/1/cmdline' | tr '\0' ' ' | sed 's/ $//'; }
same_init_no_new_failure() { failed_starts_are "$1" 1 && [[ $(init_of "$1") == "$2" ]]; }
init=$(init_of "$c")
check "PID 1 in the container is the pod's infra process ($init), not the stand-in" test "${init%% *}" = /catatonit
check "the stand-in logged the start-up failure" wait_for 5 failed_starts_are "$c" 1
pm exec "$c" sh -c ": >$fix_cause"
kubelet_reset "$c"
kubelet_until $((retries + 3)) restarts_are 1 || true
check "tripped, and restarted after $retries liveness failures (pid ${kpid[period]} -> $(pm inspect --format '{{.State.Pid}}' "$c"))" \
  test "$restarts-$(last_restart)" = "1-$period"
kubelet_period
echo "          liveness said: ${live_out[period]:0:300}"
check "the restarted container's first liveness run is healthy: a new incarnation (exit ${live_rc[period]})" \
  test "${live_rc[period]}" = 0
check "...and Ready" test "${ready_rc[period]}" = 0
check "...the new start logged no failure; PID 1 is still the infra process" \
  same_init_no_new_failure "$c" "$init"
((failures == f0)) || kubelet_said

# --- 6. Elastic Agent's DaemonSets and ECK's Beat ------------------------------------
# Played as in 1, from deploy/kustomize-elastic-agent's standalone and managed overlays
# on Elastic Agent's official manifests and from the DaemonSet ECK builds from
# deploy/eck/beat.yaml (deploy/eck/eck.py pod; also as a 7.17 Beat), with the stand-in
# in place of Agent's (Filebeat's) image: for Agent (STANDIN_STYLE=agent) it logs
# Agent's ndjson to stderr, its own lines and its Filebeat component's (component.*
# fields). The kubelet emulation of 1 keeps the CRI records under
# /var/log/pods/<ns>_<pod>_<uid>/<container>/, beside the init container's directory,
# whose log holds the stuck message and must not count; the kubelet emulation of 4
# runs the rendered liveness and readiness commands each period and restarts the
# container after failureThreshold liveness failures (in its pod, which a container
# that only waits keeps up meanwhile, as the kubelet keeps the pod's sandbox:
# pod_from_daemonset.py --sandbox-keeper). Each pod: healthy and Ready at
# first; once the stand-in logs the one-shot start-up failure (in Agent's or
# Filebeat's shape), liveness fails from the next period on, naming the rule and the
# pod log of its own container, until the restart; the restarted container (its
# records in 1.log) is healthy and Ready at once. (The pods were played before 5.)
# reads_pod_logs OUT: a healthy liveness line that read log files (not "could not check").
reads_pod_logs() { [[ $1 =~ ^HEALTHY:\ no\ match\ in\ [0-9]+\ new\ bytes\ of\ [1-9][0-9]*\ log\ files?$ ]]; }
# tripped_until_restart FROM: liveness failed in each period from FROM, and the one
# restart came after failureThreshold of them.
tripped_until_restart() { every_period "$1" "$period" live_rc 1 && [[ $restarts-$(last_restart) == 1-$(($1 + retries - 1)) ]]; }
healthy_and_ready() { # FROM: liveness read the logs and passed, and Ready, in each period from FROM
  local i
  for ((i = $1; i <= period; i++)); do
    reads_pod_logs "${live_out[i]}" && [[ ${live_rc[i]} == 0 && ${ready_rc[i]} == 0 && ${ready_out[i]} == READY:* ]] || return 1
  done
}
for pod in "${sixth_pods[@]}"; do
  c=$pod-${main[$pod]} dir=${logdir[$pod]}
  f0=$failures
  kubelet_probes "$pod" "${main[$pod]}"
  echo "e2e: $pod (container ${main[$pod]}: ${runtime[$pod]} records in ${dir#"$node"})"
  echo "          liveness: ${liveness[*]}; readiness: ${readiness[*]}; failureThreshold $retries"
  check "init container installed the probe; the stand-in logs to stderr only" \
    pm exec "$c" sh -c 'test -x /probe/logprobe && ! test -e /usr/share/filebeat/logs'
  check "kubelet emulation writes 0.log and rotates it, gzipping older files" wait_for 30 pod_log_rotated "$dir"
  wait_initial_delay "$pod"
  kubelet_reset "$c"
  kubelet_period
  kubelet_period
  check "healthy at first: liveness exit 0, reading its pod logs (not the init container's), and Ready, in 2 of 2 periods" \
    healthy_and_ready 1
  echo "          liveness said: ${live_out[period]}"
  echo "          readiness said: ${ready_out[period]}"
  pm exec "$c" sh -c ': >/tmp/stuck'
  check "the stand-in logged the start-up failure to stderr, now in a rotated pod log" \
    wait_for 5 stuck_in_rotated_pod_log "$dir"
  from=$((period + 1))
  kubelet_until $((retries + 1)) restarts_are 1 || true
  check "liveness failed in each period from the next on, and the kubelet restarted it after $retries (failureThreshold)" \
    tripped_until_restart "$from"
  out=${live_out[from]}
  echo "          liveness said: ${out:0:480}..."
  want='UNHEALTHY: "add_kubernetes_metadata: could not detect kubernetes env" in '${dir#"$node"}/0.log.
  check "...naming the rule and the rotated pod log of ${main[$pod]}" test "${out:0:${#want}}" = "$want"
  check "...and Ready throughout (one trip is no crash loop)" every_period 1 "$period" ready_rc 0
  check "the restarted container's records go to 1.log" wait_for 10 test -s "$dir/1.log"
  kubelet_period
  check "...and it is healthy and Ready at once, a new incarnation (pids $(pids_seen))" healthy_and_ready "$period"
  ((failures == f0)) || kubelet_said
done

finish
