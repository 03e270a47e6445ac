# shellcheck shell=bash
# The compose command of this machine, for deploy.sh, scripts/e2e-docker.sh and scripts/docker-lint.sh: $COMPOSE
# when set (e.g. "docker-compose"), else Docker's plugin (`docker compose`, v2), else Debian's docker-compose (v1).

COMPOSE_CMD=()
# shellcheck disable=SC2034 # read by the scripts that source this file
COMPOSE_MISSING="no Docker Compose: install the compose plugin or Debian's docker-compose (apt-get install -y docker-compose)"

# Sets COMPOSE_CMD, or returns 1 when this machine has none (COMPOSE_MISSING says how to get one).
compose_find() {
  if [[ -n "${COMPOSE:-}" ]]; then
    read -r -a COMPOSE_CMD <<<"$COMPOSE"
  elif docker compose version >/dev/null 2>&1; then
    COMPOSE_CMD=(docker compose)
  elif command -v docker-compose >/dev/null 2>&1; then
    COMPOSE_CMD=(docker-compose)
  else
    return 1
  fi
}

# v1's classic builder keeps the container of a failed step unless told --force-rm; v2 has no such option.
compose_build_args() {
  if [[ "${COMPOSE_CMD[0]}" == docker-compose ]]; then
    echo --force-rm
  fi
}
