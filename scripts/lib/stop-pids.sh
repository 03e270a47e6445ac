# shellcheck shell=bash
# stop_pids PID...: stops processes this shell started. SIGTERM to all, up to STOP_GRACE seconds (30: past the
# services' own 25 s shutdown grace) for them to exit, then SIGKILL; each is reaped. Never waits longer, never fails
# (a process may be gone already).
STOP_GRACE=30

stop_pids() {
  local pid deadline=$((SECONDS + STOP_GRACE))
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
