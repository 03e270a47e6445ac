#!/usr/bin/env bash
# End-to-end checks of a real kind deployment made by ./deploy.sh, run from outside the cluster.
# NEEDS A REAL CLUSTER: it runs in the e2e-kind job of .github/workflows/ci.yml, not on our own machines.
# All traffic goes to localhost (the NodePort mapping and kubectl port-forward); every loop is bounded.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

CLUSTER="${KIND_CLUSTER_NAME:-task-manager}"
NAMESPACE=task-manager
# The NodePort and the local end of the port-forward; overridable only so that the stand-in test
# (tests/infra/test_e2e_kind.py) can use free ports on a shared machine.
UI="${E2E_UI_URL:-http://localhost:30080}"
API_PORT="${E2E_API_PORT:-15000}"
API="http://localhost:$API_PORT"
WORK="$(mktemp -d)"
PF_PID=""
LOAD_PID=""

kc() {
  kubectl --context "kind-$CLUSTER" --namespace "$NAMESPACE" "$@"
}

cleanup() {
  if [[ -n "$PF_PID" ]]; then
    kill "$PF_PID" 2>/dev/null || true
  fi
  if [[ -n "$LOAD_PID" ]]; then
    kill "$LOAD_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

pass() {
  echo "ok: $*"
}

# http METHOD URL [JSON]: prints the status code; the body goes to $WORK/body.
http() {
  local method="$1" url="$2" data="${3:-}"
  if [[ -n "$data" ]]; then
    curl -sS --max-time 10 -o "$WORK/body" -w '%{http_code}' -X "$method" -H 'Content-Type: application/json' \
      --data "$data" "$url"
  else
    curl -sS --max-time 10 -o "$WORK/body" -w '%{http_code}' -X "$method" "$url"
  fi
}

json_field() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$WORK/body" "$1"
}

expect() {
  local want="$1" got="$2" what="$3"
  [[ "$got" == "$want" ]] || fail "$what: expected HTTP $want, got $got: $(head -c 300 "$WORK/body")"
}

start_port_forward() {
  kc port-forward svc/backend-api "$API_PORT:5000" >"$WORK/port-forward.log" 2>&1 &
  PF_PID=$!
  local i
  for ((i = 0; i < 30; i++)); do
    curl -fsS -o /dev/null --max-time 2 "$API/health" 2>/dev/null && return
    sleep 1
  done
  cat "$WORK/port-forward.log" >&2
  fail "kubectl port-forward svc/backend-api did not answer"
}

check_ui() {
  expect 200 "$(http GET "$UI/")" "GET / on the NodePort"
  grep -q '· taskmgr</title>' "$WORK/body" || fail "the UI did not return taskmgr's page"
  pass "the UI answers on $UI"
}

# crud BASE: create, read, update, delete one task through BASE/api/tasks.
crud() {
  local base="$1" id
  expect 201 "$(http POST "$base/api/tasks" '{"title":"e2e task","priority":"high"}')" "create via $base"
  id="$(json_field id)"
  expect 200 "$(http GET "$base/api/tasks/$id")" "read via $base"
  [[ "$(json_field title)" == "e2e task" ]] || fail "read back a different title via $base"
  expect 200 "$(http PATCH "$base/api/tasks/$id" '{"completed":true}')" "update via $base"
  [[ "$(json_field completed)" == "True" ]] || fail "update did not mark the task completed via $base"
  expect 200 "$(http DELETE "$base/api/tasks/$id")" "delete via $base"
  expect 404 "$(http GET "$base/api/tasks/$id")" "read after delete via $base"
  pass "create, read, update, delete via $base"
}

# load_loop NAME: GETs the task list through the NodePort every 0.1 s (at most 3000 times) until
# $WORK/NAME.stop exists; writes the number of failed requests to $WORK/NAME.failures.
load_loop() {
  local name="$1" failures=0 total=0 code
  while [[ ! -e "$WORK/$name.stop" ]] && ((total < 3000)); do
    code="$(curl -s -o /dev/null --max-time 5 -w '%{http_code}' "$UI/api/tasks?limit=5" || true)"
    total=$((total + 1))
    [[ "$code" == 200 ]] || failures=$((failures + 1))
    sleep 0.1
  done
  echo "$failures $total" >"$WORK/$name.failures"
}

# start_load NAME: load_loop NAME in the background of this shell, its PID in LOAD_PID. Not `pid="$(...)"`:
# a command substitution would wait for the whole loop, and its PID would be no child of this shell.
start_load() {
  load_loop "$1" &
  LOAD_PID=$!
}

