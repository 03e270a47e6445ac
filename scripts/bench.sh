#!/usr/bin/env bash
# Benchmarks taskmgr on this machine and prints a table (requests/s, p99 latency, peak RSS).
#
# It starts a throwaway PostgreSQL cluster on 127.0.0.1, builds and starts the release binaries, seeds
# 100 tasks and measures each endpoint with wrk (16 connections, 10 s each). The ceiling of each backend row
# is PostgreSQL itself: pg_stat_statements names the statement the backend ran most during that wrk run, and
# pgbench runs that very SQL (-M prepared, same clients, same duration, same server) with the same values.
# The UI's pages are compared with the backend request that lists the same tasks. A search row runs on a
# database of 100,000 tasks (seeded with SQL), with the trigram indexes, and its mean latency is also taken
# without them. The report ends with the issue 12 targets: each ratio or p99, the target, and a verdict.
# Everything it starts is stopped on exit, also on failure. Traffic goes to 127.0.0.1 only.
#
# Usage: scripts/bench.sh            (BENCH_DURATION=10s BENCH_CONNECTIONS=16 to change the load;
#                                     BENCH_DB_POOL_SIZE=4 to run the backend with another DB_POOL_SIZE)
#
# Adding a row (e.g. the frontend's `GET /`): write a `bench_<service>` function that starts the service
# with stack_start_service (and registers STACK_LAST_PID in RSS_PIDS to report its peak RSS), calls
# `measure "<row name>" <url> [wrk lua script]`, and add it to `main` after `bench_backend`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib/ports.sh
source "$ROOT/scripts/lib/ports.sh"
# shellcheck source=scripts/lib/stack.sh
source "$ROOT/scripts/lib/stack.sh"
DURATION="${BENCH_DURATION:-10s}"
CONNECTIONS="${BENCH_CONNECTIONS:-16}"
THREADS=2
SEED_TASKS=100
SEARCH_TASKS=100000
# A word found in one task's description (md5 of 4321, as seeded by bench_search).
SEARCH_WORD="d93591bdf7"

WORK_DIR=""
PG_PORT=""
declare -A RSS_PIDS=()   # service name → pid whose peak RSS is reported
ROWS=()      # the rows measured, in order
declare -A RPS=() P99=()   # row name → req/s, p99 as wrk printed it
declare -A CEILING=()      # row name → TPS of pgbench running that row's SQL
LAST_REQUESTS=0            # requests completed by the last wrk run
PGBENCH_TPS=""
SEARCH_MEAN_MS=()   # "with|without index: mean ms" lines
BY_ID_ROW="backend GET /api/tasks/{id}"
LIST_ROW="backend GET /api/tasks (100 tasks)"
PATCH_ROW="backend PATCH /api/tasks/{id} (100 ids)"
POST_ROW="backend POST /api/tasks"
LIST_20_ROW="UI's backend GET /api/tasks?limit=20"
LIST_100_UI_ROW="UI's backend GET /api/tasks?limit=100"
FRONTEND_ROW="frontend GET / (100 tasks, page of 20)"
FRONTEND_100_ROW="frontend GET /?per_page=100 (100 rows)"
# The targets of issue 12, checked at the end: "label|row|ceiling|minimum ratio|maximum p99 in ms". The
# ceiling is "pgbench" (the row's own SQL under pgbench) or another row; an empty field is no target.
TARGETS=(
  "by id|$BY_ID_ROW|pgbench|0.45|10"
  "list of 100|$LIST_ROW|pgbench|0.65|10"
  "POST|$POST_ROW|pgbench|0.5|"
  "PATCH, 100 ids|$PATCH_ROW|pgbench|0.5|"
  "UI GET / (page of 20)|$FRONTEND_ROW|$LIST_20_ROW|0.4|25"
  "UI GET /?per_page=100|$FRONTEND_100_ROW|$LIST_100_UI_ROW|0.3|25"
)
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

cleanup() {
  stack_stop
  if [[ -n "$WORK_DIR" && -d "$WORK_DIR" ]]; then
    rm -rf "$WORK_DIR"
  fi
}

