# shellcheck shell=bash
# shellcheck disable=SC2016 # the single-quoted scripts are expanded by the target's sh, with their own "$1"...
# `./deploy.sh backup` and `./deploy.sh restore`: a pg_dump (custom format) of the tasks database, and its safe
# restore, on each deploy path. Sourced by deploy.sh, which sets ROOT and provides die, random_token, step, kc,
# cluster_context_or_die, NO_CLUSTER_HINT and compose. Design and refusals: docs/RELIABILITY.md ("Backup and
# restore").
#
# Every database command runs where the database is, as its owner (the superuser the deploy path created, with
# search_path pinned to pg_catalog, pg_temp: the app role owns public, and nothing it made there runs as superuser):
# kind: `kubectl exec -i deploy/postgres`, compose: `compose exec -T postgres`, with the credentials in the
# container's environment; local: the PostgreSQL programs of `./deploy.sh local`, with its password file. The dump
# file only travels through stdin and stdout, so nothing is written inside a container (read-only root file
# systems, a small /tmp), and the server's own pg_restore reads it (a host's older pg_restore cannot).

# deploy.sh changes to ROOT before sourcing this file: a relative FILE is the caller's, the directory cd left.
BACKUP_CALLER_DIR="${OLDPWD:-$PWD}"
BACKUP_TARGET=kind
# A restore's own role and scratch database (one name, per run, so restores never share them): the role is no
# superuser; it owns the scratch database, builds the schema there from this checkout's migrations, loads only the
# file's rows, and replaces the live rows as a member of the tasks table's owner (the app role). So nothing from a
# file, and nothing the app role planted, ever runs as superuser. Both are dropped after each restore.
BACKUP_RESTORE_PREFIX=taskmgr_restore_
RESTORE_ROLE=""
RESTORE_PASSWORD=""
TASKS_OWNER=""
BACKUP_MIGRATIONS="$ROOT/crates/backend-api/migrations"
# The restore's lock on the tasks table: tries of BACKUP_LOCK_TRY each, a pause between them, at most
# BACKUP_LOCK_TRIES tries (10 s in all); past them it stops and changes nothing (the backend's own statements hold
# locks at most its 5 s statement timeout). While a try waits, new reads and writes queue behind it: they wait at
# most one try.
BACKUP_LOCK_TRY=300ms
BACKUP_LOCK_PAUSE=0.1
BACKUP_LOCK_TRIES=25
# shellcheck source=scripts/lib/pg-superuser.sh
source "$ROOT/scripts/lib/pg-superuser.sh"
# In the container: the owner's credentials from the environment the image's entrypoint uses.
CONTAINER_DB_ENV='export PGUSER="$POSTGRES_USER" PGPASSWORD="$POSTGRES_PASSWORD" PGDATABASE="${POSTGRES_DB:-$POSTGRES_USER}" PGOPTIONS="$1"; shift; '
LOCAL_BACKUP_DATA=""
LOCAL_BACKUP_PORT=""

