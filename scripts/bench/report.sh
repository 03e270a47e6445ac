# shellcheck shell=bash
# scripts/bench.sh's report: the header (machine, load, settings, command), a table of every row per settings
# (medians over the rounds, the baseline's beside them), instructions per request, the guards, and a verdict
# against each target. The ratio targets were set on the binaries' defaults and are judged there; every p99
# target and the baseline guard hold under both settings. Reads $WORK_DIR/results.tsv (see throughput.sh).
# Sourced after the other bench libraries.

# The targets, one per row: "row|label|ceiling|minimum ratio|maximum p99 in ms". The ceiling is "pgbench" (the
# row's own SQL under pgbench) or the row whose req/s it is; rows without a ratio target are ceilings themselves.
TARGETS=(
  "by_id|by id, GET /api/tasks/{id}|pgbench|0.40|10"
  "list|list of 100, GET /api/tasks|pgbench|0.60|10"
  "patch|PATCH over 100 tasks|pgbench|0.50|10"
  "post|POST /api/tasks|pgbench|0.55|10"
  "ui20|UI page of 20, GET /|list20|0.30|25"
  "ui100|UI page of 100, GET /?per_page=100|list100|0.25|25"
  "list20|backend GET /api/tasks?limit=20||-|10"
  "list100|backend GET /api/tasks?limit=100||-|10"
)
IR_ROWS=("by_id|by id" "list|list of 100" "ui20|UI page of 20")
IR_MAX_SHARE=0.70 # instructions per request: at most 70% of the baseline's (30% fewer)
RSS_MAX_MB=30
FAILED=()   # the targets not met
UNJUDGED=() # the targets that need a baseline this run has not got

# values VARIANT@SETTINGS ROW FIELD: the recorded values, one per line.
values() {
  awk -F'\t' -v v="$1" -v r="$2" -v f="$3" '$1 == v && $3 == r && $4 == f {print $5}' "$(results)"
}

# median: of the numbers on stdin (empty if there are none).
median() {
  sort -g | awk '{a[NR] = $1} END {if (NR) print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2)}'
}

# ratios VARIANT@SETTINGS ROW CEILING_ROW: ROW's req/s over its ceiling, per round: CEILING_ROW's req/s in the same
# pass, or with none, the pgbench TPS recorded for ROW.
ratios() {
  awk -F'\t' -v v="$1" -v r="$2" -v c="$3" '$1 != v {next}
    $3 == r && $4 == "rps" {rps[$2] = $5}
    (c == "" && $3 == r && $4 == "ceiling") || (c != "" && $3 == c && $4 == "rps") {ceil[$2] = $5}
    END {for (k in rps) if (ceil[k] > 0) printf "%.4f\n", rps[k] / ceil[k]}' "$(results)"
}

# one_call_per_page VARIANT@SETTINGS ROW: whether, in every round, the backend served one request per page the frontend
# served, give or take the pages cut off when wrk stopped (at most one per connection).
one_call_per_page() {
  awk -F'\t' -v v="$1" -v r="$2" -v c="$CONNECTIONS" '$1 == v && $3 == r && $4 == "pages" {p[$2] = $5}
    $1 == v && $3 == r && $4 == "calls" {n[$2] = $5}
    END {for (k in p) if (n[k] < p[k] || n[k] > p[k] + c) exit 1; exit !length(p)}' "$(results)"
}

# calls_per_page VARIANT@SETTINGS ROW: backend requests per page, in each round.
calls_per_page() {
  awk -F'\t' -v v="$1" -v r="$2" '$1 == v && $3 == r && $4 == "pages" {p[$2] = $5}
    $1 == v && $3 == r && $4 == "calls" {n[$2] = $5}
    END {for (k = 1; k in p; k++) printf "%.3f (%d/%d) ", n[k] / p[k], n[k], p[k]}' "$(results)"
}

# at_least A B: whether the number A >= B.
at_least() {
  awk -v a="$1" -v b="$2" 'BEGIN {exit !(a + 0 >= b + 0)}'
}

# thousands N: 12345.6 as 12,346.
thousands() {
  printf '%.0f' "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'
}

