#!/usr/bin/env bash
# Runs every fuzz target for a bounded time; fails on any crash.
#
#   fuzz/run.sh                      60 s per target
#   FUZZ_SECONDS=3600 fuzz/run.sh    an hour per target
#   fuzz/run.sh scan_incremental     one target
#
# New inputs go to a scratch corpus under fuzz/target/, never into the
# committed seeds in fuzz/corpus/<target>/; crashes land in fuzz/artifacts/<target>/.
set -euo pipefail

cd "$(dirname "$0")"
seconds="${FUZZ_SECONDS:-60}"
toolchain="${FUZZ_TOOLCHAIN:-nightly}"

if ! cargo +"$toolchain" --version >/dev/null 2>&1; then
    echo "fuzz/run.sh: the $toolchain toolchain is missing (rustup toolchain install $toolchain)" >&2
    exit 2
fi
../scripts/install-deps fuzz # cargo-fuzz, when it is missing

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +"$toolchain" fuzz list)
fi

status=0
for t in "${targets[@]}"; do
    scratch="target/corpus/$t"
    mkdir -p "$scratch" "corpus/$t"
    echo "== $t: ${seconds}s"
    if ! cargo +"$toolchain" fuzz run "$t" "$scratch" "corpus/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1; then
        echo "fuzz/run.sh: $t FAILED; reproduce with: cargo +$toolchain fuzz run $t fuzz/artifacts/$t/<crash file>" >&2
        status=1
    fi
done
exit "$status"
