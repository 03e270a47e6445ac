#!/usr/bin/env bash
# End-to-end checks of a kind deployment made by ./deploy.sh, from outside the cluster (the e2e-kind job of
# .github/workflows/ci.yml; here tests/infra/test_e2e_kind.py runs it against stand-ins). Only localhost; bounded loops.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib/die.sh
source "$ROOT/scripts/lib/die.sh"

CLUSTER="${KIND_CLUSTER_NAME:-task-manager}"
NAMESPACE=task-manager
# The NodePort and the port-forward's local end; overridable so that the stand-in test can use free ports.
UI="${E2E_UI_URL:-http://localhost:30080}"
API_PORT="${E2E_API_PORT:-15000}"
API="http://localhost:$API_PORT"
WORK="$(mktemp -d)"
# --tls, --pgadmin (E2E_SKIP_TLS=1 skips them): the Gateway on kind-config.yaml's localhost:30443, pgAdmin's forward.
TLS_UI="https://localhost:30443"
PGADMIN_PORT=15050

kc() {
  kubectl --context "kind-$CLUSTER" --namespace "$NAMESPACE" "$@"
}

# Stops what still runs in the background (port-forwards, a load loop): `jobs -p` lists only those not yet reaped,
# so no PID that may have been reused is signalled.
cleanup() {
  local pids
  pids="$(jobs -p)"
  # shellcheck disable=SC2086 # one PID per word
  [[ -z "$pids" ]] || kill $pids 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

pass() {
  echo "ok: $*"
}

# wait_for TIMES PAUSE COMMAND...: runs COMMAND until it succeeds, at most TIMES times PAUSE s apart; the check
# that follows says what failed.
wait_for() {
  local times="$1" pause="$2" i
  shift 2
  for ((i = 0; i < times; i++)); do
    "$@" && return
    sleep "$pause"
  done
}

# answers URL [CURL ARGS]: whether URL answers with a 2xx status.
answers() {
  curl -fsS -o /dev/null --max-time 10 "$@" 2>/dev/null
}

# http METHOD URL [JSON [CURL ARGS]]: prints the status code; the body goes to $WORK/body, the headers to
# $WORK/headers.
http() {
  local json=()
  [[ -z "${3:-}" ]] || json=(-H 'Content-Type: application/json' --data "$3")
  curl -sS --max-time 10 -D "$WORK/headers" -o "$WORK/body" -w '%{http_code}' -X "$1" "${json[@]}" "${@:4}" "$2"
}

json_field() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$WORK/body" "$1"
}

expect() {
  local want="$1" got="$2" what="$3"
  [[ "$got" == "$want" ]] || die "$what: expected HTTP $want, got $got: $(head -c 300 "$WORK/body")"
}

# port_forward SERVICE LOCAL:REMOTE URL: kubectl port-forward in the background, until URL answers.
port_forward() {
  # exec: the background job is kubectl itself (through kc it would be a subshell), so cleanup's kill reaches it.
  (exec kubectl --context "kind-$CLUSTER" --namespace "$NAMESPACE" port-forward "svc/$1" "$2") \
    </dev/null >"$WORK/$1-port-forward.log" 2>&1 &
  wait_for 30 1 answers "$3"
  answers "$3" || die "kubectl port-forward svc/$1 did not answer: $(cat "$WORK/$1-port-forward.log")"
}

check_ui() {
  expect 200 "$(http GET "$UI/")" "GET / on the NodePort"
  grep -q '· taskmgr</title>' "$WORK/body" || die "the UI did not return taskmgr's page"
  pass "the UI answers on $UI"
}

# crud BASE: create, read, update, delete one task through BASE/api/tasks.
crud() {
  local base="$1" id
  expect 201 "$(http POST "$base/api/tasks" '{"title":"e2e task","priority":"high"}')" "create via $base"
  id="$(json_field id)"
  expect 200 "$(http GET "$base/api/tasks/$id")" "read via $base"
  [[ "$(json_field title)" == "e2e task" ]] || die "read back a different title via $base"
  expect 200 "$(http PATCH "$base/api/tasks/$id" '{"completed":true}')" "update via $base"
  [[ "$(json_field completed)" == "True" ]] || die "update did not mark the task completed via $base"
  expect 200 "$(http DELETE "$base/api/tasks/$id")" "delete via $base"
  expect 404 "$(http GET "$base/api/tasks/$id")" "read after delete via $base"
  pass "create, read, update, delete via $base"
}

