#!/usr/bin/env bash
# Benchmarks taskmgr on this machine and prints a table (requests/s, p99 latency, peak RSS).
#
# It starts a throwaway PostgreSQL cluster on 127.0.0.1, builds and starts the release binaries, seeds
# 100 tasks, measures each endpoint with wrk (16 connections, 10 s each), then runs `pgbench -S` with
# 16 clients against the same server as the ceiling for a lookup by key. A search row runs on a database
# of 100,000 tasks (seeded with SQL), with the trigram indexes, and its mean latency is also taken without
# them. Everything it starts is stopped on exit, also on failure. Traffic goes to 127.0.0.1 only.
#
# Usage: scripts/bench.sh            (BENCH_DURATION=10s BENCH_CONNECTIONS=16 to change the load;
#                                     BENCH_DB_POOL_SIZE=4 to run the backend with another DB_POOL_SIZE)
#
# Adding a row (e.g. the frontend's `GET /`): write a `bench_<service>` function that starts the service
# in the background (register its pid in PIDS, and in RSS_PIDS to report its peak RSS), calls
# `measure "<row name>" <url> [wrk lua script]`, and add it to `main` after `bench_backend`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DURATION="${BENCH_DURATION:-10s}"
CONNECTIONS="${BENCH_CONNECTIONS:-16}"
THREADS=2
SEED_TASKS=100
SEARCH_TASKS=100000
# A word found in one task's description (md5 of 4321, as seeded by bench_search).
SEARCH_WORD="d93591bdf7"

WORK_DIR=""
PG_BIN=""
PG_PORT=""
PG_AS=()     # prefix to run PostgreSQL tools as the postgres user when we are root
PIDS=()      # background processes to stop on exit
declare -A RSS_PIDS=()   # service name → pid whose peak RSS is reported
ROWS=()      # "name|req/s|p99" lines for the table
PGBENCH_TPS=""
SEARCH_MEAN_MS=()   # "with|without index: mean ms" lines
FRONTEND_ROW="frontend GET / (100 tasks, page of 20)"
ORIGINAL_FRONTEND_RPS=96 # the original Flask frontend's GET / with 100 tasks on this machine
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"

die() {
  echo "bench: $*" >&2
  exit 1
}

require() {
  command -v "$1" >/dev/null 2>&1 || die "missing $1 ($2)"
}

check_tools() {
  require cargo "install Rust with rustup"
  require wrk "Debian: apt-get install wrk"
  require curl "Debian: apt-get install curl"
  require python3 "Debian: apt-get install python3"
  require pgbench "Debian: apt-get install postgresql (or postgresql-contrib)"
}

# The PostgreSQL server binaries: PATH, pg_config --bindir, or the newest /usr/lib/postgresql/*/bin.
find_pg_bin() {
  local dir
  if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    dir="$(dirname "$(readlink -f "$(command -v pg_ctl)")")"
  elif command -v pg_config >/dev/null 2>&1 && [[ -x "$(pg_config --bindir)/pg_ctl" ]]; then
    dir="$(pg_config --bindir)"
  else
    dir="$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)"
  fi
  [[ -n "$dir" && -x "$dir/pg_ctl" && -x "$dir/initdb" ]] ||
    die "PostgreSQL server binaries not found (Debian: apt-get install postgresql)"
  PG_BIN="$dir"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

target_dir() {
  if [[ -n "${CARGO_TARGET_DIR:-}" ]]; then
    echo "$CARGO_TARGET_DIR"
  else
    cargo metadata --format-version 1 --no-deps --manifest-path "$ROOT/Cargo.toml" |
      python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])'
  fi
}

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [[ -n "$WORK_DIR" && -d "$WORK_DIR" ]]; then
    if [[ -f "$WORK_DIR/pgdata/postmaster.pid" ]]; then
      "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$WORK_DIR/pgdata" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK_DIR"
  fi
}

