# shellcheck shell=bash
# shellcheck disable=SC2034,SC2153 # globals shared with the other bench libraries (see setup.sh)
# scripts/bench.sh's instructions per request: callgrind counts every instruction of the whole service process
# (all threads, start-up to exit) over $CALLGRIND_REQUESTS sequential requests, minus a run with none; the
# difference divided by the requests is the row's figure. It does not depend on the machine's load. The service
# runs the release build with the deployed settings of the throughput rows; the client (curl, one kept-alive
# connection) is not under valgrind. For the UI row the frontend is under valgrind and its backend runs normally.
# Records "ir" per row in results.tsv (round 0). Sourced after setup.sh and throughput.sh.

CALLGRIND_REQUESTS="${BENCH_CALLGRIND_REQUESTS:-300}"
LAST_IR=""

# callgrind_instructions NAME ROW READY_URL URL COUNT BINARY: starts BINARY (environment from BENCH_ENV) under
# callgrind, sends COUNT sequential GETs to URL once it is ready, stops it, and sets LAST_IR to the instructions
# it ran (not printed: in a $(...) subshell, a failure would leave the process running). The profile is kept as
# callgrind.VARIANT.NAME.ROW.
callgrind_instructions() {
  local name="$1" ready="$3" url="$4" count="$5" binary="$6" codes
  local out="$WORK_DIR/callgrind.$VARIANT.$name.$2"
  start_service "$name under callgrind" "$ready" "$out.log" \
    valgrind --tool=callgrind --callgrind-out-file="$out" "$binary"
  record "$name" workers "$(actix_workers "$out.log")"
  if ((count > 0)); then
    codes="$(sequential_requests "$url" "$count" '%{http_code}\n' | grep -c '^200$' || true)"
    [[ "$codes" == "$count" ]] || die "$name under callgrind: $codes of $count requests to $url answered 200"
  fi
  stop_service "$STACK_LAST_PID"
  LAST_IR="$(awk '/^(summary|totals):/ {print $2; exit}' "$out")"
  [[ -n "$LAST_IR" ]] || die "no instruction count in $out (see $out.log)"
}

# per_request ROW WITH WITHOUT: records ROW's instructions per request.
per_request() {
  record "$1" ir "$(awk -v a="$2" -v b="$3" -v n="$CALLGRIND_REQUESTS" 'BEGIN {printf "%.0f", (a - b) / n}')"
}

# bench_instructions VARIANT: by id, the list of 100 and the UI page of 20, with VARIANT's binaries.
bench_instructions() {
  VARIANT="$1"
  SETTINGS=deployed
  ROUND=0
  local db="bench_${VARIANT}_ir" bin="${VARIANT_BIN[$1]}" port metrics api base none id backend_pid
  echo "instructions per request: $VARIANT (${VARIANT_REV[$VARIANT]}), $CALLGRIND_REQUESTS requests per row"
  # A backend that runs normally: it migrates and seeds the database, and answers the frontend under valgrind.
  start_seeded_backend "$db" "$WORK_DIR/backend-$VARIANT-ir.log" "$WORK_DIR/ir-ids"
  api="$API"
  backend_pid="$BACKEND_PID"
  id="$(head -n 1 "$WORK_DIR/ir-ids")"
  { read -r port; read -r metrics; } < <(free_ports 2)
  base="http://127.0.0.1:$port"

  backend_env "$db" "$port" "$metrics"
  callgrind_instructions backend-api none "$base/ready" "" 0 "$bin/backend-api"
  none="$LAST_IR"
  callgrind_instructions backend-api by_id "$base/ready" "$base/api/tasks/$id" "$CALLGRIND_REQUESTS" "$bin/backend-api"
  per_request by_id "$LAST_IR" "$none"
  callgrind_instructions backend-api list "$base/ready" "$base/api/tasks" "$CALLGRIND_REQUESTS" "$bin/backend-api"
  per_request list "$LAST_IR" "$none"

  frontend_env "$api" "$port" "$metrics"
  callgrind_instructions frontend none "$base/ready" "" 0 "$bin/frontend"
  none="$LAST_IR"
  callgrind_instructions frontend ui20 "$base/ready" "$base/" "$CALLGRIND_REQUESTS" "$bin/frontend"
  per_request ui20 "$LAST_IR" "$none"
  stop_service "$backend_pid"
  psql_on postgres "DROP DATABASE $db"
}

bench_all_instructions() {
  local variant
  [[ "$CALLGRIND_REQUESTS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_CALLGRIND_REQUESTS must be a whole number above 0"
  for variant in "${VARIANTS[@]}"; do
    bench_instructions "$variant"
  done
}
