# shellcheck shell=bash
# shellcheck disable=SC2034,SC2153 # globals shared with the other bench libraries (see setup.sh)
# scripts/bench.sh's throughput rows: wrk on each row, pgbench on each backend row's own SQL, the backend calls
# per UI page, and the rounds that alternate the binaries. Every figure goes to $WORK_DIR/results.tsv as
# "variant@settings  round  row  field  value" (fields: rps, p99 in ms, ceiling in TPS, calls per UI request, rss
# in MB, workers), which report.sh reads. Sourced after setup.sh.

SEARCH_TASKS=100000
# A word found in one task's description (md5 of 4321, as seeded by bench_search).
SEARCH_WORD="d93591bdf7"
LAST_REQUESTS=0 # requests completed by the last wrk run
VARIANT=""      # what the rows being measured belong to
ROUND=0

results() {
  echo "$WORK_DIR/results.tsv"
}

# record ROW FIELD VALUE: one figure of the current variant, settings and round.
record() {
  printf '%s@%s\t%s\t%s\t%s\t%s\n' "$VARIANT" "$SETTINGS" "$ROUND" "$1" "$2" "$3" >>"$(results)"
}

# measure ROW URL [LUA_SCRIPT]: one wrk run; records the row's req/s and p99 (ms).
measure() {
  local row="$1" url="$2" script="${3:-}" out
  local args=(-t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency)
  [[ -n "$script" ]] && args+=(-s "$script")
  out="$(wrk "${args[@]}" "$url")"
  echo "$out" >>"$WORK_DIR/wrk.log"
  if grep -q "Non-2xx or 3xx responses" <<<"$out"; then
    die "$row ($VARIANT): some responses were errors: $(grep 'Non-2xx' <<<"$out")"
  fi
  LAST_REQUESTS="$(awk '/ requests in / {print $1}' <<<"$out")"
  record "$row" rps "$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out")"
  # wrk prints "950.00us", "2.15ms" or "1.02s".
  record "$row" p99 "$(awk '$1 == "99%" {v = $2 + 0; u = $2; sub(/^[0-9.]+/, "", u);
    printf "%.2f", v * (u == "us" ? 0.001 : u == "s" ? 1000 : u == "m" ? 60000 : 1)}' <<<"$out")"
}

# requests_served METRICS_URL [ENDPOINT]: the requests a service has answered (to ENDPOINT only, if given), from
# its Prometheus *http_requests_total counter (which must exist: its start-up probes are counted).
requests_served() {
  curl -fsS --max-time 10 "$1" | awk -v e="${2:-}" '/^[a-z_]*http_requests_total\{/ {
      found = 1
      if (e == "" || index($0, "endpoint=\"" e "\"")) n += $NF
    }
    END {if (!found) exit 1; printf "%d\n", n}' ||
    die "no *http_requests_total counter at $1: the backend calls per UI page cannot be checked"
}

# measure_ui ROW URL FRONTEND_METRICS_URL BACKEND_METRICS_URL: a UI row, and the pages served and backend requests
# made meanwhile, from both services' counters (nothing else calls that backend). A page whose client hung up
# when wrk stopped may have made its backend call without being counted: at most one per connection.
measure_ui() {
  local row="$1" url="$2" ui_metrics="$3" api_metrics="$4" pages calls
  pages="$(requests_served "$ui_metrics" /)"
  calls="$(requests_served "$api_metrics")"
  measure "$row" "$url"
  sleep 0.5 # until the requests still in flight when wrk stopped are answered
  pages="$(($(requests_served "$ui_metrics" /) - pages))"
  calls="$(($(requests_served "$api_metrics") - calls))"
  ((pages > 0)) || die "$row ($VARIANT): the frontend's counter for / did not move during the run"
  record "$row" pages "$pages"
  record "$row" calls "$calls"
}