start_postgres() {
  WORK_DIR="$(mktemp -d /tmp/taskmgr-bench.XXXXXX)"
  mkdir "$WORK_DIR/pgdata"
  if [[ "$(id -u)" == 0 ]]; then
    id -u postgres >/dev/null 2>&1 || die "running as root, PostgreSQL needs the postgres user"
    chmod 755 "$WORK_DIR"
    chown postgres: "$WORK_DIR/pgdata"
    PG_AS=(runuser -u postgres --)
  fi
  PG_PORT="$(free_port)"
  echo "starting PostgreSQL ($PG_BIN) on 127.0.0.1:$PG_PORT"
  (cd "$WORK_DIR" && "${PG_AS[@]}" "$PG_BIN/initdb" -D "$WORK_DIR/pgdata" -U postgres --auth=trust -E UTF8 \
    --locale=C.UTF-8 </dev/null >"$WORK_DIR/initdb.log" 2>&1) || die "initdb failed: $(tail -n 5 "$WORK_DIR/initdb.log")"
  # Default durability settings: the figures are for a normally configured server.
  (cd "$WORK_DIR" && "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$WORK_DIR/pgdata" -l "$WORK_DIR/pgdata/postgres.log" -w \
    -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$WORK_DIR/pgdata -c max_connections=100" \
    start </dev/null >/dev/null 2>&1) || die "PostgreSQL did not start: $(tail -n 5 "$WORK_DIR/pgdata/postgres.log")"
  "${PG_AS[@]}" "$PG_BIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -c "CREATE DATABASE taskmgr" \
    -c "CREATE DATABASE pgbench" </dev/null >/dev/null
}

build_release() {
  echo "building the release binaries"
  cargo build --release --locked --manifest-path "$ROOT/Cargo.toml" -p backend-api -p frontend >/dev/null
}

# wait_http URL: until it answers 200 (30 s at most).
wait_http() {
  local url="$1" i
  for i in $(seq 1 300); do
    if curl -fsS -o /dev/null "$url" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  die "$url did not answer"
}

# measure NAME URL [LUA_SCRIPT]: one wrk run, recorded as a row of the table.
measure() {
  local name="$1" url="$2" script="${3:-}" out rps p99
  local args=(-t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency)
  [[ -n "$script" ]] && args+=(-s "$script")
  echo "wrk: $name ($url)"
  out="$(wrk "${args[@]}" "$url")"
  echo "$out" >>"$WORK_DIR/wrk.log"
  rps="$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out")"
  p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
  if grep -q "Non-2xx or 3xx responses" <<<"$out"; then
    die "$name: some responses were errors: $(grep 'Non-2xx' <<<"$out")"
  fi
  ROWS+=("$name|$rps|$p99")
}

write_lua() {
  cat >"$WORK_DIR/post.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"title": "benchmark task", "description": "created by wrk", "priority": "high"}'
EOF
  cat >"$WORK_DIR/patch.lua" <<'EOF'
wrk.method = "PATCH"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"completed": true}'
EOF
}

# seed_tasks BASE_URL: the $SEED_TASKS tasks every list row is measured with.
seed_tasks() {
  local base="$1" i
  echo "seeding $SEED_TASKS tasks"
  for i in $(seq 1 "$SEED_TASKS"); do
    curl -fsS -o /dev/null -H 'Content-Type: application/json' \
      -d "{\"title\": \"Seeded task $i\", \"description\": \"A task with a short description, number $i.\", \"priority\": \"medium\"}" \
      "$base/api/tasks"
  done
}

bench_backend() {
  local port bin base id
  port="$(free_port)"
  bin="$(target_dir)/release/backend-api"
  base="http://127.0.0.1:$port"
  # RUST_LOG=info as in production: the access log (one line per request) is part of the cost.
  local pool_size="${BENCH_DB_POOL_SIZE:-}"
  if [[ -n "$pool_size" ]]; then
    echo "backend with DB_POOL_SIZE=$pool_size"
  fi
  env DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/taskmgr" HOST=127.0.0.1 PORT="$port" METRICS_PORT=0 RUST_LOG=info \
    ${pool_size:+"DB_POOL_SIZE=$pool_size"} "$bin" </dev/null >"$WORK_DIR/backend.log" 2>&1 &
  PIDS+=("$!")
  RSS_PIDS[backend-api]="$!"
  wait_http "$base/ready"

  seed_tasks "$base"
  id="$(curl -fsS "$base/api/tasks?limit=1" | python3 -c 'import json,sys;print(json.load(sys.stdin)[0]["id"])')"

  measure "backend GET /api/tasks/{id}" "$base/api/tasks/$id"
  measure "backend GET /api/tasks (100 tasks)" "$base/api/tasks"
  measure "backend PATCH /api/tasks/{id}" "$base/api/tasks/$id" "$WORK_DIR/patch.lua"
  measure "backend POST /api/tasks" "$base/api/tasks" "$WORK_DIR/post.lua"
}

