#!/usr/bin/env bash
# The browser stage of scripts/test.sh: starts a throwaway PostgreSQL, the backend-api and the frontend
# (debug builds) on free ports of 127.0.0.1, runs e2e/ui.test.mjs in headless Chromium through
# playwright-core, and stops everything again (also on failure or Ctrl-C).
#
#   scripts/test-browser.sh                 screenshots go to .local/screenshots (the tree stays clean)
#   scripts/test-browser.sh --screenshots   refresh the README's screenshots in docs/images
#
# Installs nothing: when Chromium, node, e2e/node_modules or PostgreSQL is missing it fails and says how
# to get it (.ci/run installs them).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
SCREENSHOT_DIR="$ROOT/.local/screenshots"
WORK=""
PG_DATA=""
PIDS=()

die() {
  echo "test-browser: $*" >&2
  exit 1
}

# find_postgres_bin, as_pg_owner, cargo_target_dir and wait_ready, shared with `./deploy.sh local`.
# shellcheck source=scripts/deploy-local.sh
source "$ROOT/scripts/deploy-local.sh"
# shellcheck source=scripts/lib/ports.sh
source "$ROOT/scripts/lib/ports.sh"

parse_args() {
  case "${1:-}" in
    "") ;;
    --screenshots) SCREENSHOT_DIR="$ROOT/docs/images" ;;
    *) die "unknown option ${1}; usage: scripts/test-browser.sh [--screenshots]" ;;
  esac
}

check_prerequisites() {
  [[ -x "$CHROMIUM" ]] || die "Chromium not found at $CHROMIUM: apt-get install chromium (or set CHROMIUM to its path)"
  command -v node >/dev/null 2>&1 || die "node not found: apt-get install nodejs npm"
  [[ -f "$ROOT/e2e/node_modules/playwright-core/package.json" ]] ||
    die "e2e/node_modules is missing: run 'npm ci --prefix e2e' (.ci/run does it)"
  command -v curl >/dev/null 2>&1 || die "curl not found: apt-get install curl"
  command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust with rustup"
  PG_BIN="$(find_postgres_bin)" || die "PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql"
}

start_postgres() {
  local port="$1"
  PG_DATA="$WORK/pgdata"
  mkdir -p "$PG_DATA"
  touch "$WORK/postgres.log"
  if [[ "$(id -u)" == 0 ]]; then
    chown postgres: "$PG_DATA" "$WORK/postgres.log"
  fi
  # trust on 127.0.0.1 only, in a throwaway cluster deleted at the end (its own `postgres` database is used).
  as_pg_owner "$PG_BIN/initdb" -D "$PG_DATA" -U taskmgr --auth=trust -E UTF8 </dev/null >"$WORK/initdb.log" 2>&1 ||
    die "initdb failed: $(tail -n 5 "$WORK/initdb.log")"
  as_pg_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$WORK/postgres.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='' -c fsync=off" start </dev/null >/dev/null ||
    die "PostgreSQL did not start: $(tail -n 5 "$WORK/postgres.log")"
}

# start_service NAME READY_URL COMMAND...: runs COMMAND in the background (the caller sets its env).
start_service() {
  local name="$1" url="$2"
  shift 2
  "$@" </dev/null >"$WORK/$name.log" 2>&1 &
  PIDS+=("$!")
  wait_ready "$name" "$url" "$WORK/$name.log" "$!"
}

cleanup() {
  local status=$? pid
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [[ -n "$PG_DATA" && -f "$PG_DATA/postmaster.pid" ]]; then
    as_pg_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop </dev/null >/dev/null 2>&1 || true
  fi
  if [[ -n "$WORK" ]]; then
    if ((status != 0)); then
      local log
      for log in "$WORK"/*.log; do
        echo "--- last lines of $(basename "$log")" >&2
        tail -n 15 "$log" >&2
      done
    fi
    rm -rf "$WORK"
  fi
  exit "$status"
}

main() {
  parse_args "$@"
  check_prerequisites
  echo "==> building backend-api and frontend"
  cargo build --locked -q -p backend-api -p frontend
  local bin pg_port api_port ui_port
  bin="$(cargo_target_dir)/debug"

  WORK="$(mktemp -d /tmp/taskmgr-browser.XXXXXX)"
  chmod 755 "$WORK" # the postgres user must reach its data directory inside
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  { read -r pg_port; read -r api_port; read -r ui_port; } < <(free_ports 3)

  echo "==> PostgreSQL on 127.0.0.1:$pg_port"
  start_postgres "$pg_port"
  echo "==> backend-api on 127.0.0.1:$api_port"
  DATABASE_URL="postgres://taskmgr@127.0.0.1:$pg_port/postgres" HOST=127.0.0.1 PORT="$api_port" METRICS_PORT=0 RUST_LOG=warn \
    start_service backend-api "http://127.0.0.1:$api_port/ready" "$bin/backend-api"
  echo "==> frontend on 127.0.0.1:$ui_port"
  BACKEND_API_URL="http://127.0.0.1:$api_port" HOST=127.0.0.1 PORT="$ui_port" METRICS_PORT=0 RUST_LOG=warn \
    SECRET_KEY="browser-test-only-key-$RANDOM$RANDOM" \
    start_service frontend "http://127.0.0.1:$ui_port/ready" "$bin/frontend"

  echo "==> browser test (Chromium: $CHROMIUM, screenshots: ${SCREENSHOT_DIR#"$ROOT"/})"
  mkdir -p "$SCREENSHOT_DIR"
  TASKMGR_URL="http://127.0.0.1:$ui_port" CHROMIUM="$CHROMIUM" SCREENSHOT_DIR="$SCREENSHOT_DIR" \
    node --test-reporter=spec "$ROOT/e2e/ui.test.mjs"
}

main "$@"
