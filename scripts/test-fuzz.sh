#!/usr/bin/env bash
# Fuzz stage: schemathesis generates requests from the running backend's own OpenAPI document
# (/api/openapi.json) and runs every check on the answers (no 5xx, status codes, content types, headers and
# response bodies as documented, bad input rejected, good input accepted). A fixed seed and a time budget
# per run. Two runs: against the backend itself (at least 1,000 cases), then the /api operations again
# through the frontend's pass-through, which must answer as the document says too. Everything runs on
# 127.0.0.1: a throwaway PostgreSQL, the backend and the frontend binaries (scripts/lib/stack.sh), all stopped
# at the end, also on failure.
#
# Needs the pinned schemathesis of tests/fuzz/requirements.txt in .local/fuzz-venv (`.ci/run` installs it).
# Tunables: FUZZ_SEED, FUZZ_MAX_EXAMPLES (cases per operation and phase), FUZZ_MAX_TIME and
# FUZZ_PROXY_MAX_TIME (seconds for each run).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

FUZZ_VENV="$ROOT/.local/fuzz-venv"
FUZZ_SEED="${FUZZ_SEED:-20261121}"
FUZZ_MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-100}"
FUZZ_MAX_TIME="${FUZZ_MAX_TIME:-75}"
FUZZ_PROXY_MAX_TIME="${FUZZ_PROXY_MAX_TIME:-30}"

die() {
  echo "test-fuzz.sh: $*" >&2
  exit 1
}

# shellcheck source=scripts/lib/stack.sh
source "$ROOT/scripts/lib/stack.sh"
# shellcheck source=scripts/lib/ports.sh
source "$ROOT/scripts/lib/ports.sh"

check_prerequisites() {
  command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust with rustup"
  command -v curl >/dev/null 2>&1 || die "curl not found: apt-get install curl"
  [[ -x "$FUZZ_VENV/bin/schemathesis" ]] ||
    die "schemathesis not found in $FUZZ_VENV: run 'sudo bash .ci/run --install-only', or
  python3 -m venv $FUZZ_VENV && $FUZZ_VENV/bin/pip install -r tests/fuzz/requirements.txt"
  stack_require_postgres
}

# A throwaway cluster in a fresh directory under /tmp: as root, PostgreSQL runs as the postgres user, which
# may not be able to reach the checkout (e.g. under /root).
start_postgres() {
  WORK_DIR="$(mktemp -d /tmp/taskmgr-fuzz.XXXXXX)"
  chmod 755 "$WORK_DIR"
  # PostgreSQL's, the backend's and the frontend's, chosen together so that none is handed out twice.
  mapfile -t PORTS < <(free_ports 3)
  local port="${PORTS[0]}"
  (umask 077 && random_token 24 >"$WORK_DIR/pg-password")
  if [[ "$(id -u)" == 0 ]]; then chown postgres: "$WORK_DIR/pg-password"; fi
  stack_init_postgres "$WORK_DIR/pgdata" taskmgr "$WORK_DIR/pg-password"
  stack_start_postgres "$WORK_DIR/pgdata" "$port" "$WORK_DIR/postgres.log"
  # The backend connects as its own role, as on every deploy path.
  DATABASE_URL="$(stack_app_role "$port" taskmgr "$WORK_DIR/pg-password" postgres taskmgr_app "$WORK_DIR/app-password")"
}

start_services() {
  echo "==> building backend-api and frontend"
  cargo build --locked -q -p backend-api -p frontend
  local bin
  bin="$(stack_target_dir)/debug"
  BACKEND_URL="http://127.0.0.1:${PORTS[1]}"
  echo "==> starting backend-api on $BACKEND_URL"
  DATABASE_URL="$DATABASE_URL" HOST=127.0.0.1 PORT="${PORTS[1]}" METRICS_PORT=0 RUST_LOG=warn \
    stack_start_service backend-api "$BACKEND_URL/ready" "$WORK_DIR/backend-api.log" "$bin/backend-api"

  FRONTEND_URL="http://127.0.0.1:${PORTS[2]}"
  echo "==> starting frontend on $FRONTEND_URL"
  BACKEND_API_URL="$BACKEND_URL" HOST=127.0.0.1 PORT="${PORTS[2]}" METRICS_PORT=0 SECRET_KEY="fuzz-stage-only-$RANDOM-$RANDOM-key" \
    RUST_LOG=warn stack_start_service frontend "$FRONTEND_URL/ready" "$WORK_DIR/frontend.log" "$bin/frontend"
}