# The frontend's page with $SEED_TASKS tasks, on a database and backend of its own (the backend rows'
# POSTs would otherwise grow the list it renders). A page costs two backend calls: the page of tasks
# (with X-Total-Count) and the count of completed ones.
bench_frontend() {
  local api_port ui_port bin api ui
  "${PG_AS[@]}" "$PG_BIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -c "CREATE DATABASE taskmgr_ui" </dev/null >/dev/null
  api_port="$(free_port)"
  ui_port="$(free_port)"
  bin="$(target_dir)/release"
  api="http://127.0.0.1:$api_port"
  ui="http://127.0.0.1:$ui_port"
  DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/taskmgr_ui" HOST=127.0.0.1 PORT="$api_port" METRICS_PORT=0 RUST_LOG=info \
    "$bin/backend-api" </dev/null >"$WORK_DIR/frontend-backend.log" 2>&1 &
  PIDS+=("$!")
  wait_http "$api/ready"
  seed_tasks "$api"
  BACKEND_API_URL="$api" HOST=127.0.0.1 PORT="$ui_port" METRICS_PORT=0 SECRET_KEY="bench-only-secret-key-not-for-use" RUST_LOG=info \
    "$bin/frontend" </dev/null >"$WORK_DIR/frontend.log" 2>&1 &
  PIDS+=("$!")
  RSS_PIDS[frontend]="$!"
  wait_http "$ui/ready"

  measure "$FRONTEND_ROW" "$ui/"
  # The original rendered all tasks on one page: the same work, for comparison.
  measure "frontend GET /?per_page=100 (100 rows)" "$ui/?per_page=100"
}

# mean_ms URL N: the mean time of N sequential requests, in milliseconds (each must answer 200).
mean_ms() {
  local url="$1" n="$2" i total=0 t
  for i in $(seq 1 "$n"); do
    t="$(curl -fsS -o /dev/null -w '%{time_total}' "$url")" || die "$url failed"
    total="$(python3 -c "print($total + $t)")"
  done
  python3 -c "print(f'{$total * 1000 / $n:.1f}')"
}

# psql_on DB SQL...: run statements on a database of the bench cluster.
psql_on() {
  local db="$1" sql
  shift
  for sql in "$@"; do
    "${PG_AS[@]}" "$PG_BIN/psql" -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$db" -c "$sql" \
      </dev/null >/dev/null || die "psql on $db failed: $sql"
  done
}

