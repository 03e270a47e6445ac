# shellcheck shell=bash
# One way to run taskmgr's parts as local processes on 127.0.0.1: a PostgreSQL cluster from its binaries, the
# services in the background, a bounded wait for each, and one stop for everything. Sourced by `./deploy.sh local`
# (scripts/deploy-local.sh), scripts/bench.sh, and the test scripts through scripts/lib/test-stack.sh.
#
# Every function takes what it needs as arguments; what it keeps is in the STACK_* variables below, which
# stack_stop reads. Errors print one line (prefixed with the running script's name) and exit 1.

STACK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/lib/random-token.sh
source "$STACK_ROOT/scripts/lib/random-token.sh"
# shellcheck source=scripts/lib/die.sh
source "$STACK_ROOT/scripts/lib/die.sh"
# shellcheck source=scripts/lib/stop-pids.sh
source "$STACK_ROOT/scripts/lib/stop-pids.sh"
# shellcheck source=scripts/lib/pg-superuser.sh
source "$STACK_ROOT/scripts/lib/pg-superuser.sh"

STACK_PG_BIN=""  # the PostgreSQL binaries (stack_require_postgres)
STACK_PG_DATA="" # the cluster stack_stop stops (stack_start_postgres)
STACK_PIDS=()    # the services stack_stop stops (stack_start_service)

# The directory of initdb, pg_ctl, psql and createdb: that of initdb on PATH (symlinks resolved), pg_config
# --bindir, or Debian's newest /usr/lib/postgresql/<version>/bin. Prints it, or returns 1.
stack_find_postgres_bin() {
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

# Sets STACK_PG_BIN, or stops saying how to install PostgreSQL.
stack_require_postgres() {
  STACK_PG_BIN="$(stack_find_postgres_bin)" ||
    die "PostgreSQL server binaries (initdb, pg_ctl) not found: install them (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql@16) or put them on PATH"
}

# PostgreSQL refuses to run as root: as root, its commands run as the postgres user (from /, as it may not be
# able to enter the current directory; every path given is absolute).
stack_as_pg_owner() {
  if [[ "$(id -u)" == 0 ]]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# stack_password_file FILE: FILE holds a random password (one it already holds is kept), mode 600, owned by whoever
# runs PostgreSQL (initdb reads it; clients read it as root or as that user).
stack_password_file() {
  [[ -s "$1" ]] || (umask 077 && random_token 24 >"$1")
  chmod 600 "$1"
  if [[ "$(id -u)" == 0 ]]; then chown postgres: "$1"; fi
}

# stack_init_postgres DATA SUPERUSER PASSWORD_FILE [INITDB_ARG...]: a new cluster in DATA (its log next to it,
# DATA.initdb.log). With a password file, connections need that password (scram-sha-256); with "", they are
# trusted, which only throwaway clusters on 127.0.0.1 may do.
stack_init_postgres() {
  local data="$1" superuser="$2" pwfile="$3" auth=(--auth=trust)
  shift 3
  [[ -z "$pwfile" ]] || auth=(--auth=scram-sha-256 "--pwfile=$pwfile")
  mkdir -p "$data"
  if [[ "$(id -u)" == 0 ]]; then chown postgres: "$data"; fi
  stack_as_pg_owner "$STACK_PG_BIN/initdb" -D "$data" -U "$superuser" "${auth[@]}" -E UTF8 "$@" \
    </dev/null >"$data.initdb.log" 2>&1 || die "initdb failed, see $data.initdb.log"
}

# stack_start_postgres DATA PORT LOG [SETTING...]: starts the cluster in DATA on 127.0.0.1:PORT only (no Unix
# socket unless a SETTING such as unix_socket_directories=DIR asks for one), each SETTING passed as `-c SETTING`.
stack_start_postgres() {
  local data="$1" port="$2" log="$3" options setting
  shift 3
  options="-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=''"
  for setting in "$@"; do options+=" -c $setting"; done
  touch "$log"
  if [[ "$(id -u)" == 0 ]]; then chown postgres: "$log"; fi
  STACK_PG_DATA="$data"
  stack_as_pg_owner "$STACK_PG_BIN/pg_ctl" -D "$data" -l "$log" -w -t 30 -o "$options" start </dev/null >/dev/null ||
    die "PostgreSQL did not start (log: $log): $(tail -n 5 "$log")"
}

# stack_app_role PORT SUPERUSER PASSWORD_FILE DB ROLE ROLE_PASSWORD_FILE: creates or updates the backend's own role
# with db/app-role.sql (it owns its schema and nothing more), as the superuser, and prints the backend's
# DATABASE_URL. The role's password is random, kept in ROLE_PASSWORD_FILE (mode 600).
stack_app_role() {
  local port="$1" superuser="$2" pwfile="$3" db="$4" role="$5" role_pwfile="$6"
  stack_password_file "$role_pwfile"
  APP_DB_USER="$role" APP_DB_PASSWORD="$(cat "$role_pwfile")" PGPASSWORD="$(cat "$pwfile")" \
    PGOPTIONS="$SUPERUSER_PGOPTIONS" "$STACK_PG_BIN/psql" -h 127.0.0.1 -p "$port" -U "$superuser" -d "$db" \
    -X -q -v ON_ERROR_STOP=1 -f "$STACK_ROOT/db/app-role.sql" >&2 ||
    die "could not set up the backend's database role with db/app-role.sql (psql 15 or newer is needed)"
  echo "postgres://$role:$(cat "$role_pwfile")@127.0.0.1:$port/$db"
}

# Cargo's target directory (CARGO_TARGET_DIR, or the workspace's).
stack_target_dir() {
  if [[ -n "${CARGO_TARGET_DIR:-}" ]]; then
    echo "$CARGO_TARGET_DIR"
    return
  fi
  cargo metadata --format-version 1 --no-deps --manifest-path "$STACK_ROOT/Cargo.toml" |
    python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])'
}

# stack_wait_ready NAME URL LOG PID: until URL answers 200 (60 s at most), or stops if the process PID exited.
stack_wait_ready() {
  local name="$1" url="$2" log="$3" pid="$4" i
  for ((i = 0; i < 600; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 20 "$log" >&2
      die "$name exited during start-up, see $log"
    fi
    if curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; then
      return
    fi
    sleep 0.1
  done
  tail -n 20 "$log" >&2
  die "$name not ready after 60 s, see $log"
}

# stack_start_service NAME READY_URL LOG COMMAND...: runs COMMAND in the background (the caller sets its
# environment, e.g. `VAR=x stack_start_service ...`), output to LOG, then waits until READY_URL answers.
# Sets STACK_LAST_PID.
stack_start_service() {
  local name="$1" url="$2" log="$3"
  shift 3
  "$@" </dev/null >"$log" 2>&1 &
  STACK_LAST_PID=$!
  STACK_PIDS+=("$STACK_LAST_PID")
  stack_wait_ready "$name" "$url" "$log" "$STACK_LAST_PID"
}

# Stops every service started here (stop_pids: SIGTERM, at most STOP_GRACE s, then SIGKILL), then the PostgreSQL
# cluster. Safe to call twice.
stack_stop() {
  stop_pids "${STACK_PIDS[@]}"
  STACK_PIDS=()
  if [[ -n "$STACK_PG_DATA" && -f "$STACK_PG_DATA/postmaster.pid" ]]; then
    stack_as_pg_owner "$STACK_PG_BIN/pg_ctl" -D "$STACK_PG_DATA" -m fast -w stop </dev/null >/dev/null 2>&1 || true
  fi
  STACK_PG_DATA=""
}