cleanup() {
  stack_stop
  if [[ -n "${WORK_DIR:-}" ]]; then rm -rf "$WORK_DIR"; fi
}

# run_schemathesis NAME BASE_URL MAX_TIME MIN_CASES [OPTION...]: one run against the backend's document,
# sending the requests to BASE_URL.
run_schemathesis() {
  local attempt
  for attempt in 1 2; do
    schemathesis_once "$@" && return 0
    # Only a crash of the tool itself is run again, once: CPython 3.11's ast module can raise this in threaded
    # programs (python/cpython#106905), which is also why schemathesis runs one worker. A finding is never retried.
    if ((attempt == 1)) && grep -q "SystemError: AST constructor recursion depth mismatch" "$WORK_DIR/schemathesis-$1.out" &&
      ! grep -Eq "^ *[0-9]+ generated, .*[0-9]+ failed" "$WORK_DIR/schemathesis-$1.out"; then
      echo "==> schemathesis, $1: the tool crashed (CPython's AST recursion-depth bug, not a finding): running it again" >&2
      continue
    fi
    tail -n 30 "$WORK_DIR/backend-api.log" "$WORK_DIR/frontend.log" >&2 || true
    die "schemathesis found failures ($1); reproduce with FUZZ_SEED=$FUZZ_SEED ./scripts/test-fuzz.sh"
  done
}

# schemathesis_once NAME BASE_URL MAX_TIME MIN_CASES [OPTION...]: fails when schemathesis does.
schemathesis_once() {
  local name="$1" base_url="$2" max_time="$3" min_cases="$4" started=$SECONDS status=0
  shift 4
  echo "==> schemathesis, $name: $base_url (seed $FUZZ_SEED, at most ${max_time}s)"
  # Run from the work directory: schemathesis keeps a .schemathesis/ cache in its working directory.
  (cd "$WORK_DIR" && "$FUZZ_VENV/bin/schemathesis" run "$BACKEND_URL/api/openapi.json" \
    --url "$base_url" \
    --checks all \
    --seed "$FUZZ_SEED" \
    --max-examples "$FUZZ_MAX_EXAMPLES" \
    --max-time "$max_time" \
    --generation-database none \
    --request-timeout 10 \
    --workers 1 \
    --no-color "$@") | tee "$WORK_DIR/schemathesis-$name.out" || status=$?
  echo "==> schemathesis, $name: finished in $((SECONDS - started))s (exit $status)"
  ((status == 0)) || return 1
  check_case_count "$name" "$WORK_DIR/schemathesis-$name.out" "$min_cases"
}

# Fewer generated cases than wanted (schemathesis's summary: "N generated, N passed") proves too little.
check_case_count() {
  local name="$1" summary="$2" min_cases="$3" cases
  cases="$(sed -n 's/^ *\([0-9][0-9]*\) generated.*/\1/p' "$summary" | tail -n 1)"
  [[ -n "$cases" ]] || die "no case count in the schemathesis summary ($name)"
  ((cases >= min_cases)) || die "$name: only $cases cases were generated (want at least $min_cases)"
  echo "schemathesis, $name: $cases cases, no failure"
}

main() {
  check_prerequisites
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  start_postgres
  start_services
  run_schemathesis backend "$BACKEND_URL" "$FUZZ_MAX_TIME" 1000
  # The frontend passes /api/* through: the same operations must get the same answers there.
  run_schemathesis frontend-pass-through "$FRONTEND_URL" "$FUZZ_PROXY_MAX_TIME" 300 \
    --include-path-regex '^/api/'
}

main "$@"
