#!/usr/bin/env bash
# The one command that runs taskmgr's whole test suite.
# It installs nothing: when a prerequisite is missing, the stage that needs it fails and says how to get it
# (`.ci/run` is what installs them on a fresh Debian machine).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

passed=0
failed=0
failed_names=()

# run_stage NAME COMMAND...: runs one stage, records its outcome, and keeps going so one run reports every failure.
run_stage() {
  local name="$1"
  shift
  printf '\n==> stage %s: %s\n' "$name" "$*"
  local start=$SECONDS
  if "$@"; then
    passed=$((passed + 1))
    printf '<== stage %s passed in %ss\n' "$name" "$((SECONDS - start))"
  else
    failed=$((failed + 1))
    failed_names+=("$name")
    printf '<== stage %s FAILED after %ss\n' "$name" "$((SECONDS - start))"
  fi
}

require() {
  local tool="$1" hint="$2"
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "missing prerequisite: $tool ($hint)" >&2
    return 1
  fi
}

stage_rust_lint() {
  require cargo "install Rust with rustup" &&
    cargo fmt --all -- --check &&
    cargo clippy --workspace --all-targets --locked -- -D warnings
}

stage_rust_tests() {
  cargo test --workspace --locked
}

stage_browser() {
  ./scripts/test-browser.sh
}

stage_fuzz() {
  ./scripts/test-fuzz.sh
}

stage_infra() {
  ./scripts/test-infra.sh
}

# The container images and docker-compose.yml, built and run for real (needs root or a running Docker engine).
stage_docker() {
  ./scripts/docker-lint.sh && ./scripts/e2e-docker.sh && ./scripts/test-infra.sh tests/infra/docker_postgres_lock.py
}

run_stage rust-lint stage_rust_lint
run_stage rust-tests stage_rust_tests
run_stage browser stage_browser
run_stage fuzz stage_fuzz
run_stage infra stage_infra
run_stage docker stage_docker

echo
if ((failed > 0)); then
  echo "failed stages: ${failed_names[*]}"
fi
echo "stages: ${passed} passed, ${failed} failed"
((failed == 0))