# load_loop NAME: GETs the task list through the NodePort every 0.1 s (at most 3000 times) until
# $WORK/NAME.stop exists; writes the number of failed requests to $WORK/NAME.failures.
load_loop() {
  local name="$1" failures=0 total=0
  while [[ ! -e "$WORK/$name.stop" ]] && ((total < 3000)); do
    total=$((total + 1))
    answers "$UI/api/tasks?limit=5" --max-time 5 || failures=$((failures + 1))
    sleep 0.1
  done
  echo "$failures $total" >"$WORK/$name.failures"
}

# start_load NAME: load_loop NAME in the background, 2 s before what it watches (its PID in LOAD_PID, not
# `pid="$(...)"`: that would wait). stop_load NAME: 3 s after, stops it and fails if any request failed.
start_load() {
  load_loop "$1" &
  LOAD_PID=$!
  sleep 2
}

stop_load() {
  local name="$1" failures total
  sleep 3
  touch "$WORK/$name.stop"
  wait "$LOAD_PID"
  read -r failures total <"$WORK/$name.failures"
  echo "$name: $failures failed of $total requests"
  ((failures == 0)) || die "$name: $failures of $total requests failed"
}

first_pod() {
  kc get pods -l "app.kubernetes.io/name=$1" -o jsonpath='{.items[0].metadata.name}'
}

check_pod_loss() {
  start_load pod-loss
  kc delete pod "$(first_pod backend-api)" --wait=false
  kc delete pod "$(first_pod frontend)" --wait=false
  sleep 5
  kc rollout status deployment/backend-api --timeout 120s
  kc rollout status deployment/frontend --timeout 120s
  stop_load pod-loss
  pass "requests kept succeeding while a backend and a frontend pod were replaced"
}

check_postgres_restart() {
  local id
  # Through the NodePort: the port-forward's pod may have been replaced by check_pod_loss.
  expect 201 "$(http POST "$UI/api/tasks" '{"title":"survives a postgres restart"}')" "create before restart"
  id="$(json_field id)"
  kc delete pod -l app.kubernetes.io/name=postgres --wait=true
  kc rollout status deployment/postgres --timeout 180s
  wait_for 60 2 answers "$UI/api/tasks/$id"
  # Once one read answers, all do: no backend pod hands out a connection that died with the old postgres.
  for ((i = 1; i <= 10; i++)); do
    expect 200 "$(http GET "$UI/api/tasks/$id")" "read $i of 10 after the postgres pod was replaced"
  done
  [[ "$(json_field title)" == "survives a postgres restart" ]] || die "the task came back different"
  pass "tasks survive the loss of the postgres pod (the volume keeps them), and every read after it succeeds"
}

check_rolling_update() {
  start_load rolling-update
  # A new tag, so the re-run really rolls both deployments out (E2E_DEPLOY: the stand-in test's deploy.sh).
  IMAGE_TAG="$(git rev-parse --short=12 HEAD)-rerun" "${E2E_DEPLOY:-./deploy.sh}"
  stop_load rolling-update
  pass "./deploy.sh re-run: rolling update with no failed request"
}

# Backup and restore through the postgres pod: a restore without --force is refused; with --force, under load,
# every task comes back field by field (the list, whose order is total, byte for byte).
check_backup_restore() {
  local dump="$WORK/kind.dump" id
  local kept='{"title":"kept by the backup","description":"two\nlines","priority":"low"}'
  expect 201 "$(http POST "$UI/api/tasks" "$kept")" "create before the backup"
  id="$(json_field id)"
  expect 200 "$(http PATCH "$UI/api/tasks/$id" '{"completed":true}')" "complete before the backup"
  expect 200 "$(http GET "$UI/api/tasks?limit=1000")" "list before the backup"
  cp "$WORK/body" "$WORK/before.json"
  ./deploy.sh backup --kind "$dump" || die "./deploy.sh backup --kind failed"
  expect 200 "$(http DELETE "$UI/api/tasks/$id")" "delete after the backup"
  expect 201 "$(http POST "$UI/api/tasks" '{"title":"made after the backup"}')" "create after the backup"
  ! ./deploy.sh restore "$dump" --kind 2>"$WORK/refusal" || die "restore without --force replaced the tasks"
  grep -q -- '--force' "$WORK/refusal" || die "the refusal does not say how to force it: $(cat "$WORK/refusal")"
  start_load restore
  ./deploy.sh restore "$dump" --force --kind || die "./deploy.sh restore --force --kind failed"
  stop_load restore
  expect 200 "$(http GET "$UI/api/tasks?limit=1000")" "list after the restore"
  cmp -s "$WORK/before.json" "$WORK/body" || die "the restored tasks differ from the backed-up ones"
  pass "backup and restore through the postgres pod: every task back, field by field"
}

