# shellcheck shell=bash
# `./deploy.sh local`: the whole application without containers or a cluster. A PostgreSQL kept in a local
# data folder across runs, the release builds of backend-api and frontend as local processes, the UI on
# localhost:30080. Ctrl-C (or SIGTERM) stops all three. Sourced by deploy.sh, which sets ROOT and die().

# shellcheck source=scripts/lib/random-token.sh
source "$ROOT/scripts/lib/random-token.sh"

LOCAL_UI_PORT="${LOCAL_UI_PORT:-30080}"
LOCAL_API_PORT="${LOCAL_API_PORT:-5000}"
LOCAL_PG_PORT="${LOCAL_PG_PORT:-55432}"
LOCAL_DB=taskmgr
LOCAL_DB_USER=taskmgr
LOCAL_APP_DB_USER=taskmgr_app
LOCAL_DATABASE_URL=""
LOCAL_PIDS=()
PG_BIN=""
PG_DATA=""
PG_PASSWORD_FILE=""

# A directory holding the server and client programs used here (initdb, pg_ctl, psql, createdb): the one of
# initdb on PATH (resolving symlinks), pg_config --bindir, or Debian's newest /usr/lib/postgresql/<version>/bin.
find_postgres_bin() {
  local dir candidates=() debian=()
  if command -v initdb >/dev/null 2>&1; then
    candidates+=("$(dirname "$(readlink -f "$(command -v initdb)")")")
  fi
  if command -v pg_config >/dev/null 2>&1; then
    candidates+=("$(pg_config --bindir)")
  fi
  mapfile -t debian < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r)
  candidates+=("${debian[@]}")
  for dir in "${candidates[@]}"; do
    if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" && -x "$dir/psql" && -x "$dir/createdb" ]]; then
      echo "$dir"
      return
    fi
  done
  return 1
}

ensure_postgres_installed() {
  if PG_BIN="$(find_postgres_bin)"; then
    return
  fi
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "PostgreSQL is not installed: installing Debian's postgresql package with apt-get (running as root)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    PG_BIN="$(find_postgres_bin)" || die "PostgreSQL still not found after installing it"
    return
  fi
  die "PostgreSQL server binaries (initdb, pg_ctl) not found: install them (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql@16) or put them on PATH"
}

