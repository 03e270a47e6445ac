# shellcheck shell=bash
# Sourced by the scripts that need a Docker engine (scripts/e2e-docker.sh, scripts/test-infra.sh): the engine
# that already runs, or a dockerd started here as root (input and output redirected to a log file) and stopped
# again by docker_engine_stop, so a test run leaves no daemon behind.

# shellcheck source=scripts/lib/die.sh
source "$(dirname "${BASH_SOURCE[0]}")/die.sh"
# shellcheck source=scripts/lib/stop-pids.sh
source "$(dirname "${BASH_SOURCE[0]}")/stop-pids.sh"

DOCKER_ENGINE_PID=""
# Every docker call here is bounded: a wedged engine must not hang the wait for it.
DOCKER_INFO=(timeout 10 docker info)

# docker_engine_start LOGFILE: 0 once an engine answers; otherwise 1, with the reason and the way out on stderr.
docker_engine_start() {
  local logfile="$1"
  have_tool docker "install Docker (Debian: apt-get install -y docker.io)" || return 1
  "${DOCKER_INFO[@]}" >/dev/null 2>&1 && return 0
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
  until "${DOCKER_INFO[@]}" >/dev/null 2>&1; do
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
  stop_pids "$DOCKER_ENGINE_PID"
  DOCKER_ENGINE_PID=""
  # Said after the stop: with nobody reading any more (`| head`), saying it first would end the script before.
  echo "stopped the dockerd started for this run" >&2 || true
}
