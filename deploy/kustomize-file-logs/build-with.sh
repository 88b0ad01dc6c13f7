#!/usr/bin/env bash
# Prints deploy/kustomize-file-logs applied to an official Filebeat manifest, without writing
# into the repository: `kubectl kustomize` (kustomize built into kubectl) runs on a
# temporary copy of this directory holding the given file as filebeat-kubernetes.yaml.
#   deploy/kustomize-file-logs/build-with.sh path/to/filebeat-kubernetes.yaml > patched.yaml
set -euo pipefail
[[ $# -eq 1 && -f $1 ]] || { echo "usage: $0 OFFICIAL_MANIFEST" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$(dirname "$0")"/*.yaml "$work/"
cp "$1" "$work/filebeat-kubernetes.yaml"
kubectl kustomize "$work"
