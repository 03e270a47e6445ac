# shellcheck shell=bash
# `./deploy.sh local`: the whole application without containers or a cluster. A PostgreSQL kept in a local
# data folder across runs, the release builds of backend-api and frontend as local processes, the UI on
# localhost:30080. Ctrl-C (or SIGTERM) stops all three. Sourced by deploy.sh for its `local` command only; what the
# test and bench scripts share with it is in scripts/lib/stack.sh.

# shellcheck source=scripts/lib/stack.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/stack.sh"

LOCAL_UI_PORT="${LOCAL_UI_PORT:-30080}"
LOCAL_API_PORT="${LOCAL_API_PORT:-5000}"
LOCAL_PG_PORT="${LOCAL_PG_PORT:-55432}"
LOCAL_DB=taskmgr
LOCAL_DB_USER=taskmgr
LOCAL_APP_DB_USER=taskmgr_app
LOCAL_DATABASE_URL=""
PG_PASSWORD_FILE=""

ensure_postgres_installed() {
  if STACK_PG_BIN="$(stack_find_postgres_bin)"; then
    return
  fi
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "PostgreSQL is not installed: installing Debian's postgresql package with apt-get (running as root)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  fi
  stack_require_postgres
}

# Where `local` keeps its database and logs (nothing is created: `./deploy.sh backup --local` reads it too).
local_data_path() {
  echo "${TASKMGR_LOCAL_DATA:-$STACK_ROOT/.local/deploy-local}"
}

local_data_dir() {
  local dir
  dir="$(local_data_path)"
  mkdir -p "$dir"
  if [[ "$(id -u)" == 0 ]] && ! runuser -u postgres -- test -x "$dir"; then
    die "the postgres user cannot reach $dir (a parent directory is not world-searchable); set TASKMGR_LOCAL_DATA to a directory it can reach"
  fi
  echo "$dir"
}

# The database password: random, in a mode-600 file with the data, owned by whoever runs PostgreSQL (initdb
# reads it). Clients get it from there; PostgreSQL refuses connections without it (scram-sha-256).
ensure_pg_password() {
  local dir="$1"
  PG_PASSWORD_FILE="$dir/pg-password"
  stack_password_file "$PG_PASSWORD_FILE"
}

# psql or createdb against the local server as the superuser (search_path pinned), with the password from its file
# (never on a command line).
pg_client() {
  local tool="$1"
  shift
  PGPASSWORD="$(cat "$PG_PASSWORD_FILE")" PGOPTIONS="$SUPERUSER_PGOPTIONS" \
    "$STACK_PG_BIN/$tool" -h 127.0.0.1 -p "$LOCAL_PG_PORT" -U "$LOCAL_DB_USER" "$@"
}

# A data folder made by an older deploy.sh trusts every local connection: give the role its password, then
# require it (the server is running; pg_hba.conf is reread on reload).
require_password_on_old_cluster() {
  grep -Eq '^[^#]*[[:space:]]trust([[:space:]]|$)' "$STACK_PG_DATA/pg_hba.conf" || return 0
  echo "==> this data folder trusted local connections: setting a password (in $PG_PASSWORD_FILE) and requiring it"
  printf "ALTER ROLE %s PASSWORD '%s';\n" "$LOCAL_DB_USER" "$(cat "$PG_PASSWORD_FILE")" |
    PGOPTIONS="$SUPERUSER_PGOPTIONS" "$STACK_PG_BIN/psql" -h 127.0.0.1 -p "$LOCAL_PG_PORT" -U "$LOCAL_DB_USER" -d postgres \
      -qX -v ON_ERROR_STOP=1 -f - ||
    die "could not set the database password"
  stack_as_pg_owner sed -i -E 's/^([^#]*[[:space:]])trust([[:space:]]|$)/\1scram-sha-256\2/' "$STACK_PG_DATA/pg_hba.conf"
  stack_as_pg_owner "$STACK_PG_BIN/pg_ctl" -D "$STACK_PG_DATA" reload >/dev/null
}