# A search for a word one task of $SEARCH_TASKS holds, on a database and backend of its own. The tasks are
# inserted with the trigram indexes dropped (building them afterwards is much faster than updating them
# row by row); the mean latency is taken without them, then with them, then wrk measures the indexed search.
bench_search() {
  local port bin base url migration drops creates
  # The index statements come from the migration itself, so the figure is for the indexes the backend has.
  migration="$(echo "$ROOT"/crates/backend-api/migrations/*_search_trigram_index)"
  mapfile -t drops < <(grep '^DROP INDEX' "$migration/down.sql")
  mapfile -t creates < <(grep '^CREATE INDEX' "$migration/up.sql")
  [[ ${#drops[@]} -gt 0 && ${#creates[@]} -gt 0 ]] || die "no trigram index statements in $migration"
  psql_on postgres "CREATE DATABASE taskmgr_search"
  port="$(free_port)"
  bin="$(target_dir)/release/backend-api"
  base="http://127.0.0.1:$port"
  DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/taskmgr_search" HOST=127.0.0.1 PORT="$port" METRICS_PORT=0 \
    RUST_LOG=warn "$bin" </dev/null >"$WORK_DIR/search-backend.log" 2>&1 &
  PIDS+=("$!")
  wait_http "$base/ready"
  echo "seeding $SEARCH_TASKS tasks with SQL"
  psql_on taskmgr_search "${drops[@]}" \
    "INSERT INTO tasks (id, title, description) SELECT gen_random_uuid(), 'Task ' || i, 'Notes on ' || md5(i::text)
       || ': call the supplier about the delayed order, then update the spreadsheet.'
       FROM generate_series(1, $SEARCH_TASKS) AS i" \
    "ANALYZE tasks"
  url="$base/api/tasks?q=$SEARCH_WORD"
  [[ "$(curl -fsS -D - -o /dev/null "$url" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-total-count" {print $2}')" == 1 ]] \
    || die "the search for $SEARCH_WORD does not find exactly one task"
  echo "search without the trigram indexes"
  SEARCH_MEAN_MS+=("without the trigram indexes|$(mean_ms "$url" 20)")
  psql_on taskmgr_search "${creates[@]}" "ANALYZE tasks"
  SEARCH_MEAN_MS+=("with the trigram indexes|$(mean_ms "$url" 20)")
  measure "backend GET /api/tasks?q= (100k tasks)" "$url"
}

bench_pgbench() {
  echo "pgbench -S: $CONNECTIONS clients, $DURATION"
  local seconds="${DURATION%s}" out
  pgbench -i -q -s 1 -h 127.0.0.1 -p "$PG_PORT" -U postgres pgbench >/dev/null 2>&1 || die "pgbench -i failed"
  out="$(pgbench -S -n -c "$CONNECTIONS" -j "$THREADS" -T "$seconds" -h 127.0.0.1 -p "$PG_PORT" -U postgres pgbench 2>&1)"
  echo "$out" >>"$WORK_DIR/pgbench.log"
  PGBENCH_TPS="$(awk '/^tps = / {printf "%.0f", $3}' <<<"$out")"
  [[ -n "$PGBENCH_TPS" ]] || die "could not read pgbench's TPS: $out"
}

peak_rss_mb() {
  awk '/^VmHWM:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status" 2>/dev/null || echo "?"
}

print_report() {
  local row name rps p99 service by_id_rps="" frontend_rps=""
  echo
  echo "machine: $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, $(uname -sr)"
  echo "load average before the run: $LOAD_BEFORE (other work on the machine skews the figures)"
  echo "backend DB_POOL_SIZE: ${BENCH_DB_POOL_SIZE:-default} ($(grep -o 'pool of [0-9]*' "$WORK_DIR/backend.log" 2>/dev/null | head -n 1))"
  echo "load: wrk -t$THREADS -c$CONNECTIONS -d$DURATION; pgbench -S -c$CONNECTIONS -j$THREADS -T${DURATION%s} (scale 1)"
  echo
  printf '| %-38s | %10s | %9s |\n' "what" "req/s" "p99"
  printf '|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..40})" "$(printf -- '-%.0s' {1..12})" "$(printf -- '-%.0s' {1..11})"
  for row in "${ROWS[@]}"; do
    IFS='|' read -r name rps p99 <<<"$row"
    printf '| %-38s | %10s | %9s |\n' "$name" "$rps" "$p99"
    [[ "$name" == "backend GET /api/tasks/{id}" ]] && by_id_rps="$rps"
    [[ "$name" == "$FRONTEND_ROW" ]] && frontend_rps="$rps"
  done
  printf '| %-38s | %10s | %9s |\n' "pgbench -S (TPS)" "$PGBENCH_TPS" "-"
  echo
  if [[ -n "$frontend_rps" ]]; then
    python3 -c "print(f'frontend GET / vs the original ($ORIGINAL_FRONTEND_RPS req/s): {$frontend_rps / $ORIGINAL_FRONTEND_RPS:.1f}x (target 20x)')"
  fi
  if [[ -n "$by_id_rps" && -n "$PGBENCH_TPS" ]]; then
    python3 -c "print(f'ratio GET /api/tasks/{{id}} / pgbench -S TPS: {$by_id_rps / $PGBENCH_TPS:.2f}')"
  fi
  for row in "${SEARCH_MEAN_MS[@]}"; do
    IFS='|' read -r name rps <<<"$row"
    echo "search for one task in $SEARCH_TASKS, mean of 20 sequential requests, $name: $rps ms"
  done
  for service in "${!RSS_PIDS[@]}"; do
    echo "peak RSS of $service: $(peak_rss_mb "${RSS_PIDS[$service]}") MB"
  done
}

main() {
  check_tools
  find_pg_bin
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  build_release
  start_postgres
  write_lua
  bench_backend
  bench_frontend
  bench_search
  bench_pgbench
  print_report
}

main "$@"
