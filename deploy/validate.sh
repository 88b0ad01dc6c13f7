#!/usr/bin/env bash
# Validates what deploy/ gives users, offline, against the Kubernetes OpenAPI schema
# with kubernetes-validate --strict (unknown fields fail), for the oldest and the
# newest Kubernetes version it bundles, and checks that logprobe is really wired in
# (deploy/probe_wiring.py) for the way Filebeat logs there:
#   - deploy/example/*.yaml as they stand (pod logs: Filebeat keeps -e);
#   - deploy/kustomize (pod logs) and deploy/kustomize-file-logs (files) applied with
#     `kubectl kustomize` to the official elastic/beats DaemonSet manifests (7.17 and
#     9.x) in ../shared/manifests;
#   - deploy/helm/values.yaml rendered with Helm's engine (deploy/helm/render.py)
#     into the Elastic charts (8.5.1 and 7.17.3) in ../shared/manifests (pod logs);
#   - in each of them the crash-loop guard (probe_wiring.py --guard): the filebeat
#     container's readinessProbe is `/probe/logprobe ready --state /probe/state.json`,
#     the liveness probe uses the same --state, and that file lies on an emptyDir
#     (which outlives a container restart), not on the container's root file system;
#   - that all of them give the filebeat container the same livenessProbe and the
#     same readinessProbe.
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

# validate NAME FILE LOGGING: schema at both versions, then the probe wiring
# (LOGGING: stderr for pod logs, files for file logs) and the crash-loop guard.
mkdir "$tmp/probes" "$tmp/readiness"
probes=0
validate() {
  local name=$1 file=$2 logging=$3 k log=$tmp/log
  for k in "$oldest" "$newest"; do
    if kubernetes-validate --strict --quiet -k "$k" "$file" >"$log" 2>&1; then
      result "$name: schema $k" ok
    else
      result "$name: schema $k" FAIL; detail <"$log"
    fi
  done
  probes=$((probes + 1))
  if python3 deploy/probe_wiring.py --logging "$logging" --probe-json "$tmp/probes/$probes.json" "$file" 2>"$log"; then
    result "$name: logprobe wiring (${wiring[$logging]})" ok
  else
    result "$name: logprobe wiring (${wiring[$logging]})" FAIL; detail <"$log"
  fi
  if python3 deploy/probe_wiring.py --guard --readiness-json "$tmp/readiness/$probes.json" "$file" 2>"$log"; then
    result "$name: crash-loop guard ($guard)" ok
  else
    result "$name: crash-loop guard ($guard)" FAIL; detail <"$log"
  fi
}
guard="readinessProbe logprobe ready, the liveness probe's --state, on an emptyDir"
declare -A wiring=([stderr]="pod logs: -e kept, node's /var/log mounted" [files]="file logs: no -e, logging to files")
declare -A variant=([stderr]=pod-log [files]=file-log)

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

# rejects FILE LOGGING WHAT: a control; the wiring check must fail on FILE.
rejects() {
  local what="control: ${variant[$2]} wiring check rejects $3"
  if python3 deploy/probe_wiring.py --logging "$2" "$1" 2>/dev/null; then
    result "$what" FAIL
  else
    result "$what" ok
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

# One probe everywhere: the same command, delay, period, timeout and threshold.
# same KIND DIR: one check that DIR's $probes JSON files (one per manifest) agree.
same() {
  local what="the same $1 in all $probes manifests" distinct count
  distinct=$(cat "$2"/*.json 2>/dev/null | sort -u)
  count=$(find "$2" -name '*.json' | wc -l)
  if [[ -n $distinct && $(wc -l <<<"$distinct") == 1 && $count == "$probes" ]]; then
    result "$what" ok "$distinct"
  else
    result "$what" FAIL "$count files, $(grep -c . <<<"$distinct") distinct"; detail <<<"$distinct"
  fi
}
# A control: the agreement check tells two readinessProbes apart.
mkdir "$tmp/differ"
cp "$tmp/readiness/1.json" "$tmp/differ/1.json" 2>/dev/null || true
sed 's/"failureThreshold": 1/"failureThreshold": 3/' "$tmp/readiness/1.json" >"$tmp/differ/2.json" 2>/dev/null || true
if [[ -s $tmp/differ/1.json ]] && [[ $(probes=2 same readinessProbe "$tmp/differ") == "  FAIL "* ]]; then
  result "control: the agreement check rejects two readinessProbes that differ" ok
else
  result "control: the agreement check rejects two readinessProbes that differ" FAIL
fi
same livenessProbe "$tmp/probes"
same readinessProbe "$tmp/readiness"

echo "deploy/validate.sh: $passed passed, $failures failed, $skipped skipped"
((failures == 0))
