#!/usr/bin/env bash
# Validates what deploy/ gives users, offline, against the Kubernetes OpenAPI schema
# with kubernetes-validate --strict (unknown fields fail), for the oldest and the
# newest Kubernetes version it bundles, and checks that logprobe is really wired in
# (deploy/probe_wiring.py):
#   - deploy/example/*.yaml as they stand;
#   - deploy/kustomize applied with `kubectl kustomize` to the official elastic/beats
#     DaemonSet manifests (7.17 and 9.x) in ../shared/manifests;
#   - deploy/helm/values.yaml rendered with Helm's engine (deploy/helm/render.py)
#     into the Elastic charts (8.5.1 and 7.17.3) in ../shared/manifests.
# Without ../shared (a user's clone), the last two print SKIPPED. Env: LOGPROBE_SHARED.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${LOGPROBE_SHARED:-../shared}/manifests

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

read -r oldest newest < <(python3 -c '
from kubernetes_validate.utils import all_versions
v = sorted(set(all_versions()), key=lambda s: tuple(map(int, s.split("."))))
print(v[0], v[-1])')

passed=0 failed=0 skipped=0
result() { # NAME STATUS [DETAIL]
  printf '  %-7s %s%s\n' "$2" "$1" "${3:+ ($3)}"
  case $2 in ok) passed=$((passed + 1)) ;; FAIL) failed=$((failed + 1)) ;; *) skipped=$((skipped + 1)) ;; esac
}
# validate NAME FILE LOGGING: schema at both versions, then the probe wiring.
validate() {
  local name=$1 file=$2 logging=$3 k log=$tmp/log
  for k in "$oldest" "$newest"; do
    if kubernetes-validate --strict --quiet -k "$k" "$file" >"$log" 2>&1; then
      result "$name: schema $k" ok
    else
      result "$name: schema $k" FAIL; sed 's/^/          /' "$log"
    fi
  done
  if python3 deploy/probe_wiring.py --logging "$logging" "$file" 2>"$log"; then
    result "$name: logprobe wiring ($logging logging)" ok
  else
    result "$name: logprobe wiring ($logging logging)" FAIL; sed 's/^/          /' "$log"
  fi
}

echo "deploy/validate.sh: kubernetes-validate $(kubernetes-validate --version), Kubernetes $oldest and $newest"

# The checks must be able to fail: strict mode rejects an unknown field, and the
# wiring check rejects a DaemonSet without logprobe.
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
    result "logprobe image tags in deploy/ are $version (Cargo.toml)" FAIL; sed 's/^/          /' <<<"$stale"
  fi
fi

for f in deploy/example/*.yaml; do
  validate "$f" "$f" files
done

official=("$shared"/elastic-beats/filebeat-kubernetes.*.yaml)
if [[ -e ${official[0]} ]]; then
  if python3 deploy/probe_wiring.py --logging files "${official[0]}" 2>/dev/null; then
    result "control: wiring check rejects the unpatched ${official[0]##*/}" FAIL
  else
    result "control: wiring check rejects the unpatched ${official[0]##*/}" ok
  fi
  for m in "${official[@]}"; do
    name=kustomize+${m##*/}
    if deploy/kustomize/build-with.sh "$m" >"$tmp/$name" 2>"$tmp/log"; then
      validate "$name" "$tmp/$name" files
    else
      result "$name: kubectl kustomize" FAIL; sed 's/^/          /' "$tmp/log"
    fi
  done
else
  result "deploy/kustomize on the official manifests" SKIPPED "no $shared/elastic-beats"
fi

charts=("$shared"/elastic-helm-charts*/filebeat)
if [[ -d ${charts[0]} ]]; then
  for chart in "${charts[@]}"; do
    version=$(sed -n 's/^version: *//p' "$chart/Chart.yaml")
    name="helm values + filebeat chart $version"
    if python3 deploy/helm/render.py "$chart" deploy/helm/values.yaml >"$tmp/helm-$version.yaml" 2>"$tmp/log"; then
      validate "$name" "$tmp/helm-$version.yaml" stderr
    else
      result "$name: render" FAIL; sed 's/^/          /' "$tmp/log"
    fi
  done
else
  result "deploy/helm/values.yaml with the Elastic chart" SKIPPED "no $shared/elastic-helm-charts"
fi

echo "deploy/validate.sh: $passed passed, $failed failed, $skipped skipped"
((failed == 0))
