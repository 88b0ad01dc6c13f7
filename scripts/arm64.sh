# shellcheck shell=bash
# Sourced by scripts/build-static and scripts/test-arm64:
#   . scripts/arm64.sh; use_arm64_toolchain NAME || exit 2
#
# use_arm64_toolchain NAME: sets arm64_cargo and exports what cargo needs to build for
# aarch64-unknown-linux-gnu here: the linker (aarch64-linux-gnu-gcc) and, when the
# toolchain on PATH lacks the arm64 standard library (rustup cannot download it
# here), Debian's rustc and cargo (`scripts/install-deps arm64`). Without either,
# says what to install on stderr (as NAME: …) and returns 1.

# shellcheck disable=SC2034 # arm64_cargo is read by the scripts that source this one
use_arm64_toolchain() {
  local triple=aarch64-unknown-linux-gnu
  export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=${CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER:-aarch64-linux-gnu-gcc}
  if ! command -v "$CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER" >/dev/null; then
    echo "$1: no $CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER, the arm64 linker: scripts/install-deps arm64" >&2
    return 1
  fi
  if has_std rustc "$triple"; then
    arm64_cargo=cargo
  elif [[ -x /usr/bin/cargo ]] && has_std /usr/bin/rustc "$triple"; then
    arm64_cargo=/usr/bin/cargo
    export RUSTC=/usr/bin/rustc
  else
    echo "$1: no Rust standard library for $triple: rustup target add $triple, or scripts/install-deps arm64" >&2
    return 1
  fi
}

# has_std RUSTC TRIPLE: RUSTC has TRIPLE's standard library.
has_std() {
  local dir
  dir=$("$1" --print target-libdir --target "$2" 2>/dev/null) && compgen -G "$dir/libstd-*.rlib" >/dev/null
}
