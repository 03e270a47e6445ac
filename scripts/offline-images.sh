#!/usr/bin/env bash
# Base images for building and running taskmgr's containers on a machine that cannot pull from a registry.
#
# The Dockerfiles and docker-compose.yml default to the official images (Rust, Debian slim, PostgreSQL). Where those
# cannot be pulled (this CI machine, an air-gapped host), this script makes local stand-ins once and caches them by
# tag in the Docker engine (pass --rebuild to make them again):
#   taskmgr-offline/debian:bookworm-slim        debootstrap --variant=minbase, trimmed like the official slim image
#   taskmgr-offline/rust:<host version>-slim-bookworm
#                                               that base + gcc/libc6-dev + this host's stable Rust toolchain; it also
#                                               trusts this host's CA bundle for cargo's downloads (builder stage only)
#   taskmgr-offline/postgres:15-bookworm        that base + Debian's PostgreSQL, with an entrypoint that honours
#                                               POSTGRES_USER/PASSWORD/DB and PGDATA like the official image
#   taskmgr-offline/base-nossl-debian12:nonroot the runtime base, FROM scratch like distroless: only the libc6
#                                               libraries the binaries load, the CA bundle, /etc/passwd and /etc/group
#                                               (root, nobody, nonroot 65532), user 65532; no shell
#                                               (scripts/offline-images/runtime-rootfs.sh lists what it copies)
# An official image that is present locally, or can be pulled, is used as it is.
#
# Usage: scripts/offline-images.sh [--rebuild]
# Prints the images to use on stdout, as lines `RUST_IMAGE=...`, `RUNTIME_IMAGE=...`, `POSTGRES_IMAGE=...`
# (everything else goes to stderr), so a caller can `eval` them or pass them as build arguments.
# Needs root (debootstrap), debootstrap, a running Docker engine, and Debian packages reachable over HTTP.
# Environment: OFFLINE_IMAGES_PREFIX replaces `taskmgr-offline` in the stand-ins' tags (to keep apart the stand-ins
# of several checkouts that share one Docker engine).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib/die.sh
source "$ROOT/scripts/lib/die.sh"
SUITE=bookworm
PREFIX="${OFFLINE_IMAGES_PREFIX:-taskmgr-offline}"
REBUILD=false
WORK=""

log() { printf '[offline-images] %s\n' "$*" >&2; }

# One scratch directory for the whole run, removed at exit; new_work_dir makes subdirectories in it (it is called
# in command substitutions, so it cannot register anything with this shell).
cleanup() { [[ -z "$WORK" ]] || rm -rf "$WORK"; }
trap cleanup EXIT

new_work_dir() { mktemp -d "$WORK/XXXXXX"; }

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# The default of `ARG NAME=value` in the backend's Dockerfile: the one place the official base images are named.
dockerfile_default() {
  local name="$1" value
  value="$(sed -n "s/^ARG ${name}=//p" "$ROOT/crates/backend-api/Dockerfile" | head -n1)"
  [[ -n "$value" ]] || die "no 'ARG ${name}=' default in crates/backend-api/Dockerfile"
  printf '%s\n' "$value"
}

# The default of `${POSTGRES_IMAGE:-...}` in docker-compose.yml.
compose_postgres_default() {
  local value
  # shellcheck disable=SC2016 # the ${...} is compose syntax to match, not a shell expansion
  value="$(sed -n 's/.*\${POSTGRES_IMAGE:-\([^}]*\)}.*/\1/p' "$ROOT/docker-compose.yml" | head -n1)"
  [[ -n "$value" ]] || die "no \${POSTGRES_IMAGE:-...} in docker-compose.yml"
  printf '%s\n' "$value"
}

