# shellcheck shell=bash
# The throwaway stack the browser and fuzz stages test against: debug builds of backend-api and the frontend,
# a work directory under /tmp (PostgreSQL's cluster and every log), and both services on 127.0.0.1. One
# cleanup stops it all and, after a failure, shows the last lines of each log. Sourced by
# scripts/test-browser.sh and scripts/test-fuzz.sh.

TEST_STACK_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib/stack.sh
source "$TEST_STACK_LIB/stack.sh"
# shellcheck source=scripts/lib/ports.sh
source "$TEST_STACK_LIB/ports.sh"

WORK=""         # the work directory (test_stack_start), removed by test_stack_cleanup
BACKEND_URL=""  # set by test_stack_start_services
FRONTEND_URL="" # set by test_stack_start_services
# shellcheck disable=SC2034 # read by the scripts that source this file
TEST_STACK_DATABASE_URL="" # set by test_stack_start_postgres

# test_stack_start NAME: builds both services, makes WORK (/tmp/taskmgr-NAME.*) and sets the traps that
# clean up. The directory is under /tmp and open to all: as root, PostgreSQL runs as the postgres user,
# which may not be able to reach the checkout (e.g. under /root).
test_stack_start() {
  echo "==> building backend-api and frontend"
  cargo build --locked -q -p backend-api -p frontend
  WORK="$(mktemp -d "/tmp/taskmgr-$1.XXXXXX")"
  chmod 755 "$WORK"
  trap test_stack_cleanup EXIT
  trap 'exit 130' INT TERM
}

# test_stack_start_postgres PORT [SETTING...]: a throwaway cluster in WORK on 127.0.0.1:PORT (superuser taskmgr, a
# random password; each SETTING as stack_start_postgres takes it) and, as on every deploy path, the backend's own
# role in its `postgres` database. That role's URL goes into TEST_STACK_DATABASE_URL.
test_stack_start_postgres() {
  local port="$1"
  shift
  stack_password_file "$WORK/pg-password"
  stack_init_postgres "$WORK/pgdata" taskmgr "$WORK/pg-password"
  stack_start_postgres "$WORK/pgdata" "$port" "$WORK/postgres.log" "$@"
  # shellcheck disable=SC2034 # read by the scripts that source this file
  TEST_STACK_DATABASE_URL="$(stack_app_role "$port" taskmgr "$WORK/pg-password" postgres taskmgr_app \
    "$WORK/app-password")"
}

# test_stack_start_services DATABASE_URL API_PORT UI_PORT: the backend, then the frontend in front of it, each
# waited for; their URLs in BACKEND_URL and FRONTEND_URL. The frontend's other settings (TRUSTED_PROXIES)
# come from the caller's environment.
test_stack_start_services() {
  local database_url="$1" api_port="$2" ui_port="$3" bin
  bin="$(stack_target_dir)/debug"
  BACKEND_URL="http://127.0.0.1:$api_port"
  FRONTEND_URL="http://127.0.0.1:$ui_port"
  echo "==> backend-api on $BACKEND_URL"
  DATABASE_URL="$database_url" HOST=127.0.0.1 PORT="$api_port" METRICS_PORT=0 RUST_LOG=warn \
    stack_start_service backend-api "$BACKEND_URL/ready" "$WORK/backend-api.log" "$bin/backend-api"
  echo "==> frontend on $FRONTEND_URL"
  BACKEND_API_URL="$BACKEND_URL" HOST=127.0.0.1 PORT="$ui_port" METRICS_PORT=0 RUST_LOG=warn \
    SECRET_KEY="test-only-$(random_token 24)" \
    stack_start_service frontend "$FRONTEND_URL/ready" "$WORK/frontend.log" "$bin/frontend"
}

# The EXIT trap: stops every process in STACK_PIDS (the services, and what the caller added there) and the
# cluster, shows the logs' last lines after a failure, removes WORK.
test_stack_cleanup() {
  local status=$? log
  trap - EXIT INT TERM
  # To the end even when nobody reads the output any more (`| head`): a write then fails instead of ending it.
  trap '' PIPE
  set +e
  stack_stop
  if [[ -n "$WORK" ]]; then
    if ((status != 0)); then
      for log in "$WORK"/*.log; do
        [[ -f "$log" ]] || continue
        echo "--- last lines of $(basename "$log")" >&2
        tail -n 15 "$log" >&2
      done
    fi
    rm -rf "$WORK"
  fi
  exit "$status"
}
