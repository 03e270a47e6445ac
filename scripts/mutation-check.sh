#!/usr/bin/env bash
# The mutation check: does each test that guards a known defect still catch it? (Not part of CI or test.sh.)
#   scripts/mutation-check.sh              every break in the table below
#   scripts/mutation-check.sh NAME...      only those breaks
#   scripts/mutation-check.sh --list       the breaks and the test that must catch each
# It checks the committed HEAD (not uncommitted edits): HEAD goes into a temporary `git worktree` (removed on exit,
# Ctrl-C included), where each break, scripts/mutations/NAME.patch (read from this checkout), is applied alone. Its
# test is built and run there; the break is "caught" only when that test fails. Each test first runs once without
# any break and must pass there, or it proves nothing. Builds share CARGO_TARGET_DIR (default: this checkout's
# target/), so each break recompiles only what it touched. Logs: $CARGO_TARGET_DIR/mutation-check/NAME.log.
# Infra tests use .local/infra-venv of this checkout, or the one INFRA_VENV names.
# Exit status: 0 when every break is caught; 1 when one survived, did not apply, did not build, or its test fails
# without it; 2 for an unknown name.
set -euo pipefail

# One break a line: name | patch in scripts/mutations/ | the one test that must catch it (`cargo test -p CRATE --test
# BIN TEST` runs that test alone, with --exact; `scripts/test-infra.sh NODE-ID` runs one pytest node).
BREAKS=(
  "like-escaping | like-escaping.patch | cargo test -p backend-api --test api list::filters_by_status_priority_and_search"
  "limit-bound | limit-bound.patch | cargo test -p backend-api --test api list::invalid_parameters_are_400_naming_the_parameter"
  "blank-title | blank-title.patch | cargo test -p backend-api --test api errors::validation_failures_are_422_naming_the_field"
  "empty-patch | empty-patch.patch | cargo test -p backend-api --test api crud::an_empty_patch_changes_nothing_and_answers_200"
  "total-count | total-count.patch | cargo test -p backend-api --test api list::pages_with_limit_and_offset_and_counts_all_matches"
  "migration-lock | migration-lock.patch | cargo test -p backend-api --test api migrations::migrations_wait_while_another_replica_holds_the_lock"
  "outage-500 | outage-500.patch | cargo test -p backend-api --test faults db_outage::writers_lose_nothing_while_the_database_restarts"
  "csrf | csrf.patch | cargo test -p frontend --test ui security::every_form_refuses_a_post_without_its_csrf_token"
  "cross-site-form | cross-site-form.patch | cargo test -p frontend --test ui security::a_form_from_another_site_is_refused_even_with_a_valid_token"
  "autoescape | autoescape.patch | cargo test -p frontend --test ui pages::task_text_is_escaped_everywhere"
  "location-pass-through | location-pass-through.patch | cargo test -p frontend --test ui proxy::the_api_answers_through_the_frontend_as_it_does_directly"
  "delete-never-sent | delete-never-sent.patch | cargo test -p frontend --test ui pages::deleting_asks_for_confirmation_then_deletes"
  "outage-empty-list | outage-empty-list.patch | cargo test -p frontend --test ui outage::a_stopped_backend_gives_a_503_banner_then_recovery"
  "rollout-all-at-once | rollout-all-at-once.patch | scripts/test-infra.sh tests/infra/test_e2e_kind.py::test_e2e_kind_script_passes_against_the_stand_in_deployment"
  "restore-without-lock | restore-without-lock.patch | scripts/test-infra.sh tests/infra/test_backup.py::test_api_reads_answer_while_a_restore_waits_for_its_lock"
)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PATCHES="$ROOT/scripts/mutations"
# shellcheck source=scripts/lib/die.sh
source "$ROOT/scripts/lib/die.sh"
# A test that hangs under a break counts as failing (caught); one without a break must end well within this.
TEST_TIMEOUT="${MUTATION_TEST_TIMEOUT:-1200}"

TREE=""
LOG_DIR=""
declare -A BASELINE=() # test command -> "pass" or why it proves nothing
declare -A OUTCOMES=()
RESULTS=()

