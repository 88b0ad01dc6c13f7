#!/usr/bin/env bash
# Prints one of the overlays here (standalone, managed) applied to Elastic Agent's
# official manifest, without writing into the repository: `kubectl kustomize`
# (kustomize built into kubectl) runs on a temporary copy of the overlay holding
# the given file under the name its kustomization.yaml lists.
#   deploy/kustomize-elastic-agent/build-with.sh standalone path/to/elastic-agent-standalone-kubernetes.yaml > patched.yaml
#   deploy/kustomize-elastic-agent/build-with.sh managed path/to/elastic-agent-managed-kubernetes.yaml > patched.yaml
set -euo pipefail
usage="usage: $0 standalone|managed OFFICIAL_MANIFEST"
[[ $# -eq 2 && -f $2 ]] || { echo "$usage" >&2; exit 2; }
case $1 in
  standalone | managed) overlay=$(dirname "$0")/$1 ;;
  *) echo "$usage" >&2; exit 2 ;;
esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$overlay"/*.yaml "$work/"
cp "$2" "$work/elastic-agent-$1-kubernetes.yaml"
kubectl kustomize "$work"