start_postgres() {
  WORK_DIR="$(mktemp -d /tmp/taskmgr-bench.XXXXXX)"
  chmod 755 "$WORK_DIR" # the postgres user must reach its data directory inside
  PG_PORT="$(free_ports 1)"
  echo "starting PostgreSQL ($STACK_PG_BIN) on 127.0.0.1:$PG_PORT"
  stack_init_postgres "$WORK_DIR/pgdata" postgres "" --locale=C.UTF-8
  # Default durability settings: the figures are for a normally configured server.
  stack_start_postgres "$WORK_DIR/pgdata" "$PG_PORT" "$WORK_DIR/postgres.log" max_connections=100 \
    shared_preload_libraries=pg_stat_statements
  bench_psql -q -d postgres -c "CREATE DATABASE taskmgr" -c "CREATE DATABASE pgbench" \
    -c "CREATE EXTENSION pg_stat_statements" >/dev/null
}

# psql as the superuser of the bench cluster.
bench_psql() {
  stack_as_pg_owner "$STACK_PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@" </dev/null
}

build_release() {
  echo "building the release binaries"
  cargo build --release --locked --manifest-path "$ROOT/Cargo.toml" -p backend-api -p frontend >/dev/null
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
  LAST_REQUESTS="$(awk '/ requests in / {print $1}' <<<"$out")"
  if grep -q "Non-2xx or 3xx responses" <<<"$out"; then
    die "$name: some responses were errors: $(grep 'Non-2xx' <<<"$out")"
  fi
  ROWS+=("$name")
  RPS[$name]="$rps"
  P99[$name]="$p99"
}

# reset_statements: pg_stat_statements forgets, so that the next wrk run's statements are all it holds.
reset_statements() {
  psql_on postgres "SELECT pg_stat_statements_reset()"
}