stop_load() {
  local name="$1"
  touch "$WORK/$name.stop"
  wait "$LOAD_PID"
  LOAD_PID=""
  local failures total
  read -r failures total <"$WORK/$name.failures"
  echo "$name: $failures failed of $total requests"
  ((failures == 0)) || fail "$name: $failures of $total requests failed"
}

first_pod() {
  kc get pods -l "app.kubernetes.io/name=$1" -o jsonpath='{.items[0].metadata.name}'
}

check_pod_loss() {
  start_load pod-loss
  sleep 2
  kc delete pod "$(first_pod backend-api)" --wait=false
  kc delete pod "$(first_pod frontend)" --wait=false
  sleep 5
  kc rollout status deployment/backend-api --timeout 120s
  kc rollout status deployment/frontend --timeout 120s
  sleep 3
  stop_load pod-loss
  pass "requests kept succeeding while a backend and a frontend pod were replaced"
}

check_postgres_restart() {
  local id i
  # Through the NodePort: the port-forward's pod may have been replaced by check_pod_loss.
  expect 201 "$(http POST "$UI/api/tasks" '{"title":"survives a postgres restart"}')" "create before restart"
  id="$(json_field id)"
  kc delete pod -l app.kubernetes.io/name=postgres --wait=true
  kc rollout status deployment/postgres --timeout 180s
  for ((i = 0; i < 60; i++)); do
    [[ "$(http GET "$UI/api/tasks/$id")" == 200 ]] && break
    sleep 2
  done
  expect 200 "$(http GET "$UI/api/tasks/$id")" "the task after the postgres pod was replaced"
  [[ "$(json_field title)" == "survives a postgres restart" ]] || fail "the task came back different"
  pass "tasks survive the loss of the postgres pod (the volume keeps them)"
}

check_rolling_update() {
  start_load rolling-update
  sleep 2
  # A new tag, so the re-run really rolls both deployments out.
  IMAGE_TAG="$(git rev-parse --short=12 HEAD)-rerun" ./deploy.sh
  sleep 3
  stop_load rolling-update
  pass "./deploy.sh re-run: rolling update with no failed request"
}

# Backup and restore through the postgres pod (./deploy.sh backup/restore --kind): the tasks backed up, changed,
# a restore without --force refused, then the restore with --force while requests run (none may fail); every task
# comes back field by field, ids and times included.
check_backup_restore() {
  local dump="$WORK/kind.dump" id
  expect 201 "$(http POST "$UI/api/tasks" '{"title":"kept by the backup","description":"two\nlines","priority":"low"}')" \
    "create before the backup"
  id="$(json_field id)"
  expect 200 "$(http PATCH "$UI/api/tasks/$id" '{"completed":true}')" "complete before the backup"
  expect 200 "$(http GET "$UI/api/tasks?limit=1000")" "list before the backup"
  cp "$WORK/body" "$WORK/before.json"
  ./deploy.sh backup --kind "$dump" || fail "./deploy.sh backup --kind failed"
  expect 200 "$(http DELETE "$UI/api/tasks/$id")" "delete after the backup"
  expect 201 "$(http POST "$UI/api/tasks" '{"title":"made after the backup"}')" "create after the backup"
  if ./deploy.sh restore "$dump" --kind 2>"$WORK/refusal"; then
    fail "restore without --force replaced the tasks"
  fi
  grep -q -- '--force' "$WORK/refusal" || fail "the refusal does not say how to force it: $(cat "$WORK/refusal")"
  start_load restore
  sleep 1
  ./deploy.sh restore "$dump" --force --kind || fail "./deploy.sh restore --force --kind failed"
  sleep 1
  stop_load restore
  expect 200 "$(http GET "$UI/api/tasks?limit=1000")" "list after the restore"
  python3 -c 'import json, sys; a, b = (sorted(json.load(open(f)), key=lambda t: t["id"]) for f in sys.argv[1:]); sys.exit(a != b)' \
    "$WORK/before.json" "$WORK/body" || fail "the restored tasks differ from the backed-up ones"
  pass "backup and restore through the postgres pod: every task back, field by field"
}

main() {
  check_ui
  start_port_forward
  crud "$API"
  crud "$UI"
  check_pod_loss
  check_backup_restore
  check_postgres_restart
  check_rolling_update
  echo "e2e-kind: all checks passed"
}

main "$@"
