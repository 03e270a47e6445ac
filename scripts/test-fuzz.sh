#!/usr/bin/env bash
# Fuzz stage: schemathesis generates requests from the running backend's own OpenAPI document
# (/api/openapi.json) and runs every check on the answers (no 5xx, status codes, content types, headers and
# response bodies as documented, bad input rejected, good input accepted). A fixed seed and a bounded number
# of cases and time, so a failure reproduces. Everything runs on 127.0.0.1: a throwaway PostgreSQL
# (scripts/deploy-local.sh's helpers) and the backend binary, both stopped at the end, also on failure.
#
# Needs the pinned schemathesis of tests/fuzz/requirements.txt in .local/fuzz-venv (`.ci/run` installs it).
# Tunables: FUZZ_SEED, FUZZ_MAX_EXAMPLES (cases per operation and phase), FUZZ_MAX_TIME (seconds).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

FUZZ_VENV="$ROOT/.local/fuzz-venv"
FUZZ_SEED="${FUZZ_SEED:-20261121}"
FUZZ_MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-100}"
FUZZ_MAX_TIME="${FUZZ_MAX_TIME:-75}"
FUZZ_MIN_CASES=1000

die() {
  echo "test-fuzz.sh: $*" >&2
  exit 1
}

# shellcheck source=scripts/deploy-local.sh
source "$ROOT/scripts/deploy-local.sh"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

check_prerequisites() {
  command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust with rustup"
  command -v curl >/dev/null 2>&1 || die "curl not found: apt-get install curl"
  [[ -x "$FUZZ_VENV/bin/schemathesis" ]] ||
    die "schemathesis not found in $FUZZ_VENV: run 'sudo bash .ci/run --install-only', or
  python3 -m venv $FUZZ_VENV && $FUZZ_VENV/bin/pip install -r tests/fuzz/requirements.txt"
  PG_BIN="$(find_postgres_bin)" ||
    die "PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql"
}

# A throwaway cluster in a fresh directory under /tmp: as root, PostgreSQL runs as the postgres user, which
# may not be able to reach the checkout (e.g. under /root).
start_postgres() {
  WORK_DIR="$(mktemp -d /tmp/taskmgr-fuzz.XXXXXX)"
  chmod 755 "$WORK_DIR"
  LOCAL_PG_PORT="$(free_port)"
  start_local_postgres "$WORK_DIR"
}

start_backend() {
  echo "==> building backend-api"
  cargo build --locked -q -p backend-api
  local bin port
  bin="$(cargo_target_dir)/debug/backend-api"
  port="$(free_port)"
  BACKEND_URL="http://127.0.0.1:$port"
  echo "==> starting backend-api on $BACKEND_URL"
  DATABASE_URL="postgres://$LOCAL_DB_USER@127.0.0.1:$LOCAL_PG_PORT/$LOCAL_DB" HOST=127.0.0.1 PORT="$port" \
    RUST_LOG=warn "$bin" </dev/null >"$WORK_DIR/backend-api.log" 2>&1 &
  LOCAL_PIDS+=("$!")
  wait_ready backend-api "$BACKEND_URL/ready" "$WORK_DIR/backend-api.log" "$!"
}

cleanup() {
  stop_local
  if [[ -n "${WORK_DIR:-}" ]]; then rm -rf "$WORK_DIR"; fi
}

run_schemathesis() {
  echo "==> schemathesis (seed $FUZZ_SEED, up to $FUZZ_MAX_EXAMPLES cases per operation and phase, at most ${FUZZ_MAX_TIME}s)"
  local started=$SECONDS status=0
  # Run from the work directory: schemathesis keeps a .schemathesis/ cache in its working directory.
  (cd "$WORK_DIR" && "$FUZZ_VENV/bin/schemathesis" run "$BACKEND_URL/api/openapi.json" \
    --checks all \
    --seed "$FUZZ_SEED" \
    --max-examples "$FUZZ_MAX_EXAMPLES" \
    --max-time "$FUZZ_MAX_TIME" \
    --generation-database none \
    --request-timeout 10 \
    --workers 2 \
    --no-color) | tee "$WORK_DIR/schemathesis.out" || status=$?
  echo "==> schemathesis finished in $((SECONDS - started))s"
  if ((status != 0)); then
    tail -n 30 "$WORK_DIR/backend-api.log" >&2 || true
    die "schemathesis found failures (exit $status); reproduce with FUZZ_SEED=$FUZZ_SEED ./scripts/test-fuzz.sh"
  fi
  check_case_count "$WORK_DIR/schemathesis.out"
}

# Fewer than FUZZ_MIN_CASES generated cases (schemathesis's summary: "N generated, N passed") proves too little.
check_case_count() {
  local cases
  cases="$(sed -n 's/^ *\([0-9][0-9]*\) generated.*/\1/p' "$1" | tail -n 1)"
  [[ -n "$cases" ]] || die "no case count in the schemathesis summary"
  ((cases >= FUZZ_MIN_CASES)) || die "only $cases cases were generated (want at least $FUZZ_MIN_CASES)"
  echo "schemathesis: $cases cases, no failure"
}

main() {
  check_prerequisites
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  start_postgres
  start_backend
  run_schemathesis
}

main "$@"
