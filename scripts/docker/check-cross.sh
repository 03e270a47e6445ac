#!/usr/bin/env bash
# Runs here the part of a cross-compiled image build that needs no foreign Rust standard library (only the official
# image's rustup can add one): in the builder image, rust-target.sh installs the cross toolchain for ARCH, cargo runs
# pq-sys's bundled libpq build for that target with it (--keep-going: the Rust crates fail without their standard
# library, the C build does not), and the check reads the machine of libpq's objects and of the libgcc_s that
# `rust-target.sh stage` would copy into the image.
# Usage: scripts/docker/check-cross.sh [ARCH]   (arm64 by default)
# Environment: RUST_IMAGE, the builder image (default: the Dockerfiles' default; scripts/offline-images.sh prints a
# local stand-in). Needs a Docker engine and Debian's and the crate registry's packages reachable from a container.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/lib/die.sh
source "$ROOT/scripts/lib/die.sh"
ARCH="${1:-arm64}"

# What readelf calls the machine of each architecture.
expected_machine() {
  case "$1" in
    amd64) echo "Advanced Micro Devices X86-64" ;;
    arm64) echo "AArch64" ;;
    *) die "unsupported architecture '$1' (amd64 or arm64)" ;;
  esac
}

# The script run in the builder container, on a copy of the workspace.
in_builder() {
  cat <<'EOF'
set -euo pipefail
mkdir -p /src && cp -r /repo/Cargo.toml /repo/Cargo.lock /repo/crates /src/ && cd /src
install -m 755 /repo/scripts/docker/rust-target.sh /usr/local/bin/rust-target
rust-target toolchain "$ARCH" >/tmp/toolchain.log 2>&1 || { tail -n 20 /tmp/toolchain.log; exit 1; }
. /usr/local/share/rust-target.env
# The workspace enables pq-sys's bundled libpq, so pq-src's build script compiles it with CC_<target>.
cargo build --release --locked --keep-going --target "$RUST_TARGET" -p pq-sys >/tmp/build.log 2>&1 || true
lib="$(find "target/$RUST_TARGET/release/build" -name libpq.a 2>/dev/null | head -n 1)"
[[ -n "$lib" ]] || { tail -n 30 /tmp/build.log; echo "no libpq.a was built for $RUST_TARGET"; exit 1; }
echo "libpq.a $(readelf -h "$lib" | sed -n 's/^ *Machine: *//p' | sort | uniq -c | sed 's/^ *//')"
echo "libgcc_s $(readelf -h "$LIBGCC" | sed -n 's/^ *Machine: *//p')"
EOF
}

main() {
  local image="${RUST_IMAGE:-}" machine report
  machine="$(expected_machine "$ARCH")"
  [[ -n "$image" ]] || image="$(sed -n 's/^ARG RUST_IMAGE=//p' "$ROOT/crates/backend-api/Dockerfile")"
  printf '[check-cross] %s: libpq and libgcc_s for %s in %s (a few minutes)\n' "$ARCH" "$ARCH" "$image"
  report="$(docker run --rm --name "check-cross-$$" -e ARCH="$ARCH" -v "$ROOT:/repo:ro" "$image" \
    bash -c "$(in_builder)")" || die "the cross build in $image failed:"$'\n'"$report"
  printf '%s\n' "$report"
  # Every object of libpq.a, and libgcc_s, must be for the image's machine: two lines, no other machine.
  [[ "$(wc -l <<<"$report")" == 2 ]] || die "objects for more than one machine"
  grep -qx "libpq.a [0-9]* $machine" <<<"$report" || die "libpq.a is not (only) for $machine"
  grep -qx "libgcc_s $machine" <<<"$report" || die "libgcc_s is not for $machine"
  printf '[check-cross] OK: libpq.a and libgcc_s are built for %s (%s)\n' "$ARCH" "$machine"
}

main
