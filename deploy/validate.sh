#!/usr/bin/env bash
# Validates what deploy/ gives users, offline, against the Kubernetes OpenAPI schema
# with kubernetes-validate --strict (unknown fields fail), for the oldest and the
# newest Kubernetes version it bundles, and checks that logprobe is really wired in
# (deploy/probe_wiring.py) for the way Filebeat logs there:
#   - deploy/example/*.yaml as they stand (pod logs: Filebeat keeps -e);
#   - deploy/kustomize (pod logs) and deploy/kustomize-file-logs (files) applied with
#     `kubectl kustomize` to the official elastic/beats DaemonSet manifests (7.17 and
#     9.x) in ../shared/manifests;
#   - deploy/eck: the Beat example, the eck-beats chart rendered with Helm's engine
#     (deploy/eck/eck.py render) with deploy/eck/eck-beats-values.yaml, the
#     kustomization for one's own Beats applied to the ECK recipes, and the snippet
#     in deploy/README.md: each Beat against the CRD's own v1beta1 openAPIV3Schema
#     (strict, with ECK's webhook rules; deploy/eck/eck.py schema), and the
#     DaemonSet ECK builds from it (deploy/eck/eck.py pod) as the others (pod logs);
#   - deploy/kustomize-elastic-agent (standalone, managed) applied to Elastic Agent's
#     official DaemonSets (Agent: --preset elastic-agent, its container's pod logs);
#   - that the kustomizations that only add (deploy/kustomize, deploy/eck/kustomize,
#     deploy/kustomize-elastic-agent) keep every field of what they patch
#     (probe_wiring.py --keeps);
#   - in each of them the crash-loop guard (probe_wiring.py --guard): the probed
#     container's readinessProbe is `/probe/logprobe ready --state /probe/state.json`,
#     the liveness probe uses the same --state, and that file lies on an emptyDir
#     (which outlives a container restart), not on the container's root file system;
#   - that all the Filebeat ones give the filebeat container the same livenessProbe,
#     all the Agent ones the same one with `--preset elastic-agent`, and all of them
#     the same readinessProbe.
# Without ../shared (a user's clone), the official-manifest and chart checks print
# SKIPPED; under CI (CI=true) they FAIL instead. Env: LOGPROBE_SHARED, CI.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh # result, detail, shared_missing; $shared

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