usage() {
  sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# field ENTRY N: the Nth `|`-separated column of a table line, trimmed.
field() {
  local -a columns
  IFS='|' read -ra columns <<<"$1"
  local value="${columns[$2]}"
  value="${value#"${value%%[![:space:]]*}"}"
  echo "${value%"${value##*[![:space:]]}"}"
}

entry_of() {
  local entry
  for entry in "${BREAKS[@]}"; do
    if [[ "$(field "$entry" 0)" == "$1" ]]; then
      echo "$entry"
      return 0
    fi
  done
  return 1
}

list_breaks() {
  local entry
  for entry in "${BREAKS[@]}"; do
    printf '%-22s %s\n' "$(field "$entry" 0)" "$(field "$entry" 2)"
  done
}

require_tools() {
  require git "apt-get install git"
  require cargo "install Rust with rustup"
  require timeout "apt-get install coreutils"
  git -C "$ROOT" rev-parse --verify -q HEAD >/dev/null || die "$ROOT is not a git checkout with a commit"
}

cleanup() {
  if [[ -n "$TREE" && -d "$TREE" ]]; then
    git -C "$ROOT" worktree remove --force "$TREE" 2>/dev/null || rm -rf "$TREE"
    git -C "$ROOT" worktree prune
  fi
}

make_tree() {
  TREE="$(mktemp -d "${TMPDIR:-/tmp}/taskmgr-mutation.XXXXXX")"
  git -C "$ROOT" worktree add --detach -q "$TREE" HEAD || die "could not add a worktree of HEAD at $TREE"
  local venv="${INFRA_VENV:-$ROOT/.local/infra-venv}"
  if [[ -d "$venv" ]]; then
    mkdir -p "$TREE/.local"
    ln -s "$venv" "$TREE/.local/infra-venv" # ignored by git: survives each reset
  fi
  echo "checking HEAD $(git -C "$ROOT" rev-parse --short HEAD) in $TREE (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
}

reset_tree() {
  git -C "$TREE" reset -q --hard HEAD
  git -C "$TREE" clean -q -fd
}

# parse_test COMMAND: sets KIND (rust or infra) and ARGS (what the runner needs), or fails naming the command.
parse_test() {
  local -a words
  read -ra words <<<"$1"
  if [[ "${words[*]:0:3}" == "cargo test -p" && "${words[4]:-}" == "--test" && ${#words[@]} -eq 7 ]]; then
    KIND=rust
    ARGS=("${words[3]}" "${words[5]}" "${words[6]}")
  elif [[ "${words[0]}" == "scripts/test-infra.sh" && ${#words[@]} -eq 2 ]]; then
    KIND=infra
    ARGS=("${words[1]}")
  else
    echo "unrecognised test command in the table: $1" >&2
    return 1
  fi
}

# build_test COMMAND: builds what the test runs, in the worktree.
build_test() {
  parse_test "$1" || return 1
  case "$KIND" in
  rust) (cd "$TREE" && cargo test --locked --no-run -p "${ARGS[0]}" --test "${ARGS[1]}") ;;
  # The infra tests build or run the debug or release binaries themselves; a break that does not compile must
  # not pass for one they catch.
  infra) (cd "$TREE" && cargo build --locked -p backend-api -p frontend) ;;
  esac
}

# run_test COMMAND: runs that one test in the worktree; fails when it fails (or finds nothing to run).
run_test() {
  parse_test "$1" || return 1
  local output status=0
  output="$(mktemp)"
  case "$KIND" in
  rust)
    (cd "$TREE" && timeout --kill-after=10 "$TEST_TIMEOUT" \
      cargo test --locked -p "${ARGS[0]}" --test "${ARGS[1]}" -- --exact "${ARGS[2]}") >"$output" 2>&1 || status=$?
    ;;
  infra)
    (cd "$TREE" && timeout --kill-after=10 "$TEST_TIMEOUT" scripts/test-infra.sh "${ARGS[0]}") >"$output" 2>&1 ||
      status=$?
    ;;
  esac
  cat "$output"
  ((status == 124)) && echo "(the test did not end within $TEST_TIMEOUT s)"
  # A filter that matches nothing passes: it must have run exactly one test.
  if ((status == 0)) && ! grep -Eq '^running 1 test$|(^| )1 passed' "$output"; then
    echo "(the test ran no test, or more than one: is its name still right?)"
    status=1
  fi
  rm -f "$output"
  return "$status"
}

# baseline TEST LOG: the test on the unbroken tree, once per test; BASELINE[TEST] says "pass" or why it proves nothing.
baseline() {
  local test="$1" log="$2"
  if [[ -z "${BASELINE[$test]:-}" ]]; then
    reset_tree
    echo "==> without any break: $test" >>"$log"
    if ! build_test "$test" >>"$log" 2>&1; then
      BASELINE[$test]="the unbroken tree does not build"
    elif ! run_test "$test" >>"$log" 2>&1; then
      BASELINE[$test]="the test fails, or is not found, without the break"
    else
      BASELINE[$test]=pass
    fi
  fi
}

# failure_of LOG: the first assertion message of the run with the break, so that a catch can be told from a test
# that failed for another reason (a flaky one, say).
failure_of() {
  awk '/^==> with /{on = 1} on && /panicked at/ {getline; print; exit} on && /^E  / {print; exit}' "$1" | cut -c1-150
}

# check_break NAME: applies the break, builds and runs its test; records and prints the outcome.
check_break() {
  local name="$1" entry patch test log outcome started=$SECONDS
  entry="$(entry_of "$name")"
  patch="$PATCHES/$(field "$entry" 1)"
  test="$(field "$entry" 2)"
  log="$LOG_DIR/$name.log"
  : >"$log"
  baseline "$test" "$log"
  reset_tree
  echo "==> with $patch: $test" >>"$log"
  if [[ "${BASELINE[$test]}" != pass ]]; then
    outcome="UNPROVEN (${BASELINE[$test]})"
  elif [[ ! -f "$patch" ]]; then
    outcome="patch does not apply (no file $patch)"
  elif ! git -C "$TREE" apply --whitespace=nowarn "$patch" >>"$log" 2>&1; then
    outcome="patch does not apply"
  elif ! build_test "$test" >>"$log" 2>&1; then
    outcome="does not build"
  elif run_test "$test" >>"$log" 2>&1; then
    outcome="SURVIVED"
  else
    outcome="caught"
  fi
  OUTCOMES[$name]="$outcome"
  RESULTS+=("$(printf '%-22s %-40s %4ss  %s' "$name" "$outcome" "$((SECONDS - started))" "$test")")
  printf '%-22s %-40s %4ss\n' "$name" "$outcome" "$((SECONDS - started))"
  if [[ "$outcome" == caught ]]; then
    echo "    failed with: $(failure_of "$log")"
  else
    echo "    log: $log"
  fi
}

summary() {
  local name caught=0 survived=0 other=0
  for name in "$@"; do
    case "${OUTCOMES[$name]}" in
    caught) caught=$((caught + 1)) ;;
    SURVIVED) survived=$((survived + 1)) ;;
    *) other=$((other + 1)) ;;
    esac
  done
  echo
  printf '%s\n' "${RESULTS[@]}"
  echo "mutation check: $caught caught, $survived SURVIVED, $other not applied/not built/unproven, of $# breaks"
  ((survived == 0 && other == 0))
}

main() {
  local names=() name
  case "${1:-}" in
  -h | --help)
    usage
    return 0
    ;;
  --list)
    list_breaks
    return 0
    ;;
  esac
  for name in "$@"; do
    entry_of "$name" >/dev/null || {
      echo "${0##*/}: unknown break '$name'; the breaks (--list):" >&2
      list_breaks >&2
      exit 2
    }
    names+=("$name")
  done
  if ((${#names[@]} == 0)); then
    for name in "${BREAKS[@]}"; do names+=("$(field "$name" 0)"); done
  fi
  require_tools
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
  LOG_DIR="$CARGO_TARGET_DIR/mutation-check"
  mkdir -p "$LOG_DIR"
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  make_tree
  for name in "${names[@]}"; do
    check_break "$name"
  done
  summary "${names[@]}"
}

main "$@"
