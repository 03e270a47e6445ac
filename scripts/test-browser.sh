#!/usr/bin/env bash
# The browser stage of scripts/test.sh: starts a throwaway PostgreSQL, the backend-api and the frontend
# (debug builds) on free ports of 127.0.0.1, and in front of the frontend a stand-in of the --tls Gateway (HTTPS
# with deploy.sh's certificate, which Chromium trusts through an NSS database made here); runs e2e/ui.test.mjs and
# e2e/hsts.test.mjs in headless Chromium through playwright-core, and stops everything again (also on failure or
# Ctrl-C).
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

# shellcheck source=scripts/lib/test-stack.sh
source "$ROOT/scripts/lib/test-stack.sh"
# shellcheck source=scripts/lib/tls-cert.sh
source "$ROOT/scripts/lib/tls-cert.sh"

# The stand-in Gateway connects to the frontend from this address, which the frontend trusts (TRUSTED_PROXIES).
PROXY_SOURCE=127.0.0.2
HTTPS_PORT=""

parse_args() {
  case "${1:-}" in
    "") ;;
    --screenshots) SCREENSHOT_DIR="$ROOT/docs/images" ;;
    *) die "unknown option ${1}; usage: scripts/test-browser.sh [--screenshots]" ;;
  esac
}

check_prerequisites() {
  [[ -x "$CHROMIUM" ]] || die "Chromium not found at $CHROMIUM: apt-get install chromium (or set CHROMIUM to its path)"
  require node "apt-get install nodejs npm"
  [[ -f "$ROOT/e2e/node_modules/playwright-core/package.json" ]] ||
    die "e2e/node_modules is missing: run 'npm ci --prefix e2e' (.ci/run does it)"
  require curl "apt-get install curl"
  require cargo "install Rust with rustup"
  require openssl "apt-get install openssl"
  require certutil "apt-get install libnss3-tools (.ci/run does)"
  require python3 "apt-get install python3"
  stack_require_postgres
}

# start_https_stand_in UI_PORT: deploy.sh's certificate in $WORK/tls, trusted by an NSS database in
# $WORK/home/.pki/nssdb (where Chromium looks for the user's certificates: the browser runs with HOME=$WORK/home),
# and the stand-in Gateway (tests/infra/standins/tls_proxy.py) in front of the frontend; its port in HTTPS_PORT.
start_https_stand_in() {
  local ui_port="$1" i
  mkdir -p "$WORK/tls" "$WORK/home/.pki/nssdb"
  tls_make_leaf_certificate "$WORK/tls" || die "could not make the certificate"
  certutil -N -d "sql:$WORK/home/.pki/nssdb" --empty-password
  # Trusted as the site's own certificate (P) and as the issuer of itself (C), as a browser's exception does.
  certutil -A -d "sql:$WORK/home/.pki/nssdb" -n taskmgr-localhost -t "CP,," -i "$WORK/tls/tls.crt"
  python3 "$ROOT/tests/infra/standins/tls_proxy.py" "$WORK/tls/tls.crt" "$WORK/tls/tls.key" "$ui_port" \
    "$PROXY_SOURCE" "$WORK/proxy.port" </dev/null >"$WORK/tls-proxy.log" 2>&1 &
  STACK_PIDS+=("$!") # stopped with the services
  for ((i = 0; i < 100; i++)); do
    if [[ -s "$WORK/proxy.port" ]]; then
      HTTPS_PORT="$(cat "$WORK/proxy.port")"
      return
    fi
    sleep 0.1
  done
  die "the HTTPS stand-in did not start (see $WORK/tls-proxy.log)"
}

main() {
  parse_args "$@"
  check_prerequisites
  test_stack_start browser
  local pg_port api_port ui_port
  { read -r pg_port; read -r api_port; read -r ui_port; } < <(free_ports 3)

  echo "==> PostgreSQL on 127.0.0.1:$pg_port"
  test_stack_start_postgres "$pg_port" fsync=off
  TRUSTED_PROXIES="$PROXY_SOURCE" test_stack_start_services "$TEST_STACK_DATABASE_URL" "$api_port" "$ui_port"

  start_https_stand_in "$ui_port"
  echo "==> HTTPS stand-in of the --tls Gateway on https://localhost:$HTTPS_PORT (certificate trusted by Chromium's NSS database)"

  echo "==> browser test (Chromium: $CHROMIUM, screenshots: ${SCREENSHOT_DIR#"$ROOT"/})"
  mkdir -p "$SCREENSHOT_DIR"
  TASKMGR_URL="$FRONTEND_URL" TASKMGR_HTTPS_URL="https://localhost:$HTTPS_PORT" \
    TASKMGR_BROWSER_HOME="$WORK/home" CHROMIUM="$CHROMIUM" SCREENSHOT_DIR="$SCREENSHOT_DIR" \
    node --test --test-reporter=spec "$ROOT/e2e/ui.test.mjs" "$ROOT/e2e/hsts.test.mjs"
}

main "$@"
