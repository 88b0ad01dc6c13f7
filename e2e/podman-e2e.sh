#!/usr/bin/env bash
# End-to-end check of logprobe as deploy/ wires it, with podman instead of a cluster:
#
# 1. kube play: the Filebeat DaemonSet of deploy/ (deploy/kustomize applied to the
#    official 7.17 and 9.x manifests, and deploy/example) played as Pods, with the
#    logprobe image and a busybox stand-in for Filebeat that writes Filebeat-shaped
#    log lines and rotates them (7.x rename chain, 8.x+ new names). The init container
#    installs the probe; `podman healthcheck run` (the livenessProbe) must pass while
#    the log is benign and fail, with the UNHEALTHY line, within failureThreshold runs
#    once the stuck message is written (and rotated away at once).
# 2. restart: the same probe as a podman health check with --health-on-failure
#    restart and the log directory on a volume that outlives the container: after the
#    trip the container restarts, and the probe is healthy again although the old
#    error line is still on the volume; a new error trips it again.
#
# Cleans up its pods, containers, volumes, images and temp files. Env: LOGPROBE_EXE
# (prebuilt executable; default: scripts/build-static), LOGPROBE_SHARED.
set -euo pipefail
cd "$(dirname "$0")/.."
. image/podman-env.sh

prefix=logprobe-e2e
shared=${LOGPROBE_SHARED:-../shared}/manifests
standin=localhost/$prefix-filebeat-standin:latest
tmp=$(mktemp -d)
pods=() logprobe_image= pause_existed=yes failures=0
cleanup() {
  local rc=$?
  set +e
  if ((rc && !failures)) && [[ -s $tmp/podman.log ]]; then
    echo "e2e: stopped (exit $rc); podman said:"
    grep -v 'systemd connection' "$tmp/podman.log" | tail -n 20
  fi
  {
    for pod in "${pods[@]}"; do podman kube down "$tmp/$pod.yaml"; done
    # kube play builds a pause image the first time; remove it if this run made it.
    [[ $pause_existed == yes ]] || podman rmi -f $(podman images -q --filter reference=localhost/podman-pause)
    podman rm -f -t 0 "$prefix-restart"
    podman volume rm -f $(podman volume ls -q --filter "name=$prefix")
    podman rmi -f "$standin" ${logprobe_image:+"$logprobe_image" localhost/logprobe:latest}
    rm -rf "$tmp"
  } >/dev/null 2>&1
}
trap cleanup EXIT
use_private_podman_conf "$tmp"
[[ -n $(podman images -q --filter reference=localhost/podman-pause) ]] || pause_existed=no

ok()   { echo "  ok    $*"; }
fail() { echo "  FAIL  $*"; failures=$((failures + 1)); }
check() { local what=$1; shift; if "$@" >/dev/null; then ok "$what"; else fail "$what"; fi; }
# podman 4.3 logs an error for each health-check timer it cannot create without systemd: keep it out.
pm() { podman "$@" 2>>"$tmp/podman.log"; }
health() { pm inspect --format '{{.State.Health.Status}}' "$1"; }
last_output() { pm inspect "$1" | jq -r '.[0].State.Health.Log[-1].Output'; }
wait_for() { # SECONDS COMMAND...: polls every 0.2 s
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do ((SECONDS < deadline)) || return 1; sleep 0.2; done
}
stuck_on_disk() { pm exec "$1" sh -c 'grep -l "all related states are finished" /usr/share/filebeat/logs/*'; }
stuck_lines_are() { [[ $(pm exec "$1" sh -c 'cat /usr/share/filebeat/logs/* | grep -c "all related states are finished"') == "$2" ]]; }
running() { [[ $(pm inspect --format '{{.State.Status}}' "$1") == running ]]; }
logs_rotated() { pm exec "$1" sh -c '[ "$(ls /usr/share/filebeat/logs | wc -l)" -ge 2 ]'; }

# filebeat_spec POD JQ: a field of the played pod's filebeat container, raw.
filebeat_spec() {
  jq -r ".[] | select(.kind == \"Pod\") | .spec.containers[] | select(.name == \"filebeat\") | $2" "$tmp/$1.json"
}

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