# or_dash VALUE DECIMALS|thousands: VALUE rounded, or "-" when there is none.
or_dash() {
  if [[ -z "$1" ]]; then echo "-"; elif [[ "$2" == thousands ]]; then thousands "$1"; else printf '%.*f' "$2" "$1"; fi
}

# print_header INSTRUCTIONS_ONLY
print_header() {
  local workers settings shown=("${ALL_SETTINGS[@]}")
  if [[ "$1" == 1 ]]; then shown=(deployed); fi
  echo
  echo "## taskmgr bench, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- command: \`$COMMAND_LINE\`"
  echo "- machine: $(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, $(uname -sr)"
  echo "- load average: $LOAD_AT_START at the start, ${LOAD_BEFORE_MEASURING:-$LOAD_AT_START} before the first measurement (other work skews req/s, not instructions)"
  echo "- settings, as actix logged its workers:"
  for settings in "${shown[@]}"; do
    workers="backend-api $(values "current@$settings" backend-api workers | sort -u | paste -sd/), frontend $(values "current@$settings" frontend workers | sort -u | paste -sd/)"
    if [[ "$settings" == defaults ]]; then
      echo "  - defaults (the targets' basis): an actix worker per CPU ($workers), a pool of twice the CPUs, RUST_LOG=$DEPLOYED_RUST_LOG"
    else
      echo "  - deployed: one actix worker ($workers), RUST_LOG=$DEPLOYED_RUST_LOG, DB_POOL_SIZE=$DEPLOYED_POOL_SIZE"
    fi
  done
  echo "- binaries (release builds): current ${VARIANT_REV[current]}${VARIANT_REV[baseline]:+, baseline ${VARIANT_REV[baseline]}}"
  if [[ "$1" == 0 ]]; then
    echo "- load: $ROUNDS rounds, medians, the binaries alternating over one PostgreSQL; wrk -t$THREADS -c$CONNECTIONS -d$DURATION; pgbench -M prepared -c$CONNECTIONS -j$THREADS -T${DURATION%s} on each backend row's SQL"
  fi
}