read -r oldest newest < <(python3 -c '
from kubernetes_validate.utils import all_versions
v = sorted(set(all_versions()), key=lambda s: tuple(map(int, s.split("."))))
print(v[0], v[-1])')

# validate NAME FILE LOGGING [CONTAINER]: schema at both versions, then the probe
# wiring (LOGGING: stderr for pod logs, files for file logs, agent for Elastic
# Agent) of CONTAINER (filebeat) and the crash-loop guard.
mkdir -p "$tmp/probes/filebeat" "$tmp/probes/agent" "$tmp/readiness"
probes=0
declare -A live=([filebeat]=0 [agent]=0)
validate() {
  local name=$1 file=$2 logging=$3 container=${4:-filebeat} k log=$tmp/log group=filebeat
  [[ $logging != agent ]] || group=agent
  for k in "$oldest" "$newest"; do
    if kubernetes-validate --strict --quiet -k "$k" "$file" >"$log" 2>&1; then
      result "$name: schema $k" ok
    else
      result "$name: schema $k" FAIL; detail <"$log"
    fi
  done
  probes=$((probes + 1)) live[$group]=$((live[$group] + 1))
  if python3 deploy/probe_wiring.py --logging "$logging" --container "$container" \
    --probe-json "$tmp/probes/$group/$probes.json" "$file" 2>"$log"; then
    result "$name: logprobe wiring (${wiring[$logging]})" ok
  else
    result "$name: logprobe wiring (${wiring[$logging]})" FAIL; detail <"$log"
  fi
  if python3 deploy/probe_wiring.py --guard --container "$container" --readiness-json "$tmp/readiness/$probes.json" "$file" 2>"$log"; then
    result "$name: crash-loop guard ($guard)" ok
  else
    result "$name: crash-loop guard ($guard)" FAIL; detail <"$log"
  fi
}
guard="readinessProbe logprobe ready, the liveness probe's --state, on an emptyDir"
declare -A wiring=([stderr]="pod logs: -e kept, node's /var/log or /var/log/pods mounted"
  [files]="file logs: no -e, logging to files" [agent]="Agent: --preset elastic-agent, node's /var/log mounted")
declare -A variant=([stderr]=pod-log [files]=file-log [agent]=Agent)

echo "deploy/validate.sh: kubernetes-validate $(kubernetes-validate --version), Kubernetes $oldest and $newest"

# The checks must be able to fail: strict mode rejects an unknown field, the
# wiring check rejects a DaemonSet without logprobe, the guard check each mistake
# below, and the agreement check two different probes.
sed 's/initialDelaySeconds:/initialDelaySecond:/' deploy/example/filebeat-logprobe.yaml >"$tmp/typo.yaml"
if kubernetes-validate --strict --quiet -k "$newest" "$tmp/typo.yaml" >/dev/null 2>&1; then
  result "control: strict schema rejects a misspelt field" FAIL
else
  result "control: strict schema rejects a misspelt field" ok
fi

# The logprobe image tag users get is the version this checkout builds.
if [[ -f Cargo.toml ]]; then
  version=$(python3 -c 'import tomllib; print(tomllib.load(open("Cargo.toml", "rb"))["package"]["version"])')
  stale=$(grep -rnoE 'image: *logprobe:[^ ]*|newTag: *"?[^" ]*' deploy --include='*.yaml' |
    grep -vE "(logprobe:|newTag: *\"?)${version//./\\.}\$" || true)
  if [[ -z $stale ]]; then
    result "logprobe image tags in deploy/ are $version (Cargo.toml)" ok
  else
    result "logprobe image tags in deploy/ are $version (Cargo.toml)" FAIL; detail <<<"$stale"
  fi
fi

for f in deploy/example/*.yaml; do
  validate "$f" "$f" stderr
done

# guard_rejects WHAT SED-SCRIPT MESSAGE: a control; the example edited by SED-SCRIPT
# must fail the guard check, with MESSAGE among the reasons.
example=deploy/example/filebeat-logprobe.yaml
guard_rejects() {
  local what="control: crash-loop guard check rejects $1"
  sed "$2" "$example" >"$tmp/guard.yaml"
  if cmp -s "$example" "$tmp/guard.yaml"; then
    result "$what" FAIL "the edit changed nothing in $example"
  elif python3 deploy/probe_wiring.py --guard "$tmp/guard.yaml" 2>"$tmp/log"; then
    result "$what" FAIL
  elif grep -qF -- "$3" "$tmp/log"; then
    result "$what" ok
  else
    result "$what" FAIL "not for the reason looked for, \"$3\""; detail <"$tmp/log"
  fi
}
guard_rejects "a readinessProbe without 'ready' (the liveness argv)" \
  's|"/probe/logprobe", "ready", "--state"|"/probe/logprobe", "--state"|' "readiness probe runs"
guard_rejects "a liveness probe with another --state" \
  '/command: \["\/probe\/logprobe", "ready"/!s|"--state", "/probe/state.json"|"--state", "/probe/live.json"|' \
  "readiness probe reads /probe/state.json"
guard_rejects "the state on the root file system" \
  's|/probe/state.json|/var/lib/logprobe/state.json|g' "on the container's root file system"
guard_rejects "the state on a hostPath, not an emptyDir" \
  '/^        - name: logprobe$/{n;s|emptyDir: {}|hostPath: {path: /var/lib/logprobe}|}' "not an emptyDir"
guard_rejects "no readinessProbe" '/^          readinessProbe:$/,/failureThreshold: 1$/d' "has no readinessProbe"

# rejects FILE LOGGING WHAT [CONTAINER [MESSAGE]]: a control; the wiring check of
# CONTAINER (filebeat) must fail on FILE, with MESSAGE among the reasons if given.
rejects() {
  local what="control: ${variant[$2]} wiring check rejects $3"
  if python3 deploy/probe_wiring.py --logging "$2" --container "${4:-filebeat}" "$1" 2>"$tmp/log"; then
    result "$what" FAIL
  elif [[ -n ${5:-} ]] && ! grep -qF -- "$5" "$tmp/log"; then
    result "$what" FAIL "not for the reason looked for, \"$5\""; detail <"$tmp/log"
  else
    result "$what" ok
  fi
}

# keeps NAME ORIGINAL PATCHED: the patch only added to ORIGINAL.
keeps() {
  if python3 deploy/probe_wiring.py --keeps "$2" "$3" 2>"$tmp/log"; then
    result "$1: keeps every field of ${2##*/}" ok
  else
    result "$1: keeps every field of ${2##*/}" FAIL; detail <"$tmp/log"
  fi
}