# ceiling ROW DB BINDING... [-- PGBENCH_ARG...]: pgbench runs the statement the backend ran most on DB since
# reset_statements (it must have run once per request of ROW's wrk run), with each $N bound as BINDING
# "N=VALUE" gives (a pgbench :variable, or SQL), under the row's load; its TPS is ROW's ceiling.
# "N=@ids" runs one script per seeded task id, chosen at random for each transaction (a PATCH spread over
# many rows, as the wrk script spreads it).
ceiling() {
  local row="$1" db="$2" bindings=() extra=() line calls query scripts out tps
  shift 2
  while [[ $# -gt 0 && "$1" != "--" ]]; do bindings+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift && extra=("$@")
  line="$(bench_psql -At -F $'\t' -d postgres -c \
    "SELECT s.calls, s.query FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
      WHERE d.datname = '$db' ORDER BY s.calls DESC LIMIT 1" </dev/null)"
  IFS=$'\t' read -r calls query <<<"$line"
  [[ -n "$query" && "$calls" -ge "$LAST_REQUESTS" ]] ||
    die "$row: no statement ran once per request ($LAST_REQUESTS requests; top statement: ${calls:-none} calls)"
  mapfile -t scripts < <(python3 "$ROOT/scripts/bench/pgbench_script.py" "$(mktemp -d "$WORK_DIR/ceiling.XXXXXX")" "$query" \
    "$WORK_DIR/ids" "${bindings[@]}") || die "$row: cannot bind the statement: $query"
  echo "pgbench: the SQL of $row ($calls calls): $query"
  out="$(pgbench -n -M prepared -c "$CONNECTIONS" -j "$THREADS" -T "${DURATION%s}" -h 127.0.0.1 -p "$PG_PORT" \
    -U postgres "${scripts[@]/#/-f}" "${extra[@]}" "$db" 2>&1)" || die "$row: pgbench failed: $out"
  echo "$out" >>"$WORK_DIR/pgbench.log"
  tps="$(awk '/^tps = / {printf "%.0f", $3}' <<<"$out")"
  [[ -n "$tps" ]] || die "$row: could not read pgbench's TPS: $out"
  CEILING[$row]="$tps"
}

write_lua() {
  cat >"$WORK_DIR/post.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"title": "benchmark task", "description": "created by wrk", "priority": "high"}'
EOF
}

# write_patch_lua: a PATCH to a random one of the seeded tasks per request ($WORK_DIR/ids): one hot row
# would only measure waits for its row lock.
write_patch_lua() {
  {
    echo "local ids = {"
    sed 's/.*/  "&",/' "$WORK_DIR/ids"
    echo "}"
    cat <<'EOF'
wrk.method = "PATCH"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"completed": true}'
request = function()
  return wrk.format(nil, "/api/tasks/" .. ids[math.random(#ids)])
end
EOF
  } >"$WORK_DIR/patch.lua"
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
  port="$(free_ports 1)"
  bin="$(stack_target_dir)/release/backend-api"
  base="http://127.0.0.1:$port"
  # RUST_LOG=info as in production: the access log (one line per request) is part of the cost.
  local pool_size="${BENCH_DB_POOL_SIZE:-}"
  if [[ -n "$pool_size" ]]; then
    echo "backend with DB_POOL_SIZE=$pool_size"
  fi
  DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/taskmgr" HOST=127.0.0.1 PORT="$port" METRICS_PORT=0 RUST_LOG=info \
    stack_start_service backend-api "$base/ready" "$WORK_DIR/backend.log" env ${pool_size:+"DB_POOL_SIZE=$pool_size"} "$bin"
  RSS_PIDS[backend-api]="$STACK_LAST_PID"

  seed_tasks "$base"
  curl -fsS "$base/api/tasks?limit=$SEED_TASKS" | python3 -c 'import json,sys;print(*(t["id"] for t in json.load(sys.stdin)), sep="\n")' \
    >"$WORK_DIR/ids"
  id="$(head -n 1 "$WORK_DIR/ids")"
  write_patch_lua

  # Each row, then PostgreSQL running the row's SQL. The list's ceiling runs before any POST grows the table.
  reset_statements
  measure "$BY_ID_ROW" "$base/api/tasks/$id"
  ceiling "$BY_ID_ROW" taskmgr "1=:id" "2=1" -- -D "id=$id"
  reset_statements
  measure "$LIST_ROW" "$base/api/tasks"
  ceiling "$LIST_ROW" taskmgr "1=:lim" "2=:off" -- -D lim=100 -D off=0
  reset_statements
  measure "$PATCH_ROW" "$base/api/tasks/$id" "$WORK_DIR/patch.lua"
  ceiling "$PATCH_ROW" taskmgr "1=:completed" "2=@ids" -- -D completed=true
  reset_statements
  measure "$POST_ROW" "$base/api/tasks" "$WORK_DIR/post.lua"
  # The id is the one value made per request: the backend makes a UUID, here PostgreSQL does.
  ceiling "$POST_ROW" taskmgr "1=gen_random_uuid()" "2=:title" "3=:description" "4=:priority" "5=:completed" -- \
    -D "title=benchmark task" -D "description=created by wrk" -D priority=high -D completed=false
}

# The frontend's page with $SEED_TASKS tasks, on a database and backend of its own (the backend rows'
# POSTs would otherwise grow the list it renders). A page costs two backend calls: the page of tasks
# (with X-Total-Count) and the count of completed ones.
bench_frontend() {
  local api_port ui_port bin api ui
  psql_on postgres "CREATE DATABASE taskmgr_ui"
  { read -r api_port; read -r ui_port; } < <(free_ports 2)
  bin="$(stack_target_dir)/release"
  api="http://127.0.0.1:$api_port"
  ui="http://127.0.0.1:$ui_port"
  DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/taskmgr_ui" HOST=127.0.0.1 PORT="$api_port" METRICS_PORT=0 RUST_LOG=info \
    stack_start_service backend-api "$api/ready" "$WORK_DIR/frontend-backend.log" "$bin/backend-api"
  seed_tasks "$api"
  BACKEND_API_URL="$api" HOST=127.0.0.1 PORT="$ui_port" METRICS_PORT=0 SECRET_KEY="bench-only-secret-key-not-for-use" RUST_LOG=info \
    stack_start_service frontend "$ui/ready" "$WORK_DIR/frontend.log" "$bin/frontend"
  RSS_PIDS[frontend]="$STACK_LAST_PID"

  # Each page, and the backend request that lists the same tasks (the page's ceiling: rendering is extra work).
  measure "$LIST_20_ROW" "$api/api/tasks?limit=20"
  measure "$FRONTEND_ROW" "$ui/"
  measure "$LIST_100_UI_ROW" "$api/api/tasks?limit=100"
  # All 100 tasks on one page, as the original rendered them.
  measure "$FRONTEND_100_ROW" "$ui/?per_page=100"
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
    bench_psql -q -v ON_ERROR_STOP=1 -d "$db" -c "$sql" >/dev/null || die "psql on $db failed: $sql"
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
  port="$(free_ports 1)"
  bin="$(stack_target_dir)/release/backend-api"
  base="http://127.0.0.1:$port"
  DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/taskmgr_search" HOST=127.0.0.1 PORT="$port" METRICS_PORT=0 \
    RUST_LOG=warn stack_start_service backend-api "$base/ready" "$WORK_DIR/search-backend.log" "$bin"
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

# ms WRK_LATENCY: wrk's "950.00us", "2.15ms" or "1.02s" in milliseconds.
ms() {
  python3 -c 'import re,sys; v,u=re.fullmatch(r"([\d.]+)(us|ms|s|m)",sys.argv[1]).groups(); print(float(v)*{"us":0.001,"ms":1,"s":1000,"m":60000}[u])' "$1"
}

print_report() {
  local row name rps service label target ceiling_of min_ratio max_p99 ceiling ratio verdict p99_ms
  echo
  echo "machine: $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, $(uname -sr)"
  echo "load average before the run: $LOAD_BEFORE (other work on the machine skews the figures)"
  echo "backend DB_POOL_SIZE: ${BENCH_DB_POOL_SIZE:-default} ($(grep -o 'pool of [0-9]*' "$WORK_DIR/backend.log" 2>/dev/null | head -n 1))"
  echo "load: wrk -t$THREADS -c$CONNECTIONS -d$DURATION; pgbench -M prepared -c$CONNECTIONS -j$THREADS -T${DURATION%s} on each row's SQL"
  echo
  printf '| %-40s | %10s | %9s | %22s |\n' "what" "req/s" "p99" "pgbench, same SQL (TPS)"
  printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..42})" "$(printf -- '-%.0s' {1..12})" "$(printf -- '-%.0s' {1..11})" "$(printf -- '-%.0s' {1..24})"
  for name in "${ROWS[@]}"; do
    printf '| %-40s | %10s | %9s | %22s |\n' "$name" "${RPS[$name]}" "${P99[$name]}" "${CEILING[$name]:--}"
  done
  printf '| %-40s | %10s | %9s | %22s |\n' "pgbench -S (TPS, scale 1)" "$PGBENCH_TPS" "-" "-"
  echo
  echo "targets (issue 12):"
  printf '| %-24s | %-44s | %6s | %8s | %8s | %-8s |\n' "what" "ceiling" "ratio" "p99 ms" "target" "verdict"
  for target in "${TARGETS[@]}"; do
    IFS='|' read -r label name ceiling_of min_ratio max_p99 <<<"$target"
    if [[ "$ceiling_of" == pgbench ]]; then
      ceiling="${CEILING[$name]}"
      ceiling_of="pgbench on its SQL ($ceiling TPS)"
    else
      ceiling="${RPS[$ceiling_of]}"
      ceiling_of="$ceiling_of ($ceiling)"
    fi
    ratio="$(python3 -c "print(f'{${RPS[$name]} / $ceiling:.2f}')")"
    p99_ms="$(ms "${P99[$name]}")"
    verdict="$(python3 -c "
ok = $ratio >= $min_ratio and ('$max_p99' == '' or $p99_ms <= float('${max_p99:-0}'))
print('met' if ok else 'NOT met')")"
    printf '| %-24s | %-44s | %6s | %8.1f | %8s | %-8s |\n' "$label" "$ceiling_of" "$ratio" "$p99_ms" \
      "≥ $min_ratio${max_p99:+, ≤ $max_p99 ms}" "$verdict"
  done
  echo
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
  stack_require_postgres
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