# psql in the postgres pod as ROLE (the pod's local socket) on the tasks database, the SQL on stdin.
# shellcheck disable=SC2016 # expanded by the pod's sh
pod_psql_as() {
  kc exec -i deploy/postgres -c postgres -- \
    sh -c 'psql -X -q -tA -v ON_ERROR_STOP=1 -U "$1" -d "$POSTGRES_DB" -f -' sh "$1"
}

# Code the backend's role plants (tests/infra/planted/*.sql) never runs as superuser in a backup and restore.
check_planted_code_stays_unprivileged() {
  local planted="tests/infra/planted" dump="$WORK/planted.dump" before after
  cat "$planted/plant.sql" "$planted/restore-plant.sql" | pod_psql_as taskmgr_app >/dev/null ||
    die "could not plant as taskmgr_app"
  before="$(pod_psql_as "$(pod_superuser)" <"$planted/escalation.sql")" || die "could not read the roles"
  ./deploy.sh backup --kind "$dump" || die "./deploy.sh backup --kind of the planted database failed"
  ./deploy.sh restore "$dump" --force --kind | tee "$WORK/planted-restore.log" ||
    die "./deploy.sh restore --kind of the planted backup failed"
  grep -q 'MATERIALIZED VIEW public planted_view' "$WORK/planted-restore.log" ||
    die "the restore did not name what it skipped"
  after="$(pod_psql_as "$(pod_superuser)" <"$planted/escalation.sql")" || die "could not read the roles"
  [[ "$after" == "$before" ]] || die "planted code ran as superuser: before: $before; after: $after"
  pass "planted code stayed unprivileged through a backup and restore: $after"
}

# The pod's superuser (POSTGRES_USER of its environment).
# shellcheck disable=SC2016 # expanded by the pod's sh
pod_superuser() {
  kc exec deploy/postgres -c postgres -- sh -c 'echo "$POSTGRES_USER"'
}

# ---------------------------------------------------------------- --tls and --pgadmin

# https_get URL [CURL ARGS]: http GET through the Gateway.
https_get() {
  http GET "$1" "" --cacert "$WORK/taskmgr-localhost.crt" "${@:2}"
}

# A task created through the NodePort is on the page served through the Gateway (up to 60 s for a new route).
check_tls_task_list() {
  expect 201 "$(http POST "$UI/api/tasks" '{"title":"seen over https"}')" "create before the HTTPS check"
  wait_for 30 2 answers --cacert "$WORK/taskmgr-localhost.crt" "$TLS_UI/"
  expect 200 "$(https_get "$TLS_UI/")" "GET / over $TLS_UI"
  grep -q 'seen over https' "$WORK/body" || die "the task list over HTTPS lacks the task just created"
  expect 200 "$(https_get "$TLS_UI/api/tasks?limit=5")" "GET /api/tasks over $TLS_UI"
  pass "the task list is served over $TLS_UI with the generated certificate"
}

# The CSRF cookie is Secure behind the Gateway, not through the NodePort even when the client claims HTTPS. No HSTS
# for localhost (it would bind http://localhost:30080 too), from the frontend or the Gateway.
check_secure_cookie() {
  expect 200 "$(https_get "$TLS_UI/")" "the form page over HTTPS"
  header 'set-cookie: taskmgr_csrf=.*; *Secure' || die "no Secure CSRF cookie over HTTPS: $(cat "$WORK/headers")"
  ! header strict-transport-security || die "HSTS sent for localhost: $(cat "$WORK/headers")"
  expect 200 "$(http GET "$UI/" "" -H 'X-Forwarded-Proto: https')" "the form page through the NodePort"
  header 'set-cookie: taskmgr_csrf=' || die "no CSRF cookie through the NodePort"
  ! header 'set-cookie: taskmgr_csrf=.*; *Secure' || die "a NodePort client claiming https was believed"
  ! header strict-transport-security || die "HSTS sent over plain HTTP"
  pass "the CSRF cookie is Secure over HTTPS only, from the Gateway only; no HSTS for localhost"
}