# Pairs: kustomization directory, how Filebeat logs with it.
kustomizations=(deploy/kustomize stderr deploy/kustomize-file-logs files)
official=("$shared"/elastic-beats/filebeat-kubernetes.*.yaml)
if [[ -e ${official[0]} ]]; then
  rejects "${official[0]}" stderr "the unpatched ${official[0]##*/}"
  rejects "${official[0]}" files "the unpatched ${official[0]##*/}"
  for ((i = 0; i < ${#kustomizations[@]}; i += 2)); do
    dir=${kustomizations[i]} logging=${kustomizations[i + 1]}
    for m in "${official[@]}"; do
      name=${dir#deploy/}+${m##*/}
      if "$dir/build-with.sh" "$m" >"$tmp/$name" 2>"$tmp/log"; then
        validate "$name" "$tmp/$name" "$logging"
        # The pod-log patch adds and changes nothing (the file-log one replaces args).
        [[ $logging != stderr ]] || keeps "$name" "$m" "$tmp/$name"
      else
        result "$name: kubectl kustomize" FAIL; detail <"$tmp/log"
      fi
    done
  done
  # Each wiring check tells the two variants apart.
  m=${official[-1]##*/}
  [[ ! -f $tmp/kustomize-file-logs+$m ]] || rejects "$tmp/kustomize-file-logs+$m" stderr "kustomize-file-logs+$m"
  [[ ! -f $tmp/kustomize+$m ]] || rejects "$tmp/kustomize+$m" files "kustomize+$m"
else
  shared_missing "deploy/kustomize and deploy/kustomize-file-logs on the official manifests" "$shared/elastic-beats"
fi

charts=("$shared"/elastic-helm-charts*/filebeat)
if [[ -d ${charts[0]} ]]; then
  for chart in "${charts[@]}"; do
    version=$(sed -n 's/^version: *//p' "$chart/Chart.yaml")
    name="helm values + filebeat chart $version"
    if python3 deploy/helm/render.py "$chart" deploy/helm/values.yaml >"$tmp/helm-$version.yaml" 2>"$tmp/log"; then
      validate "$name" "$tmp/helm-$version.yaml" stderr
    else
      result "$name: render" FAIL; detail <"$tmp/log"
    fi
  done
else
  shared_missing "deploy/helm/values.yaml with the Elastic chart" "$shared/elastic-helm-charts"
fi

# ECK. eck_check NAME FILE: FILE's Beats against ECK's CRD (when it is there), then
# the DaemonSet ECK builds from its filebeat Beat, validated as the others (pod logs).
eck=$shared/elastic-cloud-on-k8s
crd=$eck/config/crds/v1/resources/beat.k8s.elastic.co_beats.yaml
crd_check="Beats against ECK's CRD (v1beta1 openAPIV3Schema, strict; webhook rules)"
[[ -f $crd ]] || shared_missing "ECK Beats against the CRD" "$crd"
eck_n=0
eck_check() {
  local name=$1 file=$2 pod
  if [[ -f $crd ]]; then
    if python3 deploy/eck/eck.py schema "$crd" "$file" 2>"$tmp/log"; then
      result "$name: $crd_check" ok "$(tail -n 1 "$tmp/log" | cut -d' ' -f1) Beat(s)"
    else
      result "$name: $crd_check" FAIL; detail <"$tmp/log"
    fi
  fi
  eck_n=$((eck_n + 1)) pod=$tmp/eck-pod-$eck_n.yaml
  if python3 deploy/eck/eck.py pod "$file" >"$pod" 2>"$tmp/log"; then
    validate "$name, as ECK's DaemonSet" "$pod" stderr
  else
    result "$name: as ECK's DaemonSet" FAIL; detail <"$tmp/log"
  fi
}
eck_check deploy/eck/beat.yaml deploy/eck/beat.yaml
if python3 deploy/eck/eck.py readme deploy/README.md >"$tmp/snippet.yaml" 2>"$tmp/log"; then
  eck_check "deploy/README.md's snippet for one's own Beat" "$tmp/snippet.yaml"
else
  result "deploy/README.md's snippet for one's own Beat" FAIL; detail <"$tmp/log"
fi

chart=$eck/deploy/eck-stack/charts/eck-beats
if [[ -d $chart ]]; then
  chart_version=$(sed -n 's/^version: *//p' "$chart/Chart.yaml")
  # The chart's own filebeat example with the logprobe values given last, and the
  # logprobe values alone (the chart's default version).
  for values in "$chart/examples/filebeat_no_autodiscover.yaml deploy/eck/eck-beats-values.yaml" \
    deploy/eck/eck-beats-values.yaml; do
    name="eck-beats $chart_version -f ${values// / -f }"
    name=${name//$chart\//}
    # shellcheck disable=SC2086 # two values files
    if python3 deploy/eck/eck.py render "$chart" $values >"$tmp/eck-chart.yaml" 2>"$tmp/log"; then
      result "$name: render (Helm's engine; every values key reaches the Beat)" ok
      eck_check "$name" "$tmp/eck-chart.yaml"
    else
      result "$name: render (Helm's engine; every values key reaches the Beat)" FAIL; detail <"$tmp/log"
    fi
  done
else
  shared_missing "deploy/eck/eck-beats-values.yaml with the eck-beats chart" "$chart"
fi

recipes=()
for r in "$eck"/config/recipes/beats/*.yaml; do
  [[ -f $r ]] && grep -q '^  type: filebeat' "$r" && recipes+=("$r")
done
if ((${#recipes[@]})); then
  for r in "${recipes[@]}"; do
    name=eck/kustomize+${r##*/}
    if deploy/eck/kustomize/build-with.sh "$r" >"$tmp/eck-own.yaml" 2>"$tmp/log"; then
      keeps "$name" "$r" "$tmp/eck-own.yaml"
      eck_check "$name" "$tmp/eck-own.yaml"
    else
      result "$name: kubectl kustomize" FAIL; detail <"$tmp/log"
    fi
  done
else
  shared_missing "deploy/eck/kustomize on the ECK recipes" "$eck/config/recipes/beats"
fi

# Controls for ECK. beat_rejects WHAT SED-SCRIPT CHECK MESSAGE: deploy/eck/beat.yaml
# edited by SED-SCRIPT must fail CHECK (schema: the CRD; k8s: kubernetes-validate of
# ECK's DaemonSet; wiring; guard), with MESSAGE among the reasons.
beat_rejects() {
  local what="control: $1" check=$3 rc=0
  sed "$2" deploy/eck/beat.yaml >"$tmp/bad-beat.yaml"
  if cmp -s deploy/eck/beat.yaml "$tmp/bad-beat.yaml"; then
    result "$what" FAIL "the edit changed nothing in deploy/eck/beat.yaml"
    return
  fi
  if [[ $check == schema ]]; then
    python3 deploy/eck/eck.py schema "$crd" "$tmp/bad-beat.yaml" 2>"$tmp/log" || rc=$?
  elif ! python3 deploy/eck/eck.py pod "$tmp/bad-beat.yaml" >"$tmp/bad-pod.yaml" 2>"$tmp/log"; then
    rc=2
  elif [[ $check == k8s ]]; then
    kubernetes-validate --strict --quiet -k "$newest" "$tmp/bad-pod.yaml" >"$tmp/log" 2>&1 || rc=$?
  elif [[ $check == wiring ]]; then
    python3 deploy/probe_wiring.py --logging stderr "$tmp/bad-pod.yaml" 2>"$tmp/log" || rc=$?
  else
    python3 deploy/probe_wiring.py --guard "$tmp/bad-pod.yaml" 2>"$tmp/log" || rc=$?
  fi
  if ((rc == 0)); then
    result "$what" FAIL
  elif grep -qF -- "$4" "$tmp/log"; then
    result "$what" ok
  else
    result "$what" FAIL "not for the reason looked for, \"$4\""; detail <"$tmp/log"
  fi
}
if [[ -f $crd ]]; then
  beat_rejects "the CRD check rejects a misspelt pod template field" \
    's/initialDelaySeconds:/initialDelaySecond:/' schema "'initialDelaySecond' was unexpected"
  beat_rejects "the CRD check rejects a misspelt spec field" \
    's/^  daemonSet:/  daemonset:/' schema "'daemonset' was unexpected"
  beat_rejects "the CRD check rejects a string for an integer" \
    's/failureThreshold: 3/failureThreshold: "3"/' schema "'3' is not of type 'integer'"
  beat_rejects "the CRD check rejects two mounts at one mountPath (a list of type map)" \
    's|mountPath: /var/log/containers|mountPath: /var/log/pods|' schema "duplicate entries ('/var/log/pods',)"
  beat_rejects "the CRD check rejects a Beat name over 36 characters (ECK's webhook)" \
    's/^  name: filebeat$/  name: filebeat-with-a-name-of-37-characters/' schema "longer than 36 characters"
fi
beat_rejects "ECK's DaemonSet carries a misspelt pod template field to the strict schema" \
  's/initialDelaySeconds:/initialDelaySecond:/' k8s 'initialDelaySecond'
beat_rejects "pod-log wiring check rejects a Beat whose args drop -e" \
  's|^          - name: filebeat$|&\n            args: ["-c", "/etc/beat.yml"]|' wiring "runs without -e"
beat_rejects "pod-log wiring check rejects a Beat without the node's /var/log/pods" \
  's|mountPath: /var/log/pods|mountPath: /var/log/node-pods|' wiring "does not mount the node's /var/log (or /var/log/pods)"
beat_rejects "crash-loop guard check rejects a Beat without readinessProbe" \
  '/^            readinessProbe:$/,/failureThreshold: 1$/d' guard "has no readinessProbe"
if ((${#recipes[@]})); then
  r=${recipes[0]}
  if python3 deploy/eck/eck.py pod "$r" >"$tmp/recipe-pod.yaml" 2>"$tmp/log"; then
    rejects "$tmp/recipe-pod.yaml" stderr "the unpatched ${r##*/}, as ECK's DaemonSet" filebeat "no init container"
  else
    result "control: pod-log wiring check rejects the unpatched ${r##*/}" FAIL; detail <"$tmp/log"
  fi
  # Without beat-openapi.json kustomize replaces the Beat's lists whole.
  cp -r deploy/eck/kustomize "$tmp/no-openapi"
  sed -i '/^openapi:/,/^  path:/d' "$tmp/no-openapi/kustomization.yaml"
  if "$tmp/no-openapi/build-with.sh" "$r" >"$tmp/no-openapi.yaml" 2>"$tmp/log" &&
    ! python3 deploy/probe_wiring.py --keeps "$r" "$tmp/no-openapi.yaml" 2>"$tmp/log" &&
    grep -qF "volumes[name=varlogcontainers]: dropped" "$tmp/log"; then
    result "control: the keeps check rejects eck/kustomize without beat-openapi.json (lists replaced)" ok
  else
    result "control: the keeps check rejects eck/kustomize without beat-openapi.json (lists replaced)" FAIL; detail <"$tmp/log"
  fi
fi
if [[ -d $chart ]]; then
  { cat deploy/eck/eck-beats-values.yaml; printf 'extraInitContainers:\n  - name: logprobe-install\n    image: logprobe\n'; } >"$tmp/bad-values.yaml"
  if python3 deploy/eck/eck.py render "$chart" "$tmp/bad-values.yaml" >/dev/null 2>"$tmp/log"; then
    result "control: the render check rejects a values key eck-beats drops (extraInitContainers)" FAIL
  elif grep -qF "extraInitContainers: not in the rendered Beat" "$tmp/log"; then
    result "control: the render check rejects a values key eck-beats drops (extraInitContainers)" ok
  else
    result "control: the render check rejects a values key eck-beats drops (extraInitContainers)" FAIL; detail <"$tmp/log"
  fi
fi

# Elastic Agent: the standalone and the Fleet-managed DaemonSet, each with its
# container name.
agent=$shared/elastic-agent/deploy/kubernetes
declare -A agent_container=([standalone]=elastic-agent-standalone [managed]=elastic-agent)
if [[ -f $agent/elastic-agent-standalone-kubernetes.yaml && -f $agent/elastic-agent-managed-kubernetes.yaml ]]; then
  for v in standalone managed; do
    m=$agent/elastic-agent-$v-kubernetes.yaml c=${agent_container[$v]} name=kustomize-elastic-agent/$v+${m##*/}
    rejects "$m" agent "the unpatched ${m##*/}" "$c" "no init container"
    if deploy/kustomize-elastic-agent/build-with.sh "$v" "$m" >"$tmp/agent-$v.yaml" 2>"$tmp/log"; then
      validate "$name" "$tmp/agent-$v.yaml" agent "$c"
      keeps "$name" "$m" "$tmp/agent-$v.yaml"
    else
      result "$name: kubectl kustomize" FAIL; detail <"$tmp/log"
    fi
  done
  # The Filebeat liveness command on Agent: the filebeat preset, Filebeat's rules.
  sed '/^ *- --preset$/{N;d}' "$tmp/agent-standalone.yaml" >"$tmp/agent-no-preset.yaml"
  rejects "$tmp/agent-no-preset.yaml" agent "Agent with Filebeat's liveness command (no --preset elastic-agent)" \
    elastic-agent-standalone "not --preset elastic-agent"
  # A container name the preset does not look for, without --container.
  cp -r deploy/kustomize-elastic-agent/managed "$tmp/agent-renamed"
  sed -i 's/^        - name: elastic-agent$/        - name: agent/' "$tmp/agent-renamed/logprobe-patch.yaml"
  sed 's/^        - name: elastic-agent$/        - name: agent/' "$agent/elastic-agent-managed-kubernetes.yaml" \
    >"$tmp/agent-renamed/elastic-agent-managed-kubernetes.yaml"
  if kubectl kustomize "$tmp/agent-renamed" >"$tmp/agent-renamed.yaml" 2>"$tmp/log"; then
    rejects "$tmp/agent-renamed.yaml" agent "Agent's container renamed to agent, without --container" agent \
      "the elastic-agent preset reads the pod logs of a container named"
  else
    result "control: Agent wiring check rejects a renamed container" FAIL; detail <"$tmp/log"
  fi
  # The guard check looks at Agent's container: without its readinessProbe it fails.
  sed '/^ *readinessProbe:$/,/^ *timeoutSeconds: 5$/d' "$tmp/agent-managed.yaml" >"$tmp/agent-no-ready.yaml"
  if python3 deploy/probe_wiring.py --guard --container elastic-agent "$tmp/agent-no-ready.yaml" 2>"$tmp/log"; then
    result "control: crash-loop guard check rejects Agent without readinessProbe" FAIL
  elif grep -qF "elastic-agent container has no readinessProbe" "$tmp/log"; then
    result "control: crash-loop guard check rejects Agent without readinessProbe" ok
  else
    result "control: crash-loop guard check rejects Agent without readinessProbe" FAIL; detail <"$tmp/log"
  fi
else
  shared_missing "deploy/kustomize-elastic-agent on Elastic Agent's DaemonSets" "$agent"
fi

# One probe everywhere: the same command, delay, period, timeout and threshold.
# same KIND DIR COUNT: one check that DIR's COUNT JSON files (one per manifest) agree.
same() {
  local what="the same $1 in all $3 manifests" distinct count
  distinct=$(cat "$2"/*.json 2>/dev/null | sort -u)
  count=$(find "$2" -name '*.json' | wc -l)
  if [[ -n $distinct && $(wc -l <<<"$distinct") == 1 && $count == "$3" ]]; then
    result "$what" ok "$distinct"
  else
    result "$what" FAIL "$count files, $(grep -c . <<<"$distinct") distinct"; detail <<<"$distinct"
  fi
}
# plus_preset AGENT.json FILEBEAT.json: Agent's livenessProbe is Filebeat's with
# `--preset elastic-agent` after the executable, and otherwise the same.
plus_preset() {
  python3 - "$1" "$2" <<'EOF'
import json, sys
agent, beat = (json.load(open(p)) for p in sys.argv[1:])
command = beat["exec"]["command"]
beat["exec"]["command"] = command[:1] + ["--preset", "elastic-agent"] + command[1:]
sys.exit(agent != beat)
EOF
}
# Controls: the agreement check tells two readinessProbes apart, and Agent's
# livenessProbe must not be Filebeat's.
mkdir "$tmp/differ"
cp "$tmp/readiness/1.json" "$tmp/differ/1.json" 2>/dev/null || true
sed 's/"failureThreshold": 1/"failureThreshold": 3/' "$tmp/readiness/1.json" >"$tmp/differ/2.json" 2>/dev/null || true
if [[ -s $tmp/differ/1.json ]] && [[ $(same readinessProbe "$tmp/differ" 2) == "  FAIL "* ]]; then
  result "control: the agreement check rejects two readinessProbes that differ" ok
else
  result "control: the agreement check rejects two readinessProbes that differ" FAIL
fi
filebeat_probe=$(find "$tmp/probes/filebeat" -name '*.json' | head -n 1)
if [[ -n $filebeat_probe ]] && ! plus_preset "$filebeat_probe" "$filebeat_probe" 2>/dev/null; then
  result "control: the Agent check rejects Filebeat's livenessProbe as Agent's" ok
else
  result "control: the Agent check rejects Filebeat's livenessProbe as Agent's" FAIL
fi
same "livenessProbe (Filebeat)" "$tmp/probes/filebeat" "${live[filebeat]}"
if ((live[agent])); then
  same "livenessProbe (Elastic Agent)" "$tmp/probes/agent" "${live[agent]}"
  agent_probe=$(find "$tmp/probes/agent" -name '*.json' | head -n 1)
  if plus_preset "$agent_probe" "$filebeat_probe" 2>"$tmp/log"; then
    result "Elastic Agent's livenessProbe is Filebeat's with --preset elastic-agent" ok
  else
    result "Elastic Agent's livenessProbe is Filebeat's with --preset elastic-agent" FAIL; detail <"$tmp/log"
  fi
fi
same readinessProbe "$tmp/readiness" "$probes"

echo "deploy/validate.sh: $passed passed, $failures failed, $skipped skipped"
((failures == 0))