# print_throughput SETTINGS: the table of every row under SETTINGS.
print_throughput() {
  local settings="$1" target row label ceiling_row min max_p99 rps ceiling ratio p99 base_rps base_ratio verdict why
  local cur="current@$1" base="baseline@$1"
  echo
  if [[ "$settings" == defaults ]]; then
    echo "Under the binaries' defaults (the ratio targets' basis):"
  else
    echo "Under the deployed settings (ratios shown, not judged):"
  fi
  echo
  echo "| row | req/s | ceiling | ratio | p99 ms | baseline req/s | baseline ratio | target | verdict |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for target in "${TARGETS[@]}"; do
    IFS='|' read -r row label ceiling_row min max_p99 <<<"$target"
    rps="$(values "$cur" "$row" rps | median)"
    p99="$(values "$cur" "$row" p99 | median)"
    base_rps="$(values "$base" "$row" rps | median)"
    [[ "$ceiling_row" == pgbench ]] && ceiling_row=""
    if [[ "$min" == - ]]; then
      ceiling="" ratio="" base_ratio=""
    else
      ratio="$(ratios "$cur" "$row" "$ceiling_row" | median)"
      base_ratio="$(ratios "$base" "$row" "$ceiling_row" | median)"
      if [[ -z "$ceiling_row" ]]; then
        ceiling="$(thousands "$(values "$cur" "$row" ceiling | median)") pgbench"
      else
        ceiling="$(thousands "$(values "$cur" "$ceiling_row" rps | median)") limit=${ceiling_row#list}"
      fi
    fi
    [[ "$settings" == defaults ]] || min=- # the ratio is shown, not judged
    why=()
    if [[ -n "$ratio" && "$min" != - ]] && ! at_least "$ratio" "$min"; then why+=("ratio"); fi
    at_least "$max_p99" "$p99" || why+=("p99")
    if [[ -n "$base_rps" ]] && ! at_least "$rps" "$base_rps"; then why+=("req/s below baseline"); fi
    if [[ "$row" == ui* ]] && ! one_call_per_page "$cur" "$row"; then why+=("backend calls per page"); fi
    verdict="met"
    if [[ ${#why[@]} -gt 0 ]]; then
      verdict="$(IFS=,; echo "${why[*]}")"
      verdict="${verdict//,/, }"
      FAILED+=("$label, $settings: $verdict")
      verdict="NOT met ($verdict)"
    fi
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$(or_dash "$rps" thousands)" "${ceiling:--}" \
      "$(or_dash "$ratio" 2)" "$(or_dash "$p99" 1)" "$(or_dash "$base_rps" thousands)" \
      "$(or_dash "$base_ratio" 2)" "$([[ "$min" == - ]] || echo "≥ $min, ")p99 ≤ $max_p99" "$verdict"
  done
}

print_instructions() {
  local entry row label cur base change verdict
  echo
  echo "Instructions per request (callgrind, whole process, $CALLGRIND_REQUESTS sequential requests minus none):"
  echo
  echo "| row | current | baseline | change | target | verdict |"
  echo "|---|---|---|---|---|---|"
  for entry in "${IR_ROWS[@]}"; do
    IFS='|' read -r row label <<<"$entry"
    cur="$(values current@deployed "$row" ir)"
    base="$(values baseline@deployed "$row" ir)"
    change="-" verdict="no baseline (BENCH_BASELINE)"
    if [[ -n "$base" ]]; then
      change="$(awk -v c="$cur" -v b="$base" 'BEGIN {printf "%+.1f%%", (c - b) * 100 / b}')"
      verdict="met"
      if ! at_least "$(awk -v b="$base" -v m="$IR_MAX_SHARE" 'BEGIN {print b * m}')" "$cur"; then
        verdict="NOT met"
        FAILED+=("$label: instructions per request")
      fi
    else
      UNJUDGED+=("$label: instructions per request")
    fi
    printf '| %s | %s | %s | %s | %s | %s |\n' "$label" "$(thousands "$cur")" "$(or_dash "$base" thousands)" "$change" \
      "≤ $IR_MAX_SHARE × baseline" "$verdict"
  done
}

print_guards() {
  local variant settings service peak row
  echo
  for variant in "${VARIANTS[@]}"; do
    for settings in "${ALL_SETTINGS[@]}"; do
      for row in ui20 ui100; do
        echo "- backend calls per UI page, $row, $variant, $settings, each round (one, give or take $CONNECTIONS cut off at the end): $(calls_per_page "$variant@$settings" "$row")"
      done
    done
  done
  for service in backend-api frontend; do
    peak="$(for settings in "${ALL_SETTINGS[@]}"; do values "current@$settings" "$service" rss; done | sort -g | tail -n 1)"
    if at_least "$RSS_MAX_MB" "$peak"; then
      echo "- peak RSS of $service (highest of the rounds and settings): $peak MB (target ≤ $RSS_MAX_MB MB): met"
    else
      echo "- peak RSS of $service (highest of the rounds and settings): $peak MB (target ≤ $RSS_MAX_MB MB): NOT met"
      FAILED+=("$service: peak RSS")
    fi
  done
  echo "- search for one task in $(thousands "$SEARCH_TASKS") (current, deployed settings): $(values current@deployed search rps) req/s," \
    "p99 $(values current@deployed search p99) ms; mean of sequential requests $(values current@deployed search mean_with_index) ms" \
    "with the trigram indexes, $(values current@deployed search mean_without_index) ms without"
}

# bench_print_report INSTRUCTIONS_ONLY
bench_print_report() {
  local settings
  print_header "$1"
  if [[ "$1" == 0 ]]; then
    for settings in "${ALL_SETTINGS[@]}"; do
      print_throughput "$settings"
    done
  fi
  print_instructions
  if [[ "$1" == 0 ]]; then
    print_guards
  fi
  echo
  echo "Each round's figures: $(results); logs and callgrind profiles (callgrind_annotate) beside it."
  if [[ ${#FAILED[@]} -eq 0 && ${#UNJUDGED[@]} -gt 0 ]]; then
    echo "no target NOT met, ${#UNJUDGED[@]} not judged without BENCH_BASELINE; took $(elapsed)"
  elif [[ ${#FAILED[@]} -eq 0 ]]; then
    echo "every target met; took $(elapsed)"
  else
    echo "${#FAILED[@]} target(s) NOT met; took $(elapsed):"
    printf '  - %s\n' "${FAILED[@]}"
  fi
}