# header REGEX: whether a line of the last response's headers starts with REGEX (any case).
header() {
  grep -qi "^$1" "$WORK/headers"
}

# pgAdmin's login page through a port-forward, and through the Gateway by its host name.
check_pgadmin_login_page() {
  port_forward pgadmin "$PGADMIN_PORT:8080" "http://localhost:$PGADMIN_PORT/login"
  expect 200 "$(http GET "http://localhost:$PGADMIN_PORT/login")" "pgAdmin's login page through kubectl port-forward"
  grep -qi 'pgadmin' "$WORK/body" || die "the port-forward's /login is not pgAdmin's page"
  expect 200 "$(https_get "https://pgadmin.localhost:30443/login" --resolve pgadmin.localhost:30443:127.0.0.1)" \
    "pgAdmin's login page over https://pgadmin.localhost:30443"
  pass "pgAdmin's login page answers through a port-forward and through the Gateway"
}

# From the pgAdmin pod, its registered server (servers.json) counts the tasks: the NetworkPolicies let it through.
# It connects as pgAdmin does (ServerManager.create_connection_string: its ConnectionParameters included), so its
# search_path is pinned. The password goes through stdin.
check_pgadmin_reaches_postgres() {
  local answer search_path count
  answer="$(kc get secret app-secrets -o jsonpath='{.data.POSTGRES_PASSWORD}' | base64 -d |
    kc exec -i deploy/pgadmin -- /venv/bin/python3 -c '
import json, sys
import psycopg
from psycopg.conninfo import make_conninfo
server = json.load(open("/etc/pgadmin/servers.json"))["Servers"]["1"]
dsn = make_conninfo(host=server["Host"], port=server["Port"], dbname=server["MaintenanceDB"],
                    user=server["Username"], password=sys.stdin.read(), **server["ConnectionParameters"])
with psycopg.connect(dsn) as conn:
    print(conn.execute("SHOW search_path").fetchone()[0].replace(" ", ""),
          conn.execute("SELECT count(*) FROM public.tasks").fetchone()[0])')" ||
    die "pgAdmin's pod could not query PostgreSQL"
  read -r search_path count <<<"$answer"
  [[ "$search_path" == "pg_catalog,pg_temp" ]] || die "pgAdmin's session has search_path '$search_path', not pinned"
  [[ "$count" =~ ^[1-9][0-9]*$ ]] || die "pgAdmin's pod counted no tasks: $count"
  pass "pgAdmin connects to PostgreSQL as its registered server ($count tasks, search_path pinned)"
}

# A second deploy adds --tls and --pgadmin; the first --pgadmin deploy prints pgAdmin's login once. curl trusts the
# generated certificate (--cacert, never -k).
check_tls_and_pgadmin() {
  if [[ "${E2E_SKIP_TLS:-}" == 1 ]]; then
    echo "skipped: --tls and --pgadmin (E2E_SKIP_TLS=1, set only by the stand-in test tests/infra/test_e2e_kind.py)"
    return
  fi
  ./deploy.sh --tls --pgadmin | tee "$WORK/deploy-tls.log"
  grep -q "login (shown this once; kept in Secret pgadmin-login): email " "$WORK/deploy-tls.log" ||
    die "the first --pgadmin deploy did not print pgAdmin's login"
  kc get secret taskmgr-tls -o jsonpath='{.data.tls\.crt}' | base64 -d >"$WORK/taskmgr-localhost.crt"
  check_tls_task_list
  check_secure_cookie
  check_pgadmin_login_page
  check_pgadmin_reaches_postgres
}

# The checks send load to UI: only to this machine.
check_ui_is_local() {
  [[ "$UI" =~ ^https?://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]+)?(/.*)?$ ]] ||
    die "E2E_UI_URL must name this machine (localhost, 127.0.0.1 or [::1]), not: $UI"
}

main() {
  check_ui_is_local
  check_ui
  port_forward backend-api "$API_PORT:5000" "$API/health"
  crud "$API"
  crud "$UI"
  check_pod_loss
  check_backup_restore
  check_planted_code_stays_unprivileged
  check_postgres_restart
  check_rolling_update
  check_tls_and_pgadmin
  echo "e2e-kind: all checks passed"
}

# Sourced (tests/infra/test_e2e_kind.py runs single checks), it only defines them.
[[ "${BASH_SOURCE[0]}" != "$0" ]] || main "$@"