# caller_path FILE: FILE as an absolute path, relative ones taken from the caller's directory.
caller_path() {
  case "$1" in
    /*) echo "$1" ;;
    *) echo "$BACKUP_CALLER_DIR/$1" ;;
  esac
}

# db_sh SCRIPT [ARG...]: runs the POSIX sh SCRIPT (with ARGs as $1...) where the database is, with PGUSER,
# PGPASSWORD and PGDATABASE set to the owner's; stdin and stdout pass through (the dump travels on them).
db_sh() {
  local script="$1"
  shift
  case "$BACKUP_TARGET" in
    kind) kc exec -i deploy/postgres -c postgres -- sh -c "$CONTAINER_DB_ENV$script" sh "$SUPERUSER_PGOPTIONS" "$@" ;;
    compose) compose exec -T postgres sh -c "$CONTAINER_DB_ENV$script" sh "$SUPERUSER_PGOPTIONS" "$@" ;;
    local) local_db_sh "$script" "$@" ;;
  esac
}

# The `./deploy.sh local` server: its programs and port, the password from its file (exported, never an argument).
local_db_sh() (
  PGPASSWORD="$(cat "$LOCAL_BACKUP_DATA/pg-password")"
  export PGHOST=127.0.0.1 PGPORT="$LOCAL_BACKUP_PORT" PGUSER="$LOCAL_DB_USER" PGDATABASE="$LOCAL_DB" PGPASSWORD \
    PGOPTIONS="$SUPERUSER_PGOPTIONS"
  PATH="$STACK_PG_BIN:$PATH"
  exec sh -c "$1" sh "${@:2}"
)

# as_restorer SCRIPT [ARG...]: db_sh as the restore's own role (no superuser, the default search_path); its
# password is the first line of stdin, never an argument.
as_restorer() {
  local script="$1"
  shift
  { printf '%s\n' "$RESTORE_PASSWORD"; cat; } |
    db_sh 'read -r PGPASSWORD; PGUSER="$1"; shift; unset PGOPTIONS; export PGUSER PGPASSWORD; '"$script" "$RESTORE_ROLE" "$@"
}

# db_query SQL: the rows of one query on the live database, unaligned, without headers.
db_query() {
  db_sh 'psql -X -tA -v ON_ERROR_STOP=1 -c "$1"' "$1" </dev/null
}

# Checks that the chosen deploy path's database runs and answers, with one line saying why not.
require_database() {
  case "$BACKUP_TARGET" in
    kind) cluster_context_or_die "$NO_CLUSTER_HINT" ;;
    compose) require_compose_postgres ;;
    local) require_local_postgres ;;
  esac
  local errors
  errors="$(mktemp)"
  db_query "SELECT 1" >/dev/null 2>"$errors" ||
    die "cannot reach the tasks database ($BACKUP_TARGET): $(last_error_line "$errors"); nothing was changed"
  rm -f "$errors"
}

require_compose_postgres() {
  local id
  id="$(compose ps -q postgres 2>/dev/null || true)"
  [[ -n "$id" && "$(docker inspect -f '{{.State.Running}}' "$id" 2>/dev/null)" == true ]] ||
    die "the compose stack's postgres container is not running: start the stack with ./deploy.sh compose -d (project ${COMPOSE_PROJECT_NAME:-$(basename "$ROOT")})"
}

# The server `./deploy.sh local` started on its data folder (TASKMGR_LOCAL_DATA): its port is the 4th line of
# postmaster.pid, so a backup finds it whatever LOCAL_PG_PORT it was started with.
require_local_postgres() {
  # shellcheck source=scripts/deploy-local.sh
  source "$ROOT/scripts/deploy-local.sh"
  stack_require_postgres
  LOCAL_BACKUP_DATA="$(local_data_path)" # a backup creates no folder
  local pid_file="$LOCAL_BACKUP_DATA/pgdata/postmaster.pid"
  [[ -s "$pid_file" ]] && LOCAL_BACKUP_PORT="$(sed -n 4p "$pid_file")"
  if [[ -z "$LOCAL_BACKUP_PORT" ]] || ! "$STACK_PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$LOCAL_BACKUP_PORT"; then
    die "the local PostgreSQL is not running (data folder $LOCAL_BACKUP_DATA): start ./deploy.sh local in another terminal (with the same TASKMGR_LOCAL_DATA), then retry"
  fi
}

# parse_arguments COMMAND ARG...: sets BACKUP_TARGET (--kind, --compose, --local), BACKUP_FILE and, for restore,
# BACKUP_FORCE (--force), in any order.
BACKUP_FILE=""
BACKUP_FORCE=0
parse_arguments() {
  local command="$1"
  shift
  while (($#)); do
    case "$1" in
      --kind | --compose | --local) BACKUP_TARGET="${1#--}" ;;
      --force)
        [[ "$command" == restore ]] || die "unknown option for $command: $1 (see --help)"
        BACKUP_FORCE=1
        ;;
      -*) die "unknown option for $command: $1 (see --help)" ;;
      *)
        [[ -z "$BACKUP_FILE" ]] || die "$command takes one FILE (see --help)"
        BACKUP_FILE="$1"
        ;;
    esac
    shift
  done
}

# What a dump holds, read in full by the server's pg_restore (so a truncated file fails here, not half-way through
# a restore): prints "tasks N", one "version V" per applied migration, and "status S" (pg_restore's exit status).
DUMP_SUMMARY_SCRIPT='{ pg_restore -f -; echo "pg_restore-status $?"; } | awk '\''
  /^COPY public\.tasks / { table = "tasks"; next }
  /^COPY public\.__diesel_schema_migrations / { table = "versions"; next }
  /^\\\.$/ { table = ""; next }
  table == "tasks" { tasks++ }
  table == "versions" { split($0, field, "\t"); print "version " field[1] }
  table == "" && /^pg_restore-status / { print "status " $2 }
  END { print "tasks " tasks + 0 }'\'

# dump_summary FILE: sets DUMP_TASKS and DUMP_VERSIONS, or stops with one line: FILE is missing, not a
# pg_dump archive, not taskmgr's, or incomplete.
DUMP_TASKS=0
DUMP_VERSIONS=()
DUMP_TOC=""
dump_summary() {
  local file="$1" toc errors summary status
  [[ -e "$file" ]] || die "no such file: $file (nothing was changed)"
  [[ -f "$file" && -r "$file" ]] || die "not a readable file: $file (nothing was changed)"
  errors="$(mktemp)"
  if ! toc="$(db_sh 'pg_restore --list' <"$file" 2>"$errors")"; then
    die "$file is not a pg_dump archive, or is cut short ($(last_error_line "$errors")); nothing was changed"
  fi
  if ! grep -q 'TABLE DATA public tasks ' <<<"$toc" ||
    ! grep -q 'TABLE DATA public __diesel_schema_migrations ' <<<"$toc"; then
    rm -f "$errors"
    die "$file is a pg_dump archive but not of taskmgr's database (no tasks or __diesel_schema_migrations data); nothing was changed"
  fi
  summary="$(db_sh "$DUMP_SUMMARY_SCRIPT" <"$file" 2>"$errors")" || true
  status="$(sed -n 's/^status //p' <<<"$summary")"
  [[ "$status" == 0 ]] ||
    die "$file is incomplete or damaged ($(last_error_line "$errors")); nothing was changed"
  rm -f "$errors"
  DUMP_TOC="$toc"
  DUMP_TASKS="$(sed -n 's/^tasks //p' <<<"$summary")"
  mapfile -t DUMP_VERSIONS < <(sed -n 's/^version //p' <<<"$summary" | LC_ALL=C sort)
}

# last_error_line FILE: the last line a command (pg_restore, psql, kubectl) wrote to FILE, which is then removed.
last_error_line() {
  local line
  line="$(grep -v '^[[:space:]]*$' "$1" | tail -n 1)"
  rm -f "$1"
  echo "${line:-no output}"
}

# last_of ITEM...: the last argument, or "none".
last_of() {
  if (($#)); then echo "${!#}"; else echo none; fi
}

# ---------------------------------------------------------------- backup

BACKUP_PARTIAL=""

# The dump is written to a new file of mode 600 made next to FILE (mktemp: exclusive, so no planted file or symlink
# is followed or reused) and published with `ln`, which fails if FILE appeared meanwhile: a backup never overwrites.
run_backup() {
  parse_arguments backup "$@"
  local file
  file="$(caller_path "${BACKUP_FILE:-taskmgr-backup-$(date -u +%Y%m%dT%H%M%SZ).dump}")"
  [[ ! -e "$file" ]] || die "$file exists: choose another name or move it away (a backup never overwrites a file)"
  require_database
  step "backing up the tasks database ($BACKUP_TARGET) to $file"
  # Mode 600 (the dump holds every task), under a temporary name until it is complete and checked; removed on
  # any failure, so a file with the final name is always a whole backup.
  # `>` on that file, not `>>`: pg_dump seeks back to write the table of contents' offsets, which O_APPEND defeats.
  BACKUP_PARTIAL="$(mktemp --suffix=.partial -- "$file.XXXXXX")" || die "cannot create a file next to $file"
  trap 'rm -f -- "$BACKUP_PARTIAL"' EXIT
  db_sh 'exec pg_dump --format=custom' </dev/null >"$BACKUP_PARTIAL" ||
    die "pg_dump failed (above); no backup was written"
  dump_summary "$BACKUP_PARTIAL"
  ln -T -- "$BACKUP_PARTIAL" "$file" 2>/dev/null ||
    die "$file appeared during the backup: choose another name or move it away (a backup never overwrites a file)"
  rm -f -- "$BACKUP_PARTIAL"
  trap - EXIT
  echo "backup: $file ($DUMP_TASKS tasks, schema version $(last_of "${DUMP_VERSIONS[@]}"), $(wc -c <"$file") bytes)"
}

# ---------------------------------------------------------------- restore

LIVE_TASKS=0
LIVE_VERSIONS=()
# Sets LIVE_TASKS and LIVE_VERSIONS from the running database, which must have the backend's schema.
live_state() {
  local exists state
  exists="$(db_query "SELECT to_regclass('public.__diesel_schema_migrations') IS NOT NULL
    AND to_regclass('public.tasks') IS NOT NULL")" || die "could not query the database (above); nothing was changed"
  [[ "$exists" == t ]] ||
    die "the database has no taskmgr schema yet: start the stack once (the backend creates it), then restore; nothing was changed"
  state="$(db_query "SELECT 'tasks ' || count(*) FROM public.tasks UNION ALL
    SELECT 'version ' || version FROM public.__diesel_schema_migrations")" ||
    die "could not query the database (above); nothing was changed"
  LIVE_TASKS="$(sed -n 's/^tasks //p' <<<"$state")"
  mapfile -t LIVE_VERSIONS < <(sed -n 's/^version //p' <<<"$state" | LC_ALL=C sort)
}

# The migrations the live database has and the dump lacks, oldest first; stops if the dump has one the live
# database lacks (it was made by a newer taskmgr, whose schema this backend cannot serve).
MISSING_VERSIONS=()
compare_versions() {
  local newer
  newer="$(LC_ALL=C comm -23 <(printf '%s\n' "${DUMP_VERSIONS[@]}") <(printf '%s\n' "${LIVE_VERSIONS[@]}") | paste -sd ' ')"
  [[ -z "$newer" ]] ||
    die "the backup was made by a newer taskmgr (migration $newer, which the running database lacks): deploy that version first, then restore; nothing was changed"
  mapfile -t MISSING_VERSIONS < <(LC_ALL=C comm -13 <(printf '%s\n' "${DUMP_VERSIONS[@]}") <(printf '%s\n' "${LIVE_VERSIONS[@]}"))
}

# migration_dir VERSION: the migration's directory, as diesel names versions (the name before "_", dashes dropped).
migration_dir() {
  local dir name
  for dir in "$BACKUP_MIGRATIONS"/*/; do
    name="$(basename "$dir")"
    name="${name%%_*}"
    if [[ "${name//-/}" == "$1" ]]; then
      echo "${dir%/}"
      return
    fi
  done
  die "the database has migration $1, which $BACKUP_MIGRATIONS lacks: restore with the taskmgr checkout that is deployed; nothing was changed"
}

