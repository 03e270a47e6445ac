#!/usr/bin/env bash
# Runs inside the Debian base while scripts/offline-images.sh builds the runtime stand-in: assembles ROOTFS with
# what the official distroless base-nossl image gives taskmgr's binaries, and nothing else (no shell, no package
# manager, no coreutils):
#   - the libc6 libraries the binaries load (the dynamic loader, libc, libm), at the paths Debian installs them;
#   - the CA bundle /etc/ssl/certs/ca-certificates.crt (from Debian's ca-certificates, installed beforehand);
#   - /etc/passwd and /etc/group with distroless's users: root, nobody and nonroot (65532).
# Usage: runtime-rootfs.sh ROOTFS
set -euo pipefail

ROOTFS="${1:-}"
# The libc6 files the binaries need, as an extended regular expression on their paths. libgcc_s is not among them:
# the distroless base-nossl image lacks it too, and the Dockerfiles copy it from the builder.
# scripts/e2e-docker/runtime_libs.py compares this against `ldd` on the binaries, so a new need fails there.
LIBC6_FILES='/(ld-linux[^/]*\.so\.[0-9]+|libc\.so\.6|libm\.so\.6)$'

die() {
  printf '[runtime-rootfs] ERROR: %s\n' "$*" >&2
  exit 1
}

# copy PATH: PATH into ROOTFS at the same place, as it is (a symlink stays a symlink), parents as plain directories.
copy() {
  install -d -m 0755 "$ROOTFS$(dirname "$1")"
  cp -a "$1" "$ROOTFS$1"
}

copy_libraries() {
  local files file
  files="$(dpkg -L libc6 | grep -E "$LIBC6_FILES")" || die "no file of libc6 matches $LIBC6_FILES"
  for file in $files; do copy "$file"; done
}

copy_ca_bundle() {
  local bundle=/etc/ssl/certs/ca-certificates.crt
  [[ -s "$bundle" ]] || die "$bundle is missing or empty (is ca-certificates installed?)"
  copy "$bundle"
}

write_users() {
  install -d -m 0755 "$ROOTFS/etc"
  cat >"$ROOTFS/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
  cat >"$ROOTFS/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
nonroot:x:65532:
EOF
  chmod 0644 "$ROOTFS/etc/passwd" "$ROOTFS/etc/group"
}

main() {
  [[ -n "$ROOTFS" && ! -e "$ROOTFS" ]] || die "usage: $0 ROOTFS (a path that does not exist yet)"
  install -d -m 0755 "$ROOTFS"
  copy_libraries
  copy_ca_bundle
  write_users
  find "$ROOTFS" -mindepth 1 -printf '  %M %U:%G /%P %l\n' >&2
}

main
