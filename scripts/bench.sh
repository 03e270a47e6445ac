#!/usr/bin/env bash
# Benchmarks taskmgr on this machine and prints one report: req/s, p99, each row's ceiling measured in the same
# run and the ratio, instructions per request, peak RSS, and a verdict against each target.
#
# It starts a throwaway PostgreSQL on 127.0.0.1 (the backend and pgbench connect as the backend's own role, as
# deployed) and the release binaries under two settings: the binaries' defaults (an actix worker per CPU, a pool of
# twice the CPUs), on which the ratio targets were set, and the deployed ones (one actix worker, the configmap's
# DB_POOL_SIZE); RUST_LOG is the configmap's under both. Each
# round is a pass per binary and settings on a fresh database of 100 tasks: the UI pages with the backend's
# `limit=20`/`limit=100` requests as their ceilings, then the backend rows, each followed by pgbench running that
# row's own SQL. With BENCH_BASELINE, the baseline's binaries and the current ones alternate over one PostgreSQL;
# every figure is the median over the rounds. Instructions per request come from callgrind (load-insensitive),
# under the deployed settings. Everything started is stopped on exit; traffic goes to 127.0.0.1 only.
#
# Usage: scripts/bench.sh [--instructions-only]
#   BENCH_BASELINE=<git rev>   also build and measure that revision (e.g. BENCH_BASELINE=2e00e76)
#   BENCH_ROUNDS=3             rounds (at least 3); BENCH_DURATION=5s, BENCH_CONNECTIONS=16 per wrk run
#   BENCH_CALLGRIND_REQUESTS=300   sequential requests per callgrind run
#   BENCH_DB_POOL_SIZE=N       another pool size than the configmap's
#   BENCH_CACHE_DIR=DIR        where the baseline's target dir and binaries are kept (~/.cache/taskmgr-bench)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib/ports.sh
source "$ROOT/scripts/lib/ports.sh"
# shellcheck source=scripts/lib/stack.sh
source "$ROOT/scripts/lib/stack.sh"
# shellcheck source=scripts/bench/setup.sh
source "$ROOT/scripts/bench/setup.sh"
# shellcheck source=scripts/bench/throughput.sh
source "$ROOT/scripts/bench/throughput.sh"
# shellcheck source=scripts/bench/instructions.sh
source "$ROOT/scripts/bench/instructions.sh"
# shellcheck source=scripts/bench/report.sh
source "$ROOT/scripts/bench/report.sh"

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

main() {
  local instructions_only=0
  case "${1:-}" in
    "") ;;
    --instructions-only) instructions_only=1 ;;
    -h | --help) usage; return ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
  bench_check_settings
  bench_check_tools "$instructions_only"
  stack_require_postgres
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
  bench_record_header "$@"
  bench_build_variants
  bench_start_postgres
  if [[ "$instructions_only" == 0 ]]; then
    bench_all_rounds
    bench_search
  fi
  bench_all_instructions
  bench_print_report "$instructions_only"
}

main "$@"
