#!/usr/bin/env bash
# Installs what image/check.sh, deploy/validate.sh and e2e/podman-e2e.sh need.
# Idempotent: skips what is already there. Debian 12, run as root.
set -euo pipefail

debs=(podman runc catatonit skopeo umoci busybox-static jq)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "ci-deps: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# kubernetes-validate: offline schema checks; helm-python-sdk: Helm's template engine
# as a library (no helm binary), to render the Elastic chart with deploy/helm/values.yaml.
missing=()
for p in kubernetes-validate==1.37.0 helm-python-sdk==0.2.2; do
  python3 -m pip show --quiet "${p%%==*}" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "ci-deps: installing ${missing[*]}"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "${missing[@]}"
  if command -v pyenv >/dev/null; then pyenv rehash; fi
fi
# deploy/validate.sh applies deploy/kustomize with the kustomize built into kubectl.
command -v kubectl >/dev/null || echo "ci-deps: warning: no kubectl; deploy/validate.sh needs \`kubectl kustomize\`" >&2
echo "ci-deps: ok ($(podman --version), $(umoci --version)," \
  "$(python3 -m pip list 2>/dev/null | awk '$1 == "kubernetes-validate" || $1 == "helm-python-sdk" { printf "%s %s ", $1, $2 }'))"
