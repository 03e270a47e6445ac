# shellcheck shell=bash
# shellcheck disable=SC2034 # its globals are read by the other bench libraries
# scripts/bench.sh's set-up: settings, tools, the binaries measured (current and baseline), the PostgreSQL
# cluster, and starting/stopping the services under either settings. Sourced after ports.sh and stack.sh.
#
# Globals the other bench libraries read: WORK_DIR, PG_PORT, VARIANTS (the binaries' names, in order),
# VARIANT_BIN (name → directory of backend-api and frontend), VARIANT_REV (name → what was built), SETTINGS
# (those the services start with, one of ALL_SETTINGS), and the deployed settings DEPLOYED_RUST_LOG,
# DEPLOYED_POOL_SIZE.

DURATION="${BENCH_DURATION:-5s}"
CONNECTIONS="${BENCH_CONNECTIONS:-16}"
ROUNDS="${BENCH_ROUNDS:-3}"
THREADS=2
SEED_TASKS=100
CACHE_DIR="${BENCH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/taskmgr-bench}"
CONFIGMAP="$ROOT/kubernetes/configmap.yaml"

WORK_DIR=""
PG_PORT=""
VARIANTS=()
# "defaults": the binaries' own (an actix worker per CPU, a pool of twice the CPUs), on which the targets were
# set; "deployed": the pods' (see backend_env). Every row is measured under both.
ALL_SETTINGS=(defaults deployed)
SETTINGS=deployed
declare -A VARIANT_BIN=() VARIANT_REV=()
BASELINE_SRC="" # the baseline's temporary git worktree while it builds
START_CPU=""    # the one CPU a service sees at start-up (so actix starts one worker)
ALL_CPUS=""     # the CPUs it runs on afterwards
STARTED_AT="$(date +%s)"
LOAD_AT_START="$(cut -d' ' -f1-3 /proc/loadavg)"
LOAD_BEFORE_MEASURING=""
COMMAND_LINE=""
DEPLOYED_RUST_LOG=""
DEPLOYED_POOL_SIZE=""
API=""          # the backend start_seeded_backend started: its URL, metrics URL and pid
API_METRICS=""
BACKEND_PID=""

bench_check_settings() {
  [[ "$ROUNDS" =~ ^[0-9]+$ && "$ROUNDS" -ge 3 ]] || die "BENCH_ROUNDS must be a whole number of at least 3 (medians of 3 or more)"
  [[ "$DURATION" =~ ^[0-9]+s$ ]] || die "BENCH_DURATION must be seconds, such as 5s"
  [[ "$CONNECTIONS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_CONNECTIONS must be a whole number"
}

# bench_check_tools INSTRUCTIONS_ONLY
bench_check_tools() {
  require cargo "install Rust with rustup"
  require git "Debian: apt-get install git"
  require curl "Debian: apt-get install curl"
  require python3 "Debian: apt-get install python3"
  require taskset "Debian: apt-get install util-linux"
  require valgrind "Debian: apt-get install valgrind"
  if [[ "$1" == 0 ]]; then
    require wrk "Debian: apt-get install wrk"
    require pgbench "Debian: apt-get install postgresql (or postgresql-contrib)"
  fi
}

# deployed_setting KEY: the value of KEY in the app-config ConfigMap (kubernetes/configmap.yaml), what the pods run.
deployed_setting() {
  local value
  value="$(awk -v key="$1" '$0 ~ "^  " key ": " {sub("^  " key ": *", ""); gsub("\"", ""); print; exit}' "$CONFIGMAP")"
  [[ -n "$value" ]] || die "no $1 in $CONFIGMAP"
  echo "$value"
}

