#!/usr/bin/env bash
# Entrypoint of the offline PostgreSQL stand-in image (built by scripts/offline-images.sh).
# It behaves like the official image's entrypoint for what taskmgr uses: on the first start it initialises PGDATA
# with POSTGRES_USER (default postgres) and POSTGRES_PASSWORD, creates POSTGRES_DB (default: the user's name), runs
# /docker-entrypoint-initdb.d/*.sql and *.sh, and it always serves as the postgres user on all addresses with
# scram-sha-256 password authentication over TCP. Started as root, it fixes PGDATA's owner and drops to postgres;
# started as another user (Kubernetes runAsUser), it runs as that user.
set -euo pipefail

log() { printf '[entrypoint] %s\n' "$*" >&2; }

# As root: own the data directory, then run this script again as postgres.
drop_root() {
  mkdir -p "$PGDATA"
  chown -R postgres:postgres "$PGDATA"
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
}

run_initdb_scripts() {
  local file
  for file in /docker-entrypoint-initdb.d/*; do
    case "$file" in
      *.sql)
        log "running $file"
        psql -v ON_ERROR_STOP=1 --no-password --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -f "$file"
        ;;
      *.sh)
        log "running $file"
        # shellcheck disable=SC1090 # user-provided init scripts, as in the official image
        . "$file"
        ;;
      *) ;;
    esac
  done
}

init_cluster() {
  if [[ -z "${POSTGRES_PASSWORD:-}" ]]; then
    log "ERROR: the database is uninitialised and POSTGRES_PASSWORD is not set"
    exit 1
  fi
  log "initialising $PGDATA for user $POSTGRES_USER"
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of options, as in the official image
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    --auth-local=trust --auth-host=scram-sha-256 ${POSTGRES_INITDB_ARGS:-} >/dev/null
  printf "listen_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
  printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"

  # A server on the Unix socket only, so nothing connects before the database exists.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  if [[ "$POSTGRES_DB" != postgres ]]; then
    # A superuser session pins search_path (scripts/lib/pg-superuser.sh; this file goes into the image alone).
    PGOPTIONS='-c search_path=pg_catalog,pg_temp' psql -v ON_ERROR_STOP=1 --no-password --username "$POSTGRES_USER" \
      --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";' >/dev/null
  fi
  run_initdb_scripts
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  log "initialised; starting"
}

main() {
  if [[ "${1:-}" == -* ]]; then
    set -- postgres "$@"
  fi
  if [[ "${1:-}" == postgres ]]; then
    if [[ "$(id -u)" == 0 ]]; then
      drop_root "$@"
    fi
    export POSTGRES_USER="${POSTGRES_USER:-postgres}"
    export POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
    if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
      init_cluster
    fi
  fi
  exec "$@"
}

main "$@"
