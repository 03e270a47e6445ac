#!/usr/bin/env bash
# The one command that runs taskmgr's test suite, by named stages.
#   ./scripts/test.sh                      every stage, in the order of --list
#   ./scripts/test.sh rust-tests browser   only those stages, in the order given
#   ./scripts/test.sh --list               the stage names, one a line, with what each runs
# An unknown stage name is an error (exit 2). It installs nothing: when a prerequisite is missing, the stage that
# needs it fails and says how to get it (`.ci/run` is what installs them on a fresh Debian machine).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib/die.sh
source "$ROOT/scripts/lib/die.sh"

# The stages, in the default order: "name|what it runs". Stage NAME runs the function stage_NAME (- becomes _).
STAGES=(
  "rust-lint|cargo fmt --check, clippy -D warnings, no module import cycles"
  "rust-tests|cargo test --workspace (real PostgreSQL)"
  "browser|scripts/test-browser.sh (headless Chromium)"
  "fuzz|scripts/test-fuzz.sh (schemathesis against the backend)"
  "infra|scripts/test-infra.sh (pytest in tests/infra)"
  "docker|scripts/docker-lint.sh and scripts/e2e-docker.sh (real images, compose)"
)

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

stage_rust_lint() {
  have_tool cargo "install Rust with rustup" &&
    cargo fmt --all -- --check &&
    cargo clippy --workspace --all-targets --locked -- -D warnings &&
    python3 scripts/check-module-cycles.py
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

stage_names() {
  local entry
  for entry in "${STAGES[@]}"; do
    echo "${entry%%|*}"
  done
}

list_stages() {
  local entry
  for entry in "${STAGES[@]}"; do
    printf '%-11s %s\n' "${entry%%|*}" "${entry#*|}"
  done
}

# Exits 2 on a name that is not a stage, before anything runs.
check_stage_names() {
  local name
  for name in "$@"; do
    if ! stage_names | grep -qxF -- "$name"; then
      echo "test.sh: unknown stage '$name'; the stages are: $(stage_names | tr '\n' ' ')(./scripts/test.sh --list)" >&2
      exit 2
    fi
  done
}

main() {
  case "${1:-}" in
    --list)
      list_stages
      return
      ;;
    -h | --help)
      sed -n '2,7s/^# \{0,1\}//p' "$0"
      return
      ;;
  esac
  local selected=("$@") name
  ((${#selected[@]})) || mapfile -t selected < <(stage_names)
  check_stage_names "${selected[@]}"
  for name in "${selected[@]}"; do
    run_stage "$name" "stage_${name//-/_}"
  done

  echo
  if ((failed > 0)); then
    echo "failed stages: ${failed_names[*]}"
  fi
  echo "stages: ${passed} passed, ${failed} failed"
  ((failed == 0))
}

main "$@"
