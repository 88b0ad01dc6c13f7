#!/usr/bin/env bash
# Installs what benches/run.sh needs besides a Rust toolchain (Debian/Ubuntu, as root).
set -euo pipefail
if ! command -v apt-get >/dev/null; then
  echo "error: apt-get not found; install by hand: python3 (3.8+), grep, ripgrep, valgrind, time" >&2
  exit 2
fi
if [ "$(id -u)" != 0 ]; then
  echo "error: run as root (apt-get install), or install by hand: python3 grep ripgrep valgrind time" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends python3 grep ripgrep valgrind time >/dev/null
echo "installed: python3 grep ripgrep valgrind time" >&2