# --- images -------------------------------------------------------------------------
export LOGPROBE_EXE=${LOGPROBE_EXE:-$(scripts/build-static)}
version=$("$LOGPROBE_EXE" --version | awk '{ print $2 }')
image/build.sh "$tmp/logprobe.oci.tar" >/dev/null 2>"$tmp/build.log" || { cat "$tmp/build.log"; exit 1; }
logprobe_image=localhost/logprobe:$version
mkdir -p "$tmp/standin/rootfs/bin" "$tmp/standin/rootfs/usr/share/filebeat"
cp /bin/busybox "$tmp/standin/rootfs/bin/busybox"
ln -s busybox "$tmp/standin/rootfs/bin/sh"
cp e2e/standin/filebeat-standin "$tmp/standin/rootfs/usr/share/filebeat/"
pm build --quiet --layers=false --timestamp 0 -f e2e/standin/Containerfile -t "$standin" "$tmp/standin" >/dev/null
echo "e2e: logprobe $version ($logprobe_image), Filebeat stand-in $standin"

# --- 1. kube play -------------------------------------------------------------------
# Triples: pod name, manifest, log style of the Filebeat version it runs (7 or 8).
sources=()
if [[ -d $shared/elastic-beats ]]; then
  deploy/kustomize/build-with.sh "$shared/elastic-beats/filebeat-kubernetes.7.17.21.yaml" >"$tmp/k7.yaml"
  deploy/kustomize/build-with.sh "$shared/elastic-beats/filebeat-kubernetes.9.5.2.yaml" >"$tmp/k9.yaml"
  sources+=("$prefix-k7" "$tmp/k7.yaml" 7 "$prefix-k9" "$tmp/k9.yaml" 8)
else
  echo "  SKIPPED  deploy/kustomize on the official manifests (no $shared/elastic-beats)"
fi
sources+=("$prefix-example" deploy/example/filebeat-logprobe.yaml 8)

for ((i = 0; i < ${#sources[@]}; i += 3)); do
  pod=${sources[i]} manifest=${sources[i + 1]} style=${sources[i + 2]}
  python3 e2e/pod_from_daemonset.py "$manifest" --name "$pod" --logprobe-image "$logprobe_image" \
    --filebeat-image "$standin" --env STANDIN_STYLE="$style" >"$tmp/$pod.yaml"
  python3 -c 'import json, sys, yaml; json.dump(list(yaml.safe_load_all(sys.stdin)), sys.stdout)' \
    <"$tmp/$pod.yaml" >"$tmp/$pod.json"
  pods+=("$pod")
  pm kube play --network none "$tmp/$pod.yaml" >/dev/null
done
echo "e2e: played ${pods[*]}"

for pod in "${pods[@]}"; do
  c=$pod-filebeat
  echo "e2e: $pod"
  check "init container installed the probe" pm exec "$c" sh -c 'test -x /probe/logprobe'
  # Wait out initialDelaySeconds (the health check's start period) and a first rotation.
  check "Filebeat stand-in writes and rotates its log" wait_for 30 logs_rotated "$c"
  start=$(date -d "$(pm inspect --format '{{.State.StartedAt}}' "$c" | cut -d' ' -f1-3)" +%s)
  delay=$(filebeat_spec "$pod" .livenessProbe.initialDelaySeconds)
  while (($(date +%s) <= start + delay)); do sleep 0.5; done
  healthy_runs=0
  for _ in 1 2 3; do pm healthcheck run "$c" >/dev/null && healthy_runs=$((healthy_runs + 1)); sleep 0.5; done
  check "healthy on benign logs: 3 of 3 runs, status $(health "$c")" test "$healthy_runs-$(health "$c")" = 3-healthy
  pm exec "$c" sh -c ': >/tmp/stuck'
  check "stand-in logged the stuck message" wait_for 5 stuck_on_disk "$c"
  runs=$(runs_until_unhealthy "$c" 3)
  check "unhealthy after $runs run(s) (failureThreshold 3)" test "$runs" -le 3
  out=$(last_output "$c")
  echo "        probe said: ${out:0:160}..."
  check "probe output starts with UNHEALTHY: \"Can only start an input...\"" \
    test "${out:0:73}" = 'UNHEALTHY: "Can only start an input when all related states are finished"'
done

# --- 2. restart on failure, log dir on a volume -------------------------------------
# Same args, probe command and failureThreshold as the first played pod's Filebeat.
probe_cmd=$(filebeat_spec "${pods[0]}" '.livenessProbe.exec.command | @sh')
retries=$(filebeat_spec "${pods[0]}" .livenessProbe.failureThreshold)
mapfile -t filebeat_args < <(filebeat_spec "${pods[0]}" '.args[]')
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

if ((failures)); then
  echo "e2e: $failures check(s) FAILED; podman said:"
  grep -v 'systemd connection' "$tmp/podman.log" | tail -n 20
  exit 1
fi
echo "e2e: all checks passed"
