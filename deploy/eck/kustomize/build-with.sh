#!/usr/bin/env bash
# Prints deploy/eck/kustomize applied to a file holding ECK `Beat`s (and whatever
# else), without writing into the repository: `kubectl kustomize` (kustomize built
# into kubectl) runs on a temporary copy of this directory holding the given file
# as beat.yaml.
#   deploy/eck/kustomize/build-with.sh path/to/beat.yaml > patched.yaml
set -euo pipefail
[[ $# -eq 1 && -f $1 ]] || { echo "usage: $0 BEAT_MANIFEST" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$(dirname "$0")"/*.yaml "$(dirname "$0")"/*.json "$work/"
cp "$1" "$work/beat.yaml"
kubectl kustomize "$work"