reset_statements() {
  psql_on postgres "SELECT public.pg_stat_statements_reset()"
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
    "SELECT s.calls, s.query FROM public.pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
      WHERE d.datname = '$db' ORDER BY s.calls DESC LIMIT 1")"
  IFS=$'\t' read -r calls query <<<"$line"
  [[ -n "$query" && "$calls" -ge "$LAST_REQUESTS" ]] ||
    die "$row ($VARIANT): no statement ran once per request ($LAST_REQUESTS requests; top statement: ${calls:-none} calls)"
  mapfile -t scripts < <(python3 "$ROOT/scripts/bench/pgbench_script.py" "$(mktemp -d "$WORK_DIR/ceiling.XXXXXX")" \
    "$query" "$WORK_DIR/ids" "${bindings[@]}") || die "$row ($VARIANT): cannot bind the statement: $query"
  out="$(as_app pgbench -n -M prepared -c "$CONNECTIONS" -j "$THREADS" -T "${DURATION%s}" -h 127.0.0.1 -p "$PG_PORT" \
    -U "$BENCH_APP_ROLE" "${scripts[@]/#/-f}" "${extra[@]}" "$db" 2>&1)" || die "$row ($VARIANT): pgbench failed: $out"
  printf '%s\n%s\n' "$row ($VARIANT, round $ROUND): $query" "$out" >>"$WORK_DIR/pgbench.log"
  tps="$(awk '/^tps = / {printf "%.0f", $3}' <<<"$out")"
  [[ -n "$tps" ]] || die "$row ($VARIANT): could not read pgbench's TPS: $out"
  record "$row" ceiling "$tps"
}

write_lua() {
  cat >"$WORK_DIR/post.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"title": "benchmark task", "description": "created by wrk", "priority": "high"}'
EOF
  # A PATCH to a random one of the seeded tasks per request: one hot row would only measure waits for its lock.
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

# bench_pass VARIANT ROUND: every row of one binary pair under $SETTINGS, on a fresh database of $SEED_TASKS
# tasks: the UI rows first, then the backend's reads, PATCH, and POST last (it grows the table).
bench_pass() {
  VARIANT="$1"
  ROUND="$2"
  local db="bench_${VARIANT}_${SETTINGS}_$ROUND" ui_port ui_metrics ui api backend_pid frontend_pid id
  local logs="$WORK_DIR/$VARIANT-$SETTINGS-$ROUND"
  echo "round $ROUND/$ROUNDS: $VARIANT (${VARIANT_REV[$VARIANT]}), $SETTINGS settings"
  start_seeded_backend "$db" "$logs-backend.log" "$WORK_DIR/ids"
  api="$API"
  backend_pid="$BACKEND_PID"
  write_lua
  { read -r ui_port; read -r ui_metrics; } < <(free_ports 2)
  ui="http://127.0.0.1:$ui_port"
  frontend_env "$api" "$ui_port" "$ui_metrics"
  start_service frontend "$ui/ready" "$logs-frontend.log" "${VARIANT_BIN[$VARIANT]}/frontend"
  frontend_pid="$STACK_LAST_PID"
  record backend-api workers "$(actix_workers "$logs-backend.log")"
  record frontend workers "$(actix_workers "$logs-frontend.log")"

  measure list20 "$api/api/tasks?limit=20"
  measure_ui ui20 "$ui/" "http://127.0.0.1:$ui_metrics/metrics" "$API_METRICS"
  measure list100 "$api/api/tasks?limit=100"
  measure_ui ui100 "$ui/?per_page=100" "http://127.0.0.1:$ui_metrics/metrics" "$API_METRICS"

  id="$(head -n 1 "$WORK_DIR/ids")"
  reset_statements
  measure by_id "$api/api/tasks/$id"
  ceiling by_id "$db" "1=:id" "2?=1" -- -D "id=$id"
  reset_statements
  measure list "$api/api/tasks"
  ceiling list "$db" "1=:lim" "2=:off" -- -D lim=100 -D off=0
  reset_statements
  measure patch "$api/api/tasks/$id" "$WORK_DIR/patch.lua"
  ceiling patch "$db" "1=:completed" "2=@ids" -- -D completed=true
  reset_statements
  measure post "$api/api/tasks" "$WORK_DIR/post.lua"
  # The id is the one value made per request: the backend makes a UUID, here PostgreSQL does.
  ceiling post "$db" "1=gen_random_uuid()" "2=:title" "3=:description" "4=:priority" "5=:completed" -- \
    -D "title=benchmark task" -D "description=created by wrk" -D priority=high -D completed=false

  record backend-api rss "$(peak_rss_mb "$backend_pid")"
  record frontend rss "$(peak_rss_mb "$frontend_pid")"
  stop_service "$frontend_pid"
  stop_service "$backend_pid"
  psql_on postgres "DROP DATABASE $db"
}

# The rounds: each runs every variant once under each settings, the variants in alternating order (baseline
# first, then current first, ...), so that a drift in the machine's load weighs on both alike.
bench_all_rounds() {
  local round i order settings
  LOAD_BEFORE_MEASURING="$(cut -d' ' -f1-3 /proc/loadavg)"
  for ((round = 1; round <= ROUNDS; round++)); do
    order=("${VARIANTS[@]}")
    if ((round % 2 == 0)); then
      order=()
      for ((i = ${#VARIANTS[@]} - 1; i >= 0; i--)); do order+=("${VARIANTS[$i]}"); done
    fi
    for i in "${order[@]}"; do
      for settings in "${ALL_SETTINGS[@]}"; do
        SETTINGS="$settings"
        bench_pass "$i" "$round"
      done
    done
  done
}

# mean_ms URL N: the mean time of N sequential requests, in milliseconds (each must answer 200).
mean_ms() {
  sequential_requests "$1" "$2" '%{http_code} %{time_total}\n' |
    awk -v n="$2" '$1 == 200 {t += $2; c++} END {if (c != n) exit 1; printf "%.1f", t * 1000 / n}' ||
    die "$1: not every request answered 200"
}

# A search for a word one task of $SEARCH_TASKS holds, with the current binary under the deployed settings, once
# (it is not a target).
# The tasks are inserted with the trigram indexes dropped (building them afterwards is much faster); the mean
# latency is taken without them, then with them, then wrk measures the indexed search.
bench_search() {
  local port metrics base url migration drops creates mean
  VARIANT=current
  SETTINGS=deployed
  ROUND=0
  migration="$(echo "$ROOT"/crates/backend-api/migrations/*_search_trigram_index)"
  mapfile -t drops < <(grep '^DROP INDEX' "$migration/down.sql")
  mapfile -t creates < <(grep '^CREATE INDEX' "$migration/up.sql")
  [[ ${#drops[@]} -gt 0 && ${#creates[@]} -gt 0 ]] || die "no trigram index statements in $migration"
  new_database bench_search
  { read -r port; read -r metrics; } < <(free_ports 2)
  base="http://127.0.0.1:$port"
  backend_env bench_search "$port" "$metrics"
  start_service backend-api "$base/ready" "$WORK_DIR/search-backend.log" "${VARIANT_BIN[current]}/backend-api"
  echo "search: seeding $SEARCH_TASKS tasks with SQL"
  app_psql_on bench_search "${drops[@]}" \
    "INSERT INTO tasks (id, title, description) SELECT gen_random_uuid(), 'Task ' || i, 'Notes on ' || md5(i::text)
       || ': call the supplier about the delayed order, then update the spreadsheet.'
       FROM generate_series(1, $SEARCH_TASKS) AS i" \
    "ANALYZE tasks"
  url="$base/api/tasks?q=$SEARCH_WORD"
  [[ "$(curl -fsS --max-time 30 -D - -o /dev/null "$url" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-total-count" {print $2}')" == 1 ]] ||
    die "the search for $SEARCH_WORD does not find exactly one task"
  mean="$(mean_ms "$url" 10)"
  record search mean_without_index "$mean"
  app_psql_on bench_search "${creates[@]}" "ANALYZE tasks"
  mean="$(mean_ms "$url" 20)"
  record search mean_with_index "$mean"
  measure search "$url"
  stop_service "$STACK_LAST_PID"
}
