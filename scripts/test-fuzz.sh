#!/usr/bin/env bash
# Fuzz stage: schemathesis generates requests from the running backend's own OpenAPI document
# (/api/openapi.json) and runs every check on the answers (no 5xx, status codes, content types, headers and
# response bodies as documented, bad input rejected, good input accepted). A fixed seed and a time budget
# per run. Two runs: against the backend itself (at least 1,000 cases), then the /api operations again
# through the frontend's pass-through, which must answer as the document says too. Everything runs on
# 127.0.0.1: a throwaway PostgreSQL, the backend and the frontend binaries (scripts/lib/test-stack.sh), all stopped
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

# shellcheck source=scripts/lib/test-stack.sh
source "$ROOT/scripts/lib/test-stack.sh"

check_prerequisites() {
  require cargo "install Rust with rustup"
  require curl "apt-get install curl"
  [[ -x "$FUZZ_VENV/bin/schemathesis" ]] ||
    die "schemathesis not found in $FUZZ_VENV: run 'sudo bash .ci/run --install-only', or
  python3 -m venv $FUZZ_VENV && $FUZZ_VENV/bin/pip install -r tests/fuzz/requirements.txt"
  stack_require_postgres
}

# PostgreSQL, the backend and the frontend on free ports (chosen together so that none is handed out twice).
start_stack() {
  local pg_port api_port ui_port
  { read -r pg_port; read -r api_port; read -r ui_port; } < <(free_ports 3)
  test_stack_start_postgres "$pg_port"
  test_stack_start_services "$TEST_STACK_DATABASE_URL" "$api_port" "$ui_port"
}

# run_schemathesis NAME BASE_URL MAX_TIME MIN_CASES [OPTION...]: one run against the backend's document,
# sending the requests to BASE_URL.
run_schemathesis() {
  local attempt
  for attempt in 1 2; do
    schemathesis_once "$@" && return 0
    # Only a crash of the tool itself is run again, once: CPython 3.11's ast module can raise this in threaded
    # programs (python/cpython#106905), which is also why schemathesis runs one worker. A finding is never retried.
    if ((attempt == 1)) && grep -q "SystemError: AST constructor recursion depth mismatch" "$WORK/schemathesis-$1.out" &&
      ! grep -Eq "^ *[0-9]+ generated, .*[0-9]+ failed" "$WORK/schemathesis-$1.out"; then
      echo "==> schemathesis, $1: the tool crashed (CPython's AST recursion-depth bug, not a finding): running it again" >&2
      continue
    fi
    die "schemathesis found failures ($1); reproduce with FUZZ_SEED=$FUZZ_SEED ./scripts/test-fuzz.sh"
  done
}

# schemathesis_once NAME BASE_URL MAX_TIME MIN_CASES [OPTION...]: fails when schemathesis does.
schemathesis_once() {
  local name="$1" base_url="$2" max_time="$3" min_cases="$4" started=$SECONDS status=0
  shift 4
  echo "==> schemathesis, $name: $base_url (seed $FUZZ_SEED, at most ${max_time}s)"
  # Run from the work directory: schemathesis keeps a .schemathesis/ cache in its working directory.
  (cd "$WORK" && "$FUZZ_VENV/bin/schemathesis" run "$BACKEND_URL/api/openapi.json" \
    --url "$base_url" \
    --checks all \
    --seed "$FUZZ_SEED" \
    --max-examples "$FUZZ_MAX_EXAMPLES" \
    --max-time "$max_time" \
    --generation-database none \
    --request-timeout 10 \
    --workers 1 \
    --no-color "$@") | tee "$WORK/schemathesis-$name.out" || status=$?
  echo "==> schemathesis, $name: finished in $((SECONDS - started))s (exit $status)"
  ((status == 0)) || return 1
  check_case_count "$name" "$WORK/schemathesis-$name.out" "$min_cases"
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
  test_stack_start fuzz
  start_stack
  run_schemathesis backend "$BACKEND_URL" "$FUZZ_MAX_TIME" 1000
  # The frontend passes /api/* through: the same operations must get the same answers there.
  run_schemathesis frontend-pass-through "$FRONTEND_URL" "$FUZZ_PROXY_MAX_TIME" 300 \
    --include-path-regex '^/api/'
}

main "$@"
