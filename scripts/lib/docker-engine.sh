# shellcheck shell=bash
# Sourced by the scripts that need a Docker engine (scripts/e2e-docker.sh, scripts/test-infra.sh): the engine
# that already runs, or a dockerd started here as root (input and output redirected to a log file) and stopped
# again by docker_engine_stop, so a test run leaves no daemon behind.

DOCKER_ENGINE_PID=""

# docker_engine_start LOGFILE: 0 once an engine answers; otherwise 1, with the reason and the way out on stderr.
docker_engine_start() {
  local logfile="$1"
  if ! command -v docker >/dev/null 2>&1; then
    echo "no docker command: install Docker (Debian: apt-get install -y docker.io)" >&2
    return 1
  fi
  docker info >/dev/null 2>&1 && return 0
  if ! command -v dockerd >/dev/null 2>&1; then
    echo "no Docker engine runs and dockerd is not installed (Debian: apt-get install -y docker.io)" >&2
    return 1
  fi
  if [[ "$(id -u)" != 0 ]]; then
    echo "no Docker engine runs: start it (as root: dockerd &, or systemctl start docker) or run this as root" >&2
    return 1
  fi
  mkdir -p "$(dirname "$logfile")"
  echo "starting dockerd (log: $logfile)" >&2
  dockerd </dev/null >"$logfile" 2>&1 &
  DOCKER_ENGINE_PID=$!
  local deadline=$((SECONDS + 60))
  until docker info >/dev/null 2>&1; do
    if ! kill -0 "$DOCKER_ENGINE_PID" 2>/dev/null || ((SECONDS > deadline)); then
      tail -n 20 "$logfile" >&2
      echo "dockerd did not come up within 60 s (the end of its log is above)" >&2
      docker_engine_stop
      return 1
    fi
    sleep 1
  done
}

# Stops the dockerd that docker_engine_start started, if any (an engine that was already running is left alone).
docker_engine_stop() {
  [[ -n "$DOCKER_ENGINE_PID" ]] || return 0
  echo "stopping the dockerd started for this run" >&2
  kill -TERM "$DOCKER_ENGINE_PID" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 "$DOCKER_ENGINE_PID" 2>/dev/null && ((SECONDS < deadline)); do sleep 1; done
  kill -KILL "$DOCKER_ENGINE_PID" 2>/dev/null || true
  wait "$DOCKER_ENGINE_PID" 2>/dev/null || true
  DOCKER_ENGINE_PID=""
}