# PostgreSQL refuses to run as root: as root, run its commands as the postgres user.
as_pg_owner() {
  if [[ "$(id -u)" == 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

local_data_dir() {
  local dir="${TASKMGR_LOCAL_DATA:-$ROOT/.local/deploy-local}"
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
  if [[ ! -s "$PG_PASSWORD_FILE" ]]; then
    (umask 077 && random_token 24 >"$PG_PASSWORD_FILE")
  fi
  chmod 600 "$PG_PASSWORD_FILE"
  if [[ "$(id -u)" == 0 ]]; then chown postgres: "$PG_PASSWORD_FILE"; fi
}

# psql or createdb against the local server, with the password from its file (never on a command line).
pg_client() {
  local tool="$1"
  shift
  PGPASSWORD="$(cat "$PG_PASSWORD_FILE")" "$PG_BIN/$tool" -h 127.0.0.1 -p "$LOCAL_PG_PORT" -U "$LOCAL_DB_USER" "$@"
}

init_local_postgres() {
  local dir="$1"
  echo "==> initialising a PostgreSQL cluster in $PG_DATA (kept across runs)"
  mkdir -p "$PG_DATA"
  if [[ "$(id -u)" == 0 ]]; then chown postgres: "$PG_DATA"; fi
  as_pg_owner "$PG_BIN/initdb" -D "$PG_DATA" -U "$LOCAL_DB_USER" --auth=scram-sha-256 \
    --pwfile="$PG_PASSWORD_FILE" -E UTF8 >"$dir/initdb.log" 2>&1 || die "initdb failed, see $dir/initdb.log"
}

# A data folder made by an older deploy.sh trusts every local connection: give the role its password, then
# require it (the server is running; pg_hba.conf is reread on reload).
require_password_on_old_cluster() {
  grep -Eq '^[^#]*[[:space:]]trust([[:space:]]|$)' "$PG_DATA/pg_hba.conf" || return 0
  echo "==> this data folder trusted local connections: setting a password (in $PG_PASSWORD_FILE) and requiring it"
  printf "ALTER ROLE %s PASSWORD '%s';\n" "$LOCAL_DB_USER" "$(cat "$PG_PASSWORD_FILE")" |
    "$PG_BIN/psql" -h 127.0.0.1 -p "$LOCAL_PG_PORT" -U "$LOCAL_DB_USER" -d postgres -qX -v ON_ERROR_STOP=1 -f - ||
    die "could not set the database password"
  as_pg_owner sed -i -E 's/^([^#]*[[:space:]])trust([[:space:]]|$)/\1scram-sha-256\2/' "$PG_DATA/pg_hba.conf"
  as_pg_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" reload >/dev/null
}

start_local_postgres() {
  local dir="$1"
  PG_DATA="$dir/pgdata"
  ensure_pg_password "$dir"
  [[ -s "$PG_DATA/PG_VERSION" ]] || init_local_postgres "$dir"
  echo "==> starting PostgreSQL on 127.0.0.1:$LOCAL_PG_PORT (password required)"
  if [[ "$(id -u)" == 0 ]]; then touch "$dir/postgres.log" && chown postgres: "$dir/postgres.log"; fi
  as_pg_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$dir/postgres.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $LOCAL_PG_PORT -c unix_socket_directories=''" start </dev/null >/dev/null ||
    die "PostgreSQL did not start, see $dir/postgres.log"
  require_password_on_old_cluster
  if ! pg_client psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$LOCAL_DB'" | grep -q 1; then
    pg_client createdb "$LOCAL_DB"
  fi
}

# The backend's own role (db/app-role.sql: owns its schema and nothing more), set up as the superuser after
# PostgreSQL started, with a random password kept with the data (mode 600). Sets LOCAL_DATABASE_URL for the backend.
ensure_local_app_role() {
  local dir="$1" password
  [[ -s "$dir/app_db_password" ]] || (umask 077 && random_token 24 >"$dir/app_db_password")
  password="$(cat "$dir/app_db_password")"
  APP_DB_USER="$LOCAL_APP_DB_USER" APP_DB_PASSWORD="$password" \
    pg_client psql -X -q -v ON_ERROR_STOP=1 -d "$LOCAL_DB" -f "$ROOT/db/app-role.sql" ||
    die "could not set up the backend's database role with db/app-role.sql (psql 15 or newer is needed)"
  LOCAL_DATABASE_URL="postgres://$LOCAL_APP_DB_USER:$password@127.0.0.1:$LOCAL_PG_PORT/$LOCAL_DB"
}

on_local_signal() {
  stop_local
  exit 130
}

stop_local() {
  trap - INT TERM EXIT
  echo
  echo "==> stopping taskmgr (local)"
  local pid
  for pid in "${LOCAL_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${LOCAL_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [[ -n "$PG_DATA" && -f "$PG_DATA/postmaster.pid" ]]; then
    as_pg_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

cargo_target_dir() {
  if [[ -n "${CARGO_TARGET_DIR:-}" ]]; then
    echo "$CARGO_TARGET_DIR"
    return
  fi
  cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])'
}

# Waits (bounded) until url answers 200.
wait_ready() {
  local name="$1" url="$2" log="$3" pid="$4" i
  for ((i = 0; i < 120; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 20 "$log" >&2
      die "$name exited during start-up, see $log"
    fi
    if curl -fsS -o /dev/null "$url" 2>/dev/null; then
      return
    fi
    sleep 0.5
  done
  tail -n 20 "$log" >&2
  die "$name not ready after 60 s, see $log"
}

# The first build compiles every dependency (about 5 minutes on 2 cores, see README.md); say so before it starts.
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
  command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust with rustup"
  command -v curl >/dev/null 2>&1 || die "curl not found: apt-get install curl"
  ensure_postgres_installed
  local dir bin
  dir="$(local_data_dir)"

  bin="$(cargo_target_dir)/release"
  build_release_binaries "$bin"

  trap on_local_signal INT TERM
  trap stop_local EXIT
  start_local_postgres "$dir"
  ensure_local_app_role "$dir"

  # One key kept with the data, so sessions and CSRF cookies survive a restart of the command.
  [[ -s "$dir/secret_key" ]] || (umask 077 && random_token 48 >"$dir/secret_key")

  echo "==> starting backend-api on 127.0.0.1:$LOCAL_API_PORT"
  DATABASE_URL="$LOCAL_DATABASE_URL" HOST=127.0.0.1 PORT="$LOCAL_API_PORT" METRICS_PORT=0 \
    RUST_LOG="${RUST_LOG:-info}" "$bin/backend-api" </dev/null >"$dir/backend-api.log" 2>&1 &
  LOCAL_PIDS+=("$!")
  wait_ready backend-api "http://127.0.0.1:$LOCAL_API_PORT/ready" "$dir/backend-api.log" "$!"

  echo "==> starting frontend on 127.0.0.1:$LOCAL_UI_PORT"
  BACKEND_API_URL="http://127.0.0.1:$LOCAL_API_PORT" HOST=127.0.0.1 PORT="$LOCAL_UI_PORT" METRICS_PORT=0 \
    SECRET_KEY="$(cat "$dir/secret_key")" RUST_LOG="${RUST_LOG:-info}" \
    "$bin/frontend" </dev/null >"$dir/frontend.log" 2>&1 &
  LOCAL_PIDS+=("$!")
  wait_ready frontend "http://127.0.0.1:$LOCAL_UI_PORT/ready" "$dir/frontend.log" "$!"

  cat <<EOF

taskmgr is running locally: http://localhost:$LOCAL_UI_PORT
  API: curl http://localhost:$LOCAL_UI_PORT/api/tasks   (or the backend itself on port $LOCAL_API_PORT)
  logs: $dir/{backend-api,frontend,postgres}.log
Press Ctrl-C to stop all three (the data stays in $dir/pgdata).
EOF
  # Returns when either service exits (or on Ctrl-C, through the trap).
  wait -n "${LOCAL_PIDS[@]}" || true
  echo "a service exited; see the logs in $dir" >&2
  stop_local
  return 1
}