# The Debian mirror this host's apt uses (DEBIAN_MIRROR overrides it). Read at run time so that no mirror is
# written into the repository; both the one-line and the deb822 source formats are understood.
debian_mirror() {
  if [[ -n "${DEBIAN_MIRROR:-}" ]]; then
    printf '%s\n' "$DEBIAN_MIRROR"
    return
  fi
  local files=() file mirror
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -f "$file" ]] && files+=("$file")
  done
  ((${#files[@]} > 0)) || die "no apt sources on this host; set DEBIAN_MIRROR=http://<mirror>/debian"
  mirror="$(awk -v suite="$SUITE" '
    # one-line format: deb [options] URI SUITE COMPONENTS...
    $1 == "deb" { for (i = 2; i < NF; i++) if ($i ~ /^https?:\/\// && $(i + 1) == suite) { print $i; exit } }
    # deb822 format: a stanza with Types: deb, URIs: and Suites: naming the suite
    /^URIs:/ { uris = $2 }
    /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite && uris != "") { print uris; exit } }
    /^[[:space:]]*$/ { uris = "" }
  ' "${files[@]}" 2>/dev/null)"
  [[ -n "$mirror" ]] || die "no '${SUITE}' mirror in the host's apt sources; set DEBIAN_MIRROR=http://<mirror>/debian"
  printf '%s\n' "$mirror"
}

# Trims a fresh root file system the way the official "slim" images are: no docs, man pages or locales, no apt lists.
slim_rootfs() {
  local rootfs="$1"
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$rootfs"/usr/share/{man,groff,info,lintian}/*
  find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
  rm -f "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/*
}

# build_context TAG DIR: the classic builder (BuildKit may be absent) on DIR; its whole output goes to DIR.log,
# and the end of it to stderr when the build fails.
build_context() {
  local tag="$1" ctx="$2"
  DOCKER_BUILDKIT=0 docker build -t "$tag" "$ctx" >"$ctx.log" 2>&1 || {
    tail -n 20 "$ctx.log" >&2
    die "building $tag failed"
  }
}

build_debian_base() {
  local tag="$1" mirror rootfs
  [[ "$(id -u)" == 0 ]] || die "debootstrap needs root to build $tag"
  require debootstrap "apt-get install -y debootstrap"
  mirror="$(debian_mirror)"
  rootfs="$(new_work_dir)/rootfs"
  log "building $tag: debootstrap --variant=minbase $SUITE from $mirror (about a minute)"
  if ! debootstrap --variant=minbase "$SUITE" "$rootfs" "$mirror" >"$rootfs.log" 2>&1; then
    tail -n 20 "$rootfs.log" >&2
    die "debootstrap failed (the end of its log is above)"
  fi
  slim_rootfs "$rootfs"
  tar -C "$rootfs" --numeric-owner -c . |
    docker import --change 'CMD ["bash"]' \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$tag" >/dev/null
}

# The host's active stable toolchain, without docs, clippy, rustfmt or other targets (about 600 MB of 1.4 GB).
stage_rust_toolchain() {
  local dest="$1" sysroot
  require rustc "install Rust on this host with rustup"
  sysroot="$(rustc --print sysroot)"
  mkdir -p "$dest/bin" "$dest/lib/rustlib"
  cp -a "$sysroot/bin/cargo" "$sysroot/bin/rustc" "$sysroot/bin/rustdoc" "$dest/bin/"
  cp -a "$sysroot"/lib/*.so* "$dest/lib/"
  cp -a "$sysroot/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')" "$dest/lib/rustlib/"
}

build_rust_builder() {
  local tag="$1" base="$2" ctx ca="${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
  [[ -r "$ca" ]] || die "no CA bundle at $ca (set HOST_CA_BUNDLE)"
  ctx="$(new_work_dir)"
  log "building $tag from $base and the host's toolchain ($(rustc --version))"
  stage_rust_toolchain "$ctx/rust"
  cp "$ca" "$ctx/host-ca-bundle.crt"
  # The system bundle (/etc/ssl/certs) stays Debian's own, which is what the project's Dockerfiles copy into the
  # runtime images; only cargo is pointed at the host's bundle, so it never reaches a runtime image.
  cat >"$ctx/Dockerfile" <<EOF
FROM $base
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY rust /usr/local/rust
COPY host-ca-bundle.crt /usr/local/share/taskmgr-offline/host-ca-bundle.crt
ENV CARGO_HOME=/usr/local/cargo \
    PATH=/usr/local/cargo/bin:/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    CARGO_HTTP_CAINFO=/usr/local/share/taskmgr-offline/host-ca-bundle.crt
RUN mkdir -p /usr/local/cargo/bin && cargo --version && rustc --version
EOF
  build_context "$tag" "$ctx"
}

build_postgres() {
  local tag="$1" base="$2" ctx
  ctx="$(new_work_dir)"
  log "building $tag from $base and Debian's postgresql-15"
  cp "$ROOT/scripts/offline-images/postgres-entrypoint.sh" "$ctx/docker-entrypoint.sh"
  # UID/GID 999 and the paths are the official Debian-based image's, so volumes and manifests fit both. Its
  # LANG gives new clusters UTF-8, as the official images' en_US.utf8 does (without it, initdb picks SQL_ASCII).
  cat >"$ctx/Dockerfile" <<'EOF'
FROM BASE
RUN groupadd -r -g 999 postgres && useradd -r -g postgres -u 999 -d /var/lib/postgresql -s /bin/bash postgres \
 && apt-get update && apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* /etc/postgresql/15 /var/lib/postgresql/15 \
 && mkdir -p /var/run/postgresql /var/lib/postgresql/data \
 && chown postgres:postgres /var/run/postgresql /var/lib/postgresql/data \
 && chmod 3777 /var/run/postgresql && chmod 700 /var/lib/postgresql/data
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PGDATA=/var/lib/postgresql/data \
    LANG=C.UTF-8
VOLUME /var/lib/postgresql/data
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
EOF
  sed -i "s|^FROM BASE$|FROM $base|" "$ctx/Dockerfile"
  build_context "$tag" "$ctx"
}

# The runtime stand-in: a root file system assembled in the Debian base by runtime-rootfs.sh, copied onto scratch.
# The image settings are distroless's (user nonroot, SSL_CERT_FILE); the Dockerfiles set their own USER.
build_runtime() {
  local tag="$1" base="$2" ctx
  ctx="$(new_work_dir)"
  log "building $tag from $base: libc6's loader, libc and libm, the CA bundle, the users; no shell"
  cp "$ROOT/scripts/offline-images/runtime-rootfs.sh" "$ctx/runtime-rootfs.sh"
  cat >"$ctx/Dockerfile" <<EOF
FROM $base AS rootfs
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \\
 && rm -rf /var/lib/apt/lists/*
COPY runtime-rootfs.sh /usr/local/bin/runtime-rootfs.sh
RUN runtime-rootfs.sh /rootfs

FROM scratch
COPY --from=rootfs /rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
EOF
  build_context "$tag" "$ctx"
  sed -n '/^  [-dl]r/p' "$ctx.log" >&2
}

# ensure_image TAG BUILDER [ARGS...]: builds TAG with BUILDER unless it is cached (or --rebuild was given).
ensure_image() {
  local tag="$1" builder="$2"
  shift 2
  if [[ "$REBUILD" == false ]] && image_exists "$tag"; then
    log "cached: $tag"
    return
  fi
  local start=$SECONDS
  "$builder" "$tag" "$@"
  log "built $tag in $((SECONDS - start))s ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1 / 1e6}'))"
}

# official_or_standin OFFICIAL STANDIN: the official image if it is present or can be pulled, else the stand-in's tag.
official_or_standin() {
  local pull_log
  pull_log="$(new_work_dir)/pull.log"
  if image_exists "$1"; then
    log "using the official image $1 (present locally)"
    printf '%s\n' "$1"
  elif timeout 600 docker pull -q "$1" >"$pull_log" 2>&1; then
    log "using the official image $1 (pulled)"
    printf '%s\n' "$1"
  else
    log "cannot pull $1 ($(tail -n 1 "$pull_log")): using the stand-in $2"
    printf '%s\n' "$2"
  fi
}

main() {
  case "${1:-}" in
    --rebuild) REBUILD=true ;;
    "") ;;
    *) die "usage: $0 [--rebuild]" ;;
  esac
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/taskmgr-offline.XXXXXX")"
  docker info >/dev/null 2>&1 || die "no Docker engine answers (start dockerd, or run scripts/e2e-docker.sh which does)"

  local base="$PREFIX/debian:$SUITE-slim" rust_version runtime rust postgres official_runtime
  rust_version="$(rustc --version 2>/dev/null | awk '{print $2}')"
  official_runtime="$(dockerfile_default RUNTIME_IMAGE)"
  runtime="$(official_or_standin "$official_runtime" "$PREFIX/${official_runtime##*/}")"
  rust="$(official_or_standin "$(dockerfile_default RUST_IMAGE)" "$PREFIX/rust:${rust_version:-none}-slim-$SUITE")"
  postgres="$(official_or_standin "$(compose_postgres_default)" "$PREFIX/postgres:15-$SUITE")"

  if [[ "$runtime" == "$PREFIX/"* || "$rust" == "$PREFIX/"* || "$postgres" == "$PREFIX/"* ]]; then
    ensure_image "$base" build_debian_base
  fi
  [[ "$runtime" != "$PREFIX/"* ]] || ensure_image "$runtime" build_runtime "$base"
  [[ "$rust" != "$PREFIX/"* ]] || ensure_image "$rust" build_rust_builder "$base"
  [[ "$postgres" != "$PREFIX/"* ]] || ensure_image "$postgres" build_postgres "$base"

  printf 'RUST_IMAGE=%s\nRUNTIME_IMAGE=%s\nPOSTGRES_IMAGE=%s\n' "$rust" "$runtime" "$postgres"
}

main "$@"