# bench_record_header ARG...: what the report's header states about the run, read before anything starts.
bench_record_header() {
  DEPLOYED_RUST_LOG="$(deployed_setting RUST_LOG)"
  DEPLOYED_POOL_SIZE="${BENCH_DB_POOL_SIZE:-$(deployed_setting DB_POOL_SIZE)}"
  COMMAND_LINE="$({ env | grep '^BENCH_' || true; } | sort | tr '\n' ' ')scripts/bench.sh $*"
  ALL_CPUS="$(taskset -c -p $$ | awk -F': ' '{print $2}')"
  START_CPU="${ALL_CPUS%%[,-]*}"
}

bench_cleanup() {
  local status=$?
  stack_stop
  if [[ -n "$BASELINE_SRC" ]]; then
    git -C "$ROOT" worktree remove --force "$BASELINE_SRC" >/dev/null 2>&1 || true
  fi
  # Each round's figures, the wrk, pgbench and callgrind output stay; the database goes, and after a success so do
  # the services' logs (a line per request).
  if [[ -n "$WORK_DIR" && -d "$WORK_DIR" ]]; then
    rm -rf "$WORK_DIR/pgdata"
    if [[ "$status" == 0 ]]; then rm -f "$WORK_DIR"/{backend,search-backend}*.log "$WORK_DIR"/*-{backend,frontend}.log; fi
  fi
  if [[ "$status" != 0 ]]; then echo "bench: stopped after $(elapsed)" >&2; fi
}

# elapsed: the time since the script started, as "12 min 3 s".
elapsed() {
  local s=$(($(date +%s) - STARTED_AT))
  echo "$((s / 60)) min $((s % 60)) s"
}

# The current tree's binaries, and with BENCH_BASELINE the baseline's, built once per commit into CACHE_DIR.
bench_build_variants() {
  WORK_DIR="$(mktemp -d /tmp/taskmgr-bench.XXXXXX)"
  chmod 755 "$WORK_DIR" # the postgres user must reach its data directory inside
  echo "building the current tree's release binaries"
  cargo build --release --locked --manifest-path "$ROOT/Cargo.toml" -p backend-api -p frontend >/dev/null
  if [[ -n "${BENCH_BASELINE:-}" ]]; then
    build_baseline "$BENCH_BASELINE"
    VARIANTS+=(baseline)
  fi
  VARIANTS+=(current)
  VARIANT_BIN[current]="$(stack_target_dir)/release"
  VARIANT_REV[current]="$(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- crates Cargo.toml Cargo.lock || echo '+changes')"
}

# build_baseline REV: release binaries of REV, built in a temporary git worktree with a target dir kept in
# CACHE_DIR (its dependencies are reused by the next baseline), kept per commit in CACHE_DIR/bin/<sha>.
build_baseline() {
  local rev="$1" sha bin
  sha="$(git -C "$ROOT" rev-parse --verify --quiet "$rev^{commit}")" || die "BENCH_BASELINE=$rev is not a commit of this repository"
  bin="$CACHE_DIR/bin/$sha"
  VARIANT_BIN[baseline]="$bin"
  VARIANT_REV[baseline]="$(git -C "$ROOT" rev-parse --short "$sha")"
  if [[ -x "$bin/backend-api" && -x "$bin/frontend" ]]; then
    echo "baseline $rev: release binaries from $bin"
    return
  fi
  mkdir -p "$CACHE_DIR/bin"
  BASELINE_SRC="$CACHE_DIR/src-$sha"
  git -C "$ROOT" worktree remove --force "$BASELINE_SRC" >/dev/null 2>&1 || rm -rf "$BASELINE_SRC"
  git -C "$ROOT" worktree prune
  git -C "$ROOT" worktree add --detach --quiet "$BASELINE_SRC" "$sha"
  echo "baseline $rev: building its release binaries in $BASELINE_SRC (target dir $CACHE_DIR/target)"
  CARGO_TARGET_DIR="$CACHE_DIR/target" cargo build --release --locked --manifest-path "$BASELINE_SRC/Cargo.toml" \
    -p backend-api -p frontend >/dev/null || die "the baseline $rev does not build"
  mkdir -p "$bin.tmp"
  cp "$CACHE_DIR/target/release/backend-api" "$CACHE_DIR/target/release/frontend" "$bin.tmp/"
  mv "$bin.tmp" "$bin"
  git -C "$ROOT" worktree remove --force "$BASELINE_SRC"
  BASELINE_SRC=""
}

bench_start_postgres() {
  PG_PORT="$(free_ports 1)"
  echo "starting PostgreSQL ($STACK_PG_BIN) on 127.0.0.1:$PG_PORT"
  stack_password_file "$WORK_DIR/pg-password"
  stack_init_postgres "$WORK_DIR/pgdata" postgres "$WORK_DIR/pg-password" --locale=C.UTF-8
  # Default durability settings: the figures are for a normally configured server.
  stack_start_postgres "$WORK_DIR/pgdata" "$PG_PORT" "$WORK_DIR/postgres.log" max_connections=100 \
    shared_preload_libraries=pg_stat_statements
  psql_on postgres "CREATE EXTENSION pg_stat_statements SCHEMA public"
}

# psql as the superuser of the bench cluster (search_path pinned: tables as public.NAME).
bench_psql() {
  PGPASSWORD="$(cat "$WORK_DIR/pg-password")" PGOPTIONS="$SUPERUSER_PGOPTIONS" \
    "$STACK_PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@" </dev/null
}

# The backend, and pgbench on its SQL, connect as its own role, as on every deploy path.
BENCH_APP_ROLE=taskmgr_app

# as_app COMMAND...: COMMAND with the backend role's password in the environment (libpq reads PGPASSWORD).
as_app() {
  PGPASSWORD="$(cat "$WORK_DIR/app-password")" "$@"
}

# psql_on DB SQL...: run statements on a database of the bench cluster.
psql_on() {
  local db="$1" sql
  shift
  for sql in "$@"; do
    bench_psql -q -v ON_ERROR_STOP=1 -d "$db" -c "$sql" >/dev/null || die "psql on $db failed: $sql"
  done
}

# app_psql_on DB SQL...: run statements on a database of the bench cluster as the backend's role (its tables).
app_psql_on() {
  local db="$1" sql
  shift
  for sql in "$@"; do
    as_app "$STACK_PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U "$BENCH_APP_ROLE" -X -q -v ON_ERROR_STOP=1 -d "$db" \
      -c "$sql" </dev/null >/dev/null || die "psql on $db as $BENCH_APP_ROLE failed: $sql"
  done
}

# new_database NAME: an empty database and the backend's role in it (db/app-role.sql); the backend migrates it when
# it starts.
new_database() {
  psql_on postgres "CREATE DATABASE $1"
  stack_app_role "$PG_PORT" postgres "$WORK_DIR/pg-password" "$1" "$BENCH_APP_ROLE" "$WORK_DIR/app-password" >/dev/null
}

# The deployed settings: the pods run one actix worker (actix starts one per CPU, and the 500m CPU limit gives
# one) and the configmap's RUST_LOG and DB_POOL_SIZE. A service starts seeing one CPU, so that actix starts one
# worker; once it is ready it may run on all of them again, as a pod's threads may. The defaults keep every CPU
# and the default pool; the log level is the configmap's under both.

# backend_env DB PORT METRICS_PORT: the environment of a backend (for env(1)), into BENCH_ENV.
backend_env() {
  BENCH_ENV=("DATABASE_URL=postgres://$BENCH_APP_ROLE:$(cat "$WORK_DIR/app-password")@127.0.0.1:$PG_PORT/$1"
    HOST=127.0.0.1 "PORT=$2" "METRICS_PORT=$3"
    "RUST_LOG=$DEPLOYED_RUST_LOG")
  if [[ "$SETTINGS" == deployed ]]; then BENCH_ENV+=("DB_POOL_SIZE=$DEPLOYED_POOL_SIZE"); fi
}

# frontend_env BACKEND_URL PORT METRICS_PORT: the environment of a frontend, into BENCH_ENV.
frontend_env() {
  BENCH_ENV=("BACKEND_API_URL=$1" HOST=127.0.0.1 "PORT=$2" "METRICS_PORT=$3" "RUST_LOG=$DEPLOYED_RUST_LOG"
    "SECRET_KEY=bench-only-secret-key-not-for-use")
}

# start_service NAME READY_URL LOG COMMAND...: starts COMMAND (environment from BENCH_ENV) and waits until
# READY_URL answers. Under the deployed settings it starts with one CPU visible, then all its threads may use
# every CPU. Sets STACK_LAST_PID.
start_service() {
  local name="$1" url="$2" log="$3" pin=()
  shift 3
  if [[ "$SETTINGS" == deployed ]]; then pin=(taskset -c "$START_CPU"); fi
  stack_start_service "$name" "$url" "$log" env "${BENCH_ENV[@]}" "${pin[@]}" "$@"
  if [[ "$SETTINGS" == deployed ]]; then taskset -a -c -p "$ALL_CPUS" "$STACK_LAST_PID" >/dev/null; fi
}

# actix_workers LOG: the workers of the service's largest actix server, as actix logs them at start-up ("?" if the
# log level hides the line). The backend's metrics server has one of its own.
actix_workers() {
  grep -o 'starting [0-9]* workers' "$1" | awk '{print $2}' | sort -n | tail -n 1 | grep . || echo "?"
}

# stop_service PID: stop it (scripts/lib/stop-pids.sh) and forget it.
stop_service() {
  local pid="$1" kept=() p
  stop_pids "$pid"
  for p in "${STACK_PIDS[@]}"; do
    [[ "$p" == "$pid" ]] || kept+=("$p")
  done
  STACK_PIDS=("${kept[@]}")
}

peak_rss_mb() {
  awk '/^VmHWM:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status" 2>/dev/null || echo "?"
}

# start_seeded_backend DB LOG IDS_FILE: a new database DB, and the backend of VARIANT on it (which migrates it),
# seeded with $SEED_TASKS tasks whose ids go to IDS_FILE. Sets API and API_METRICS (its URLs) and BACKEND_PID.
start_seeded_backend() {
  local port metrics
  new_database "$1"
  { read -r port; read -r metrics; } < <(free_ports 2)
  API="http://127.0.0.1:$port"
  API_METRICS="http://127.0.0.1:$metrics/metrics"
  backend_env "$1" "$port" "$metrics"
  start_service backend-api "$API/ready" "$2" "${VARIANT_BIN[$VARIANT]}/backend-api"
  BACKEND_PID="$STACK_LAST_PID"
  seed_tasks "$API" "$3"
}

# seed_tasks BASE_URL IDS_FILE: the $SEED_TASKS tasks every row is measured with; their ids go to IDS_FILE.
seed_tasks() {
  local base="$1" ids="$2" i
  for i in $(seq 1 "$SEED_TASKS"); do
    curl -fsS --max-time 10 -o /dev/null -H 'Content-Type: application/json' \
      -d "{\"title\": \"Seeded task $i\", \"description\": \"A task with a short description, number $i.\", \"priority\": \"medium\"}" \
      "$base/api/tasks"
  done
  curl -fsS --max-time 10 "$base/api/tasks?limit=$SEED_TASKS" |
    python3 -c 'import json,sys;print(*(t["id"] for t in json.load(sys.stdin)), sep="\n")' >"$ids"
  [[ "$(wc -l <"$ids")" == "$SEED_TASKS" ]] || die "seeding: the backend lists $(wc -l <"$ids") tasks, not $SEED_TASKS"
}

# sequential_requests URL N FORMAT: N GET requests one after the other over one kept-alive connection (one curl),
# printing FORMAT (curl's --write-out) for each.
sequential_requests() {
  local url="$1" n="$2" i
  for ((i = 0; i < n; i++)); do
    printf 'url = "%s"\noutput = "/dev/null"\n' "$url"
  done | curl -sS --max-time 30 --config - -w "$3"  # --max-time: each request, even under callgrind
}