# The restore's role and scratch database, made by the superuser: the role may log in (with a random password,
# sent once), is a member of the tasks table's owner (to replace the live rows) and owns the scratch database.
# Refuses a tasks table owned by a superuser (db/app-role.sql hands it to the app role on every deploy path).
create_restorer() {
  local owner
  owner="$(db_query "SELECT r.rolname || '|' || r.rolsuper FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
    WHERE c.oid = 'public.tasks'::regclass")" || die "could not read the tasks table's owner (above); nothing was changed"
  [[ "${owner#*|}" == false ]] ||
    die "the tasks table belongs to the superuser ${owner%|*}: start the stack once (db/app-role.sql hands it to the backend's role), then restore; nothing was changed"
  TASKS_OWNER="${owner%|*}"
  RESTORE_ROLE="$BACKUP_RESTORE_PREFIX$(random_token 6)"
  RESTORE_PASSWORD="$(random_token 24)"
  trap drop_restorer EXIT
  printf '%s\n' "$RESTORE_PASSWORD" | db_sh 'read -r RESTORE_PASSWORD; export RESTORE_PASSWORD
    printf "%s\n" "\\getenv password RESTORE_PASSWORD" \
      "SELECT pg_encoding_to_char(encoding) AS encoding FROM pg_database WHERE datname = current_database() \\gset" \
      "CREATE ROLE :\"role\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'"'"'password'"'"';" \
      "GRANT :\"owner\" TO :\"role\";" \
      "CREATE DATABASE :\"role\" OWNER :\"role\" TEMPLATE template0 ENCODING :'"'"'encoding'"'"';" |
    psql -X -q -v ON_ERROR_STOP=1 -v role="$1" -v owner="$2" -f -' "$RESTORE_ROLE" "$TASKS_OWNER" >/dev/null ||
    die "could not create the restore's role and scratch database $RESTORE_ROLE (above); nothing was changed"
}

