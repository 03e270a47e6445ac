#!/usr/bin/env bash
# The Rust target of an image build, run inside the Dockerfiles' builder stage (which runs on the build machine's
# architecture, BuildKit's BUILDPLATFORM) and runnable on any host to see what it picks.
#
# The image's architecture is TARGETARCH (set by BuildKit; the classic builder sets none, and then it is the builder's
# own architecture, `dpkg --print-architecture`). The same architecture builds natively; another one cross-compiles
# with Debian's cross gcc as linker and as the C compiler of build scripts (the cc crate reads CC_<target>, which is
# how pq-sys's bundled libpq is compiled for the target).
#
# Usage: rust-target.sh env [ARCH]      prints the build's settings as shell assignments (nothing is installed)
#        rust-target.sh toolchain [ARCH]  writes the settings to $RUST_TARGET_ENV (/usr/local/share/rust-target.env)
#                                       and installs Debian's cross gcc for a foreign ARCH
#        rust-target.sh install [ARCH]  the same, plus the Rust standard library of a foreign ARCH (rustup)
#        rust-target.sh stage OUT BIN...  copies target/<triple>/release/BIN into OUT, and the libgcc_s the binaries
#                                       load into OUT/rootfs at the path the image's loader searches
# ARCH: amd64 or arm64 (Docker's names); default TARGETARCH, else the builder's architecture.
# Environment: BUILDARCH overrides the builder's architecture (to see the cross settings on any host).
set -euo pipefail

RUST_TARGET_ENV="${RUST_TARGET_ENV:-/usr/local/share/rust-target.env}"

die() {
  printf '[rust-target] ERROR: %s\n' "$*" >&2
  exit 1
}

host_arch() { dpkg --print-architecture; }

# GNU triple (Debian's multiarch directory and cross-tool prefix) and cross-package suffix of a Docker architecture.
gnu_triple() {
  case "$1" in
    amd64) echo x86_64-linux-gnu ;;
    arm64) echo aarch64-linux-gnu ;;
    *) die "unsupported architecture '$1' (amd64 or arm64)" ;;
  esac
}

# Prints the settings for image architecture $1 built on $2, one `NAME=value` a line.
settings() {
  local arch="$1" build="$2" gnu rust var
  gnu="$(gnu_triple "$arch")"
  gnu_triple "$build" >/dev/null
  rust="${gnu%%-*}-unknown-linux-gnu"
  echo "RUST_TARGET=$rust"
  echo "GNU_TRIPLE=$gnu"
  if [[ "$arch" == "$build" ]]; then
    echo "CROSS_PACKAGES="
    echo "LIBGCC=/lib/$gnu/libgcc_s.so.1"
    return
  fi
  # Debian names the packages with dashes (gcc-x86-64-linux-gnu) and the libc by architecture.
  echo "CROSS_PACKAGES='gcc-${gnu//_/-} libc6-dev-$arch-cross'"
  echo "LIBGCC=/usr/$gnu/lib/libgcc_s.so.1"
  var="${rust//-/_}"
  echo "CARGO_TARGET_${var^^}_LINKER=$gnu-gcc"
  echo "CC_$var=$gnu-gcc"
  echo "AR_$var=$gnu-ar"
}

target_arch() { echo "${1:-${TARGETARCH:-$(host_arch)}}"; }

cmd_env() { settings "$(target_arch "${1:-}")" "${BUILDARCH:-$(host_arch)}"; }

# The C side: the settings in $RUST_TARGET_ENV, and Debian's cross gcc and libc for a foreign architecture.
cmd_toolchain() {
  local CROSS_PACKAGES
  cmd_env "$@" | sed 's/^/export /' >"$RUST_TARGET_ENV"
  # shellcheck source=/dev/null
  . "$RUST_TARGET_ENV"
  [[ -n "$CROSS_PACKAGES" ]] || return 0
  apt-get update
  # shellcheck disable=SC2086 # a list of package names
  apt-get install -y --no-install-recommends $CROSS_PACKAGES
  rm -rf /var/lib/apt/lists/*
}

# The C side, then the Rust standard library of a foreign target (through rustup, which the official image has).
cmd_install() {
  local CROSS_PACKAGES RUST_TARGET
  cmd_toolchain "$@"
  # shellcheck source=/dev/null
  . "$RUST_TARGET_ENV"
  [[ -n "$CROSS_PACKAGES" ]] || return 0
  command -v rustup >/dev/null || die "this builder image has no rustup to add the $RUST_TARGET standard library"
  rustup target add "$RUST_TARGET"
}

cmd_stage() {
  local out="$1" bin lib RUST_TARGET GNU_TRIPLE LIBGCC
  shift
  # shellcheck source=/dev/null
  . "$RUST_TARGET_ENV"
  mkdir -p "$out/rootfs/lib/$GNU_TRIPLE"
  for bin in "$@"; do
    cp "target/$RUST_TARGET/release/$bin" "$out/"
    # readelf reads a foreign binary too (ldd cannot); libgcc_s (Rust's unwinder) is the one library the binaries
    # load that the distroless runtime lacks.
    readelf -d "$out/$bin" | grep -q 'NEEDED.*\[libgcc_s\.so\.1\]' || die "$bin does not load libgcc_s.so.1"
  done
  lib="$out/rootfs/lib/$GNU_TRIPLE/libgcc_s.so.1"
  cp -L "$LIBGCC" "$lib" || die "no libgcc_s at $LIBGCC"
}

main() {
  local cmd="${1:-}"
  shift || true
  case "$cmd" in
    env) cmd_env "$@" ;;
    toolchain) cmd_toolchain "$@" ;;
    install) cmd_install "$@" ;;
    stage)
      (($# >= 2)) || die "usage: $0 stage OUT BIN..."
      cmd_stage "$@"
      ;;
    *) die "usage: $0 env|toolchain|install [ARCH] | stage OUT BIN..." ;;
  esac
}

main "$@"