start_local_postgres() {
  local dir="$1"
  ensure_pg_password "$dir"
  if [[ ! -s "$dir/pgdata/PG_VERSION" ]]; then
    echo "==> initialising a PostgreSQL cluster in $dir/pgdata (kept across runs)"
    stack_init_postgres "$dir/pgdata" "$LOCAL_DB_USER" "$PG_PASSWORD_FILE"
  fi
  echo "==> starting PostgreSQL on 127.0.0.1:$LOCAL_PG_PORT (password required)"
  stack_start_postgres "$dir/pgdata" "$LOCAL_PG_PORT" "$dir/postgres.log"
  require_password_on_old_cluster
  if ! pg_client psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$LOCAL_DB'" | grep -q 1; then
    pg_client createdb "$LOCAL_DB"
  fi
}

# The backend's own role (db/app-role.sql: owns its schema and nothing more), set up as the superuser after
# PostgreSQL started, with a random password kept with the data (mode 600). Sets LOCAL_DATABASE_URL for the backend.
ensure_local_app_role() {
  local dir="$1"
  LOCAL_DATABASE_URL="$(stack_app_role "$LOCAL_PG_PORT" "$LOCAL_DB_USER" "$PG_PASSWORD_FILE" "$LOCAL_DB" \
    "$LOCAL_APP_DB_USER" "$dir/app_db_password")"
}

on_local_signal() {
  stop_local
  exit 130
}

stop_local() {
  trap - INT TERM EXIT
  # The stop must reach stack_stop even when nobody reads the output any more (`| tee` that Ctrl-C stopped first).
  trap '' PIPE
  set +e
  echo
  echo "==> stopping taskmgr (local)"
  stack_stop
}

# The first build compiles every dependency (minutes on 2 cores); say so before it starts.
build_release_binaries() {
  local bin="$1"
  if [[ -x "$bin/backend-api" && -x "$bin/frontend" ]]; then
    echo "==> building the release binaries (cargo build --release; only what changed is recompiled)"
  else
    echo "==> building the release binaries (cargo build --release): the first build compiles every dependency,"
    echo "    about 5 minutes on a 2-core machine before anything answers; later runs take seconds"
  fi
  cargo build --release --locked -p backend-api -p frontend
}

run_local() {
  (($# == 0)) || die "local takes no options (ports: LOCAL_UI_PORT, LOCAL_API_PORT, LOCAL_PG_PORT)"
  require cargo "install Rust with rustup"
  require curl "apt-get install curl"
  ensure_postgres_installed
  local dir bin
  dir="$(local_data_dir)"

  bin="$(stack_target_dir)/release"
  build_release_binaries "$bin"

  trap on_local_signal INT TERM
  trap stop_local EXIT
  start_local_postgres "$dir"
  ensure_local_app_role "$dir"

  # One key kept with the data, so sessions and CSRF cookies survive a restart of the command.
  [[ -s "$dir/secret_key" ]] || (umask 077 && random_token 48 >"$dir/secret_key")

  echo "==> starting backend-api on 127.0.0.1:$LOCAL_API_PORT"
  DATABASE_URL="$LOCAL_DATABASE_URL" HOST=127.0.0.1 PORT="$LOCAL_API_PORT" METRICS_PORT=0 \
    RUST_LOG="${RUST_LOG:-info}" stack_start_service backend-api "http://127.0.0.1:$LOCAL_API_PORT/ready" \
    "$dir/backend-api.log" "$bin/backend-api"

  echo "==> starting frontend on 127.0.0.1:$LOCAL_UI_PORT"
  BACKEND_API_URL="http://127.0.0.1:$LOCAL_API_PORT" HOST=127.0.0.1 PORT="$LOCAL_UI_PORT" METRICS_PORT=0 \
    SECRET_KEY="$(cat "$dir/secret_key")" RUST_LOG="${RUST_LOG:-info}" \
    stack_start_service frontend "http://127.0.0.1:$LOCAL_UI_PORT/ready" "$dir/frontend.log" "$bin/frontend"

  cat <<EOF

taskmgr is running locally: http://localhost:$LOCAL_UI_PORT
  API: curl http://localhost:$LOCAL_UI_PORT/api/tasks   (or the backend itself on port $LOCAL_API_PORT)
  logs: $dir/{backend-api,frontend,postgres}.log
Press Ctrl-C to stop all three (the data stays in $dir/pgdata).
EOF
  # Returns when either service exits (or on Ctrl-C, through the trap).
  wait -n "${STACK_PIDS[@]}" || true
  echo "a service exited; see the logs in $dir" >&2
  stop_local
  return 1
}