# Drops the scratch database and the restore's role (with anything it came to own), whatever happened.
drop_restorer() {
  [[ -n "$RESTORE_ROLE" ]] || return 0
  db_sh 'psql -X -q -v role="$1" -c "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)" -c "DROP OWNED BY \"$1\"" \
    -c "DROP ROLE IF EXISTS \"$1\""' "$RESTORE_ROLE" </dev/null >/dev/null 2>&1 ||
    echo "warning: could not drop the restore's role or database $RESTORE_ROLE; drop them by hand" >&2
  RESTORE_ROLE=""
}

# The archive's table of contents as comparable lines: entry kind, schema and name (no ids, no owner).
toc_objects() {
  sed -E -n 's/^[0-9]+; [0-9]+ [0-9]+ (.*) [^ ]*$/\1/p' | LC_ALL=C sort -u
}

# As the restore's role, in the scratch database: diesel's table and this checkout's migrations up to the dump's
# version, then only the dump's rows of tasks and __diesel_schema_migrations (pg_restore --data-only with a list of
# those two entries). Every other object in the file is skipped and named.
load_scratch() {
  local file="$1" version dir sql list skipped
  sql="CREATE TABLE __diesel_schema_migrations (version varchar(50) PRIMARY KEY NOT NULL,
    run_on timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP);"
  for version in "${DUMP_VERSIONS[@]}"; do
    dir="$(migration_dir "$version")"
    sql+=$'\n'"$(cat "$dir/up.sql")"
  done
  printf '%s\n' "$sql" | as_restorer 'psql -X -q -v ON_ERROR_STOP=1 --single-transaction -d "$1" -f -' "$RESTORE_ROLE" ||
    die "could not build the backup's schema from $BACKUP_MIGRATIONS (above); nothing was changed"
  skipped="$(LC_ALL=C comm -23 <(toc_objects <<<"$DUMP_TOC" | grep -Ev '^(TABLE DATA public (tasks|__diesel_schema_migrations)|SCHEMA - public)$') \
    <(as_restorer 'pg_dump --schema-only --format=custom -d "$1" | pg_restore --list' "$RESTORE_ROLE" </dev/null | toc_objects))"
  if [[ -n "$skipped" ]]; then
    echo "skipped (not made by taskmgr's migrations; a restore takes only the rows of tasks and __diesel_schema_migrations):"
    echo "  ${skipped//$'\n'/$'\n'  }"
  fi
  list="$(grep -E '^[0-9]+; [0-9]+ [0-9]+ TABLE DATA public (tasks|__diesel_schema_migrations) ' <<<"$DUMP_TOC")"
  as_restorer 'pg_restore --data-only --exit-on-error --single-transaction -L /dev/fd/3 -d "$1" 3<<EOF
