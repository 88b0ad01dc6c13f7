# shellcheck shell=bash
# Sourced by .ci/run, image/check.sh, deploy/validate.sh and e2e/podman-e2e.sh:
#   . scripts/lib.sh        (from the repository's root, where each of them cds)
#
# step TITLE                 a CI step's heading, with the time (UTC)
# result NAME STATUS [DETAIL]  one check's line; STATUS ok, FAIL or SKIPPED
# ok NAME / fail NAME [DETAIL] / skip NAME [DETAIL]   the same, by status
# check NAME COMMAND...      ok when COMMAND succeeds (its stdout is dropped), else FAIL
# detail <FILE               FILE's lines indented under a check's line
# shared_missing NAME PATH   NAME needs PATH from ../shared, which is not there:
#                            SKIPPED in a user's clone, FAIL under CI (CI=true)
#
# Counters: passed, failures, skipped. $shared is where the official manifests and
# Elastic charts are: ${LOGPROBE_SHARED:-../shared}/manifests.

step() { printf '\n=== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

passed=0 failures=0 skipped=0
result() {
  printf '  %-7s %s%s\n' "$2" "$1" "${3:+ ($3)}"
  case $2 in
    ok) passed=$((passed + 1)) ;;
    FAIL) failures=$((failures + 1)) ;;
    *) skipped=$((skipped + 1)) ;;
  esac
}
ok() { result "$1" ok "${2:-}"; }
fail() { result "$1" FAIL "${2:-}"; }
skip() { result "$1" SKIPPED "${2:-}"; }
check() {
  local what=$1
  shift
  if "$@" >/dev/null; then ok "$what"; else fail "$what"; fi
}
detail() { sed 's/^/          /'; }

# The official elastic/beats manifests and Elastic Helm charts live beside the
# repository (../shared), not in it: CI has them, a user's clone usually not.
# shellcheck disable=SC2034 # used by the scripts that source this one
shared=${LOGPROBE_SHARED:-../shared}/manifests
shared_missing() {
  if [[ ${CI:-} == true ]]; then
    fail "$1" "$2 is missing; under CI (CI=true) this check must run: put the shared directory at ../shared, or point LOGPROBE_SHARED at it"
  else
    skip "$1" "no $2: skipped in a clone without ../shared or LOGPROBE_SHARED; under CI this fails"
  fi
}
