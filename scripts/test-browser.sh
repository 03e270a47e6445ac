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

die() {
  echo "test-browser: $*" >&2
  exit 1
}

# shellcheck source=scripts/lib/stack.sh
source "$ROOT/scripts/lib/stack.sh"
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
  stack_require_postgres
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stack_stop
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
  bin="$(stack_target_dir)/debug"

  WORK="$(mktemp -d /tmp/taskmgr-browser.XXXXXX)"
  chmod 755 "$WORK" # the postgres user must reach its data directory inside
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  { read -r pg_port; read -r api_port; read -r ui_port; } < <(free_ports 3)

  echo "==> PostgreSQL on 127.0.0.1:$pg_port"
  # Trust on 127.0.0.1 only, in a throwaway cluster deleted at the end (its own `postgres` database is used).
  stack_init_postgres "$WORK/pgdata" taskmgr ""
  stack_start_postgres "$WORK/pgdata" "$pg_port" "$WORK/postgres.log" fsync=off
  echo "==> backend-api on 127.0.0.1:$api_port"
  DATABASE_URL="postgres://taskmgr@127.0.0.1:$pg_port/postgres" HOST=127.0.0.1 PORT="$api_port" METRICS_PORT=0 RUST_LOG=warn \
    stack_start_service backend-api "http://127.0.0.1:$api_port/ready" "$WORK/backend-api.log" "$bin/backend-api"
  echo "==> frontend on 127.0.0.1:$ui_port"
  BACKEND_API_URL="http://127.0.0.1:$api_port" HOST=127.0.0.1 PORT="$ui_port" METRICS_PORT=0 RUST_LOG=warn \
    SECRET_KEY="browser-test-only-key-$RANDOM$RANDOM" \
    stack_start_service frontend "http://127.0.0.1:$ui_port/ready" "$WORK/frontend.log" "$bin/frontend"

  echo "==> browser test (Chromium: $CHROMIUM, screenshots: ${SCREENSHOT_DIR#"$ROOT"/})"
  mkdir -p "$SCREENSHOT_DIR"
  TASKMGR_URL="http://127.0.0.1:$ui_port" CHROMIUM="$CHROMIUM" SCREENSHOT_DIR="$SCREENSHOT_DIR" \
    node --test-reporter=spec "$ROOT/e2e/ui.test.mjs"
}

main "$@"