$2
EOF' "$RESTORE_ROLE" "$list" <"$file" ||
    die "could not load the backup's rows into the scratch database (above); nothing was changed"
}

# Each missing migration's up.sql in the scratch database, recorded as diesel records it, in one transaction each.
migrate_scratch() {
  local version dir
  for version in "${MISSING_VERSIONS[@]}"; do
    dir="$(migration_dir "$version")"
    echo "migrating the backup's rows: $(basename "$dir")"
    {
      cat "$dir/up.sql"
      printf "\nINSERT INTO __diesel_schema_migrations (version) VALUES ('%s');\n" "$version"
    } | as_restorer 'psql -X -q -v ON_ERROR_STOP=1 --single-transaction -d "$1" -f -' "$RESTORE_ROLE" ||
      die "migration $version failed on the backup's rows (above); nothing was changed"
  done
}

# The rows of the scratch database replace the live ones in ONE transaction, as the tasks table's owner (so its
# triggers, checks and index expressions never run as superuser): the table is locked (readers and writers wait),
# emptied and filled with COPY, and the count checked before COMMIT; any failure rolls it all back (a row the
# table's checks refuse, e.g. an oversized description, included). Without --force, the lock is taken first and
# the table must still be empty (a task created since the check stops it). The scratch side streams through a pipe
# (no pipefail in sh): the count check catches a cut stream.
replace_rows() {
  local force="$1" columns guard lock
  columns="$(db_query "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
    WHERE attrelid = 'public.tasks'::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''")" || die "could not read the tasks table's columns (above); nothing was changed"
  lock="DO \$\$ BEGIN
    FOR attempt IN 1..$BACKUP_LOCK_TRIES LOOP
      BEGIN LOCK TABLE public.tasks IN ACCESS EXCLUSIVE MODE; RETURN;
      EXCEPTION WHEN lock_not_available THEN PERFORM pg_catalog.pg_sleep($BACKUP_LOCK_PAUSE); END;
    END LOOP;
    RAISE EXCEPTION 'other sessions kept the tasks table locked through $BACKUP_LOCK_TRIES tries of $BACKUP_LOCK_TRY';
  END \$\$"
  guard="SET LOCAL application_name = 'taskmgr restore --force'"
  if ((!force)); then
    guard="DO \$\$ BEGIN IF EXISTS (SELECT FROM public.tasks) THEN
      RAISE EXCEPTION 'tasks were created during the restore: nothing was changed (--force replaces them)'; END IF; END \$\$"
  fi
  as_restorer 'psql -X -q -v ON_ERROR_STOP=1 -d "$1" -c "COPY (SELECT $2 FROM public.tasks) TO STDOUT" |
    psql -X -q -v ON_ERROR_STOP=1 --single-transaction -c "$3" -c "$4" -c "$5" -c "$6" -c "DELETE FROM public.tasks" \
      -c "\\copy public.tasks ($2) FROM pstdin" -c "$7"' \
    "$RESTORE_ROLE" "$columns" "SET LOCAL ROLE \"$TASKS_OWNER\"" "SET LOCAL lock_timeout = '$BACKUP_LOCK_TRY'" \
    "$lock" "$guard" \
    "DO \$\$ BEGIN IF (SELECT count(*) FROM public.tasks) <> $DUMP_TASKS THEN
       RAISE EXCEPTION 'restore: % rows arrived instead of $DUMP_TASKS', (SELECT count(*) FROM public.tasks); END IF; END \$\$" \
    </dev/null || die "the restore was rolled back (above); the tasks are as they were"
}

run_restore() {
  parse_arguments restore "$@"
  [[ -n "$BACKUP_FILE" ]] || die "restore needs the FILE written by ./deploy.sh backup (see --help)"
  local file force="$BACKUP_FORCE"
  file="$(caller_path "$BACKUP_FILE")"
  require_database
  step "checking $file"
  dump_summary "$file"
  live_state
  compare_versions
  if ((LIVE_TASKS > 0 && !force)); then
    die "the database holds $LIVE_TASKS tasks; a restore replaces them all: add --force to do so (./deploy.sh backup first keeps them); nothing was changed"
  fi
  step "restoring $DUMP_TASKS tasks ($BACKUP_TARGET; ${#MISSING_VERSIONS[@]} migrations to apply to the backup)"
  create_restorer
  load_scratch "$file"
  migrate_scratch
  replace_rows "$force"
  drop_restorer
  trap - EXIT
  echo "restored: $DUMP_TASKS tasks from $file (they replaced $LIVE_TASKS); schema version $(last_of "${LIVE_VERSIONS[@]}")"
}
