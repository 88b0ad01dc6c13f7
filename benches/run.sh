#!/usr/bin/env bash
# The logprobe benchmark, one command: benches/run.sh [bench.py options]
#   LOGPROBE_EXE=/path/to/logprobe   measure this executable instead of building one
#   BENCH_NO_INSTALL=1               never call apt-get; fail cleanly when a tool is missing
# Writes benches/RESULTS.md and prints it. Exits 0 even when a target is missed
# (the misses are printed loudly); 1 when a measurement was invalid; 2 when a
# tool is missing or the build failed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"

missing=()
for tool in python3 grep rg valgrind sh; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "${BENCH_NO_INSTALL:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "missing: ${missing[*]}; installing with scripts/install-deps bench" >&2
    "$repo/scripts/install-deps" bench
  else
    echo "error: missing tools: ${missing[*]}; run scripts/install-deps bench as root (Debian/Ubuntu) or install them" >&2
    exit 2
  fi
fi
for tool in cargo rustc; do
  command -v "$tool" >/dev/null || { echo "error: $tool not found: a Rust toolchain (rustup) is needed to build logprobe and the floor" >&2; exit 2; }
done

if [ -n "${LOGPROBE_EXE:-}" ]; then
  lp="$LOGPROBE_EXE"
else
  echo "building logprobe with scripts/build-static" >&2
  if ! lp="$("$repo/scripts/build-static")"; then
    echo "error: scripts/build-static failed" >&2
    exit 2
  fi
fi
exec python3 "$here/bench.py" --logprobe "$lp" "$@"
