#!/usr/bin/env bash
# End-to-end test of the container images and docker-compose.yml, with a real Docker engine:
#   1. makes sure an engine runs (starts dockerd when it is installed and not running; stops it again at the end);
#   2. picks the base images: the official ones when present, else local stand-ins (scripts/offline-images.sh);
#   3. builds both images with the real Dockerfiles through docker-compose.yml (only build arguments differ),
#      prints their sizes and fails if either is over 30 MB (30,000,000 bytes, `docker image inspect` .Size);
#      checks with `ldd` in the builder that every library the binaries load is in their runtime image
#      (scripts/e2e-docker/runtime_libs.py), and that a copy of an image without libm.so.6 fails that check;
#   4. starts the stack (both app containers with a read-only root file system), waits for health, then through
#      localhost:30080 drives the UI's forms and /api/tasks;
#   5. recreates the postgres container (the volume keeps the tasks), restarts the backend (the UI recovers
#      without a restart of the frontend);
#   5c. backs the tasks up with ./deploy.sh backup --compose, destroys the stack and its volume (down -v), starts an
#      empty one, restores with ./deploy.sh restore --compose and compares every task field by field;
#   5d. as the backend's role, plants code meant to run as superuser (tests/infra/planted/*.sql), then backs up,
#      restores and re-runs db-role: no superuser role, membership or superuser run of the planted code appears,
#      and the restore names what it skipped;
#   6. checks every container runs as non-root, without capabilities it does not name and with no new privileges,
#      prints image sizes and timings, and tears everything down,
#      leaving no container, network or volume behind, also on failure.
# Every wait is bounded. Usage: scripts/e2e-docker.sh   (as root when dockerd must be started)
# Environment: E2E_UI_PORT (30080), E2E_BUILD_TIMEOUT seconds (2400: a first build compiles every dependency),
# COMPOSE (the compose command; default `docker compose` when available, else `docker-compose`), E2E_PROJECT (the
# compose project, default taskmgr-e2e) and E2E_TAG (the images' tag, default e2e), to keep runs that share one
# Docker engine apart.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib/docker-engine.sh
source "$ROOT/scripts/lib/docker-engine.sh"
# shellcheck source=scripts/lib/die.sh
source "$ROOT/scripts/lib/die.sh"
# shellcheck source=scripts/lib/compose.sh
source "$ROOT/scripts/lib/compose.sh"
PROJECT="${E2E_PROJECT:-taskmgr-e2e}"
IMAGE_TAG="${E2E_TAG:-e2e}"
# The issue's bound on each image, in bytes (decimal MB): docker image inspect's .Size, all layers uncompressed.
MAX_IMAGE_BYTES=30000000
UI_PORT="${E2E_UI_PORT:-30080}"
BASE_URL="http://127.0.0.1:${UI_PORT}"
BUILD_TIMEOUT="${E2E_BUILD_TIMEOUT:-2400}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/taskmgr-e2e-docker.XXXXXX")"
STACK_UP=false

log() { printf '[e2e-docker] %s\n' "$*"; }

# Every compose command is bounded (COMPOSE_TIMEOUT seconds; the build gets BUILD_TIMEOUT).
compose() { timeout "${COMPOSE_TIMEOUT:-300}" "${COMPOSE_CMD[@]}" -p "$PROJECT" -f "$ROOT/docker-compose.yml" "$@"; }

choose_compose() {
  compose_find || die "$COMPOSE_MISSING"
  log "compose: ${COMPOSE_CMD[*]} ($("${COMPOSE_CMD[@]}" version --short 2>/dev/null || echo '?'))"
}

# 1. An engine: the running one, or dockerd started here (as root, output to a log) and stopped at the end
# (scripts/lib/docker-engine.sh).
ensure_engine() {
  docker_engine_start "$WORK/dockerd.log" || die "no Docker engine (the reason is above)"
}

# Tears the stack down and proves nothing of it is left; dumps the logs first when the test failed.
teardown() {
  local status=$?
  # Torn down even when nobody reads the output any more (`| head`): a write then fails instead of ending the script.
  trap '' PIPE
  set +e
  if [[ "$STACK_UP" == true ]]; then
    if ((status != 0)); then
      log "logs of the stack (last 40 lines each):"
      compose ps
      compose logs --no-color --tail=40
    fi
    compose down -v --remove-orphans -t 10 >"$WORK/down.log" 2>&1 || cat "$WORK/down.log" >&2
    local left
    left="$(leftovers)"
    if [[ -n "$left" ]]; then
      printf '[e2e-docker] FAILED: left behind after down:\n%s\n' "$left" >&2
      status=1
    else
      log "torn down: no container, network or volume of $PROJECT is left"
    fi
  fi
  docker_engine_stop
  rm -rf "$WORK"
  if ((status == 0)); then log "PASSED"; else log "FAILED (exit $status)"; fi
  exit "$status"
}

leftovers() {
  local filter="label=com.docker.compose.project=$PROJECT"
  docker ps -a --filter "$filter" --format 'container {{.Names}}'
  docker network ls --filter "$filter" --format 'network {{.Name}}'
  docker volume ls --filter "$filter" --format 'volume {{.Name}}'
}

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# 2. Base images, exported for docker-compose.yml's ${RUST_IMAGE}, ${RUNTIME_IMAGE} and ${POSTGRES_IMAGE}.
choose_base_images() {
  local assignments
  assignments="$(timeout "$BUILD_TIMEOUT" "$ROOT/scripts/offline-images.sh")" || die "could not provide the base images"
  while IFS='=' read -r name value; do
    case "$name" in
      RUST_IMAGE | RUNTIME_IMAGE | POSTGRES_IMAGE) export "$name=$value" ;;
      *) die "unexpected line from offline-images.sh: $name=$value" ;;
    esac
  done <<<"$assignments"
  log "base images: RUST_IMAGE=$RUST_IMAGE RUNTIME_IMAGE=$RUNTIME_IMAGE POSTGRES_IMAGE=$POSTGRES_IMAGE"
}

# 3. Both images, through the compose file's build sections (the real Dockerfiles, build arguments only).
build_images() {
  export TASKMGR_TAG="$IMAGE_TAG"
  TASKMGR_REVISION="$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)"
  TASKMGR_VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -n1)"
  export TASKMGR_REVISION TASKMGR_VERSION
  local start=$SECONDS
  log "building the images (log: $WORK/build.log; the first build compiles every dependency, later ones reuse it)"
  if ! COMPOSE_TIMEOUT="$BUILD_TIMEOUT" compose build >"$WORK/build.log" 2>&1; then
    tail -n 40 "$WORK/build.log" >&2
    die "building the images failed or took over ${BUILD_TIMEOUT}s (the end of its log is above)"
  fi
  log "images built in $((SECONDS - start))s"
  local image size too_big=()
  for image in "taskmgr/backend-api:$TASKMGR_TAG" "taskmgr/frontend:$TASKMGR_TAG"; do
    size="$(docker image inspect -f '{{.Size}}' "$image")"
    log "image size: $image $size bytes ($(awk -v b="$size" 'BEGIN { printf "%.1f MB", b / 1e6 }'))"
    ((size <= MAX_IMAGE_BYTES)) || too_big+=("$image ($size bytes)")
    [[ "$(docker image inspect -f '{{index .Config.Labels "org.opencontainers.image.revision"}}' "$image")" == \
      "$TASKMGR_REVISION" ]] || die "$image is not labelled with revision $TASKMGR_REVISION"
  done
  ((${#too_big[@]} == 0)) || die "over the ${MAX_IMAGE_BYTES}-byte (30 MB) bound: ${too_big[*]}"
}

# 3b. The runtime images hold every library the binaries load (ldd in the builder image, RUST_IMAGE), and the
# check is not vacuous: a copy of the backend's image without libm.so.6 must fail it.
check_runtime_libraries() {
  local libs="$ROOT/scripts/e2e-docker/runtime_libs.py"
  python3 "$libs" check "$RUST_IMAGE" \
    "taskmgr/backend-api:$TASKMGR_TAG" /usr/local/bin/backend-api \
    "taskmgr/frontend:$TASKMGR_TAG" /usr/local/bin/frontend || die "a runtime image lacks a library (above)"
  python3 "$libs" selftest "$RUST_IMAGE" "taskmgr/backend-api:$TASKMGR_TAG" /usr/local/bin/backend-api libm.so.6 ||
    die "the runtime library check does not catch a missing library (above)"
}

container_of() { compose ps -q "$1"; }

health_of() { timeout 10 docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$1"; }

# wait_healthy SERVICE SECONDS: each call in it is bounded too (10 s), so a wedged engine cannot stretch the wait.
wait_healthy() {
  local service="$1" limit="$2" id deadline=$((SECONDS + $2))
  while true; do
    id="$(COMPOSE_TIMEOUT=10 container_of "$service")"
    if [[ -n "$id" && "$(health_of "$id")" == healthy ]]; then
      return 0
    fi
    ((SECONDS < deadline)) || die "$service is not healthy after ${limit}s"
    sleep 0.5
  done
}

# wait_http PATH SECONDS: until the UI port answers PATH with 200; prints how long it took, in milliseconds.
wait_http() {
  local path="$1" limit="$2" start end
  start="$(date +%s%3N)"
  until curl -fsS -o /dev/null --max-time 2 "$BASE_URL$path" 2>/dev/null; do
    (($(date +%s%3N) - start < limit * 1000)) || die "$BASE_URL$path does not answer 200 after ${limit}s"
    sleep 0.05
  done
  end="$(date +%s%3N)"
  echo $((end - start))
}

# 4. The stack up and healthy, then a user's checks through localhost only.
# Before anything is built: no stack of this name (a concurrent run, or a killed one), and the UI port free.
check_nothing_in_the_way() {
  [[ -z "$(leftovers)" ]] || die "a stack named $PROJECT exists already (another run of this test, or one that was killed):
$(leftovers)
remove it with: ${COMPOSE_CMD[*]} -p $PROJECT -f docker-compose.yml down -v"
  port_is_free "$UI_PORT" || die "port $UI_PORT is in use on this machine; stop what uses it (or set E2E_UI_PORT)"
}

start_stack() {
  port_is_free "$UI_PORT" || die "port $UI_PORT is in use on this machine; stop what uses it (or set E2E_UI_PORT)"
  STACK_UP=true
  local start=$SECONDS
  compose up -d >"$WORK/up.log" 2>&1 || {
    cat "$WORK/up.log" >&2
    die "docker-compose up did not succeed"
  }
  local service
  for service in postgres backend-api frontend; do wait_healthy "$service" 120; done
  wait_http /health 30 >/dev/null
  log "stack up and healthy in $((SECONDS - start))s"
}

run_checks() { python3 "$ROOT/scripts/e2e-docker/checks.py" "$@" "$WORK/tasks.json" || die "check '$1' failed"; }

user_checks() {
  python3 "$ROOT/scripts/e2e-docker/checks.py" ui "$BASE_URL" || die "the UI checks failed"
  python3 "$ROOT/scripts/e2e-docker/checks.py" api "$BASE_URL" || die "the API checks failed"
  run_checks seed "$BASE_URL"
}

# 5a. A new postgres container on the same volume: the tasks are still there.
recreate_postgres() {
  log "recreating the postgres container (same named volume)"
  compose rm -s -f postgres >"$WORK/pg.log" 2>&1 || die "could not remove the postgres container"
  compose up -d --no-deps postgres >>"$WORK/pg.log" 2>&1 || die "could not start a new postgres container"
  wait_healthy postgres 60
  local deadline=$((SECONDS + 60))
  until python3 "$ROOT/scripts/e2e-docker/checks.py" verify "$BASE_URL" "$WORK/tasks.json" >"$WORK/verify.log" 2>&1; do
    ((SECONDS < deadline)) || {
      cat "$WORK/verify.log" >&2
      die "the tasks are not back 60s after postgres was recreated"
    }
    sleep 1
  done
  cat "$WORK/verify.log"
}

# 5b. The backend restarted: the UI recovers by itself; the frontend container keeps running throughout.
restart_backend() {
  local frontend started_before started_after ms
  frontend="$(container_of frontend)"
  started_before="$(docker inspect -f '{{.State.StartedAt}}' "$frontend")"
  log "stopping the backend: the UI must answer with its error page, not fail"
  compose stop -t 10 backend-api >"$WORK/backend.log" 2>&1 || die "could not stop backend-api"
  local status
  status="$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$BASE_URL/")"
  [[ "$status" == 503 ]] || die "with the backend stopped, GET / answered $status (expected 503 with a banner)"
  compose start backend-api >>"$WORK/backend.log" 2>&1 || die "could not start backend-api"
  ms="$(wait_http /api/tasks 60)"
  log "backend started again: /api/tasks answers through the UI ${ms} ms after the start command returned"
  run_checks verify "$BASE_URL"
  started_after="$(docker inspect -f '{{.State.StartedAt}}' "$frontend")"
  [[ "$started_before" == "$started_after" && "$(container_of frontend)" == "$frontend" ]] ||
    die "the frontend container was restarted"
  log "the frontend recovered without a restart"
}

# 5c. Backup and restore on the compose path, as a user runs them (./deploy.sh, this project by COMPOSE_PROJECT_NAME).
backup_restore_round_trip() {
  local dump="$WORK/compose.dump" all="$WORK/all-tasks.json" output
  python3 "$ROOT/scripts/e2e-docker/checks.py" snapshot "$BASE_URL" "$all" || die "could not record the tasks"
  output="$(COMPOSE_PROJECT_NAME="$PROJECT" "$ROOT/deploy.sh" backup --compose "$dump" 2>&1)" ||
    die "./deploy.sh backup --compose failed: $output"
  log "$(tail -n 1 <<<"$output")"
  log "destroying the stack and its volume (down -v), starting an empty one"
  compose down -v -t 10 >"$WORK/down-for-restore.log" 2>&1 || die "down -v failed: $(cat "$WORK/down-for-restore.log")"
  start_stack
  [[ "$(curl -fsS --max-time 10 "$BASE_URL/api/tasks")" == "[]" ]] || die "the new stack is not empty"
  output="$(COMPOSE_PROJECT_NAME="$PROJECT" "$ROOT/deploy.sh" restore "$dump" --compose 2>&1)" ||
    die "./deploy.sh restore --compose failed: $output"
  log "$(tail -n 1 <<<"$output")"
  python3 "$ROOT/scripts/e2e-docker/checks.py" verify "$BASE_URL" "$all" || die "the restored tasks differ"
}

# psql in the postgres container as ROLE (its local socket) on the tasks database, the SQL on stdin.
# shellcheck disable=SC2016 # expanded by the container's sh
psql_as() {
  compose exec -T postgres sh -c 'psql -X -q -tA -v ON_ERROR_STOP=1 -U "$1" -d "$POSTGRES_DB" -f -' sh "$1"
}

# 5d. Code the app role plants never runs as superuser: not when db-role runs db/app-role.sql again, not in a
# backup's restore (tests/infra/planted/: what it plants and how escalation is read; test_backup.py does the same
# on the local path).
planted_code_stays_unprivileged() {
  local planted="$ROOT/tests/infra/planted" dump="$WORK/planted.dump" before after output
  cat "$planted/plant.sql" "$planted/restore-plant.sql" | psql_as taskmgr_app >/dev/null || die "could not plant as taskmgr_app"
  before="$(psql_as taskmgr <"$planted/escalation.sql")" || die "could not read the roles"
  output="$(COMPOSE_PROJECT_NAME="$PROJECT" "$ROOT/deploy.sh" backup --compose "$dump" 2>&1)" ||
    die "./deploy.sh backup --compose of the planted database failed: $output"
  output="$(COMPOSE_PROJECT_NAME="$PROJECT" "$ROOT/deploy.sh" restore "$dump" --force --compose 2>&1)" ||
    die "./deploy.sh restore --compose of the planted backup failed: $output"
  grep -q 'MATERIALIZED VIEW public planted_view' <<<"$output" || die "the restore did not name what it skipped: $output"
  compose run --rm db-role >"$WORK/db-role-again.log" 2>&1 || die "db-role failed: $(cat "$WORK/db-role-again.log")"
  after="$(psql_as taskmgr <"$planted/escalation.sql")" || die "could not read the roles"
  [[ "$after" == "$before" ]] || die "planted code ran as superuser: before: $before; after: $after"
  log "planted code stayed unprivileged (db-role again, backup, restore): $after"
}

# The uids of a container's main process and all its descendants. Health probes are left out: Docker runs them
# beside the main process as the image's user, which is root for the postgres image (as for the official one).
service_uids() {
  local id="$1" main_pid
  main_pid="$(docker inspect -f '{{.State.Pid}}' "$id")"
  docker top "$id" -eo pid,ppid,uid | awk -v root="$main_pid" '
    NR > 1 { parent[$1] = $2; uid[$1] = $3 }
    END {
      for (pid in uid) {
        for (p = pid; p != "" && p != root; p = parent[p]) {}
        if (p == root) print uid[pid]
      }
    }' | sort -u | tr '\n' ' '
}

# 6. No process of any container's service runs as root; the app images declare the contract's numeric user.
check_non_root() {
  local service id uids user
  for service in postgres backend-api frontend; do
    id="$(container_of "$service")"
    uids="$(service_uids "$id")"
    [[ -n "$uids" && ! " $uids " =~ " 0 " ]] || die "$service runs a process as root (uids: $uids)"
    log "non-root: $service runs as uid $uids"
  done
  for service in backend-api frontend; do
    user="$(docker inspect -f '{{.Config.User}}' "$(container_of "$service")")"
    [[ "$user" == "10001:10001" ]] || die "$service's user is '$user', expected 10001:10001"
  done
}

# The app containers served every check above with a read-only root file system (compose's read_only, as the
# Kubernetes manifests' readOnlyRootFilesystem), so the images need no writable path.
check_read_only() {
  local service
  for service in backend-api frontend; do
    [[ "$(docker inspect -f '{{.HostConfig.ReadonlyRootfs}}' "$(container_of "$service")")" == true ]] ||
      die "$service does not run with a read-only root file system (docker-compose.yml: read_only: true)"
    log "read-only root file system: $service"
  done
}

# Every long-running container drops every capability it does not name, and none may gain privileges (setuid).
check_capabilities() {
  local service id caps
  for service in postgres backend-api frontend; do
    id="$(container_of "$service")"
    caps="$(docker inspect -f '{{.HostConfig.CapDrop}} {{.HostConfig.SecurityOpt}}' "$id")"
    [[ "$caps" == *ALL*no-new-privileges* ]] ||
      die "$service keeps capabilities or may gain privileges ($caps; docker-compose.yml: cap_drop, security_opt)"
    log "capabilities dropped, no new privileges: $service ($(docker inspect -f '{{.HostConfig.CapAdd}}' "$id") kept)"
  done
}

main() {
  trap teardown EXIT
  trap 'exit 130' INT TERM
  export TASKMGR_UI_PORT="$UI_PORT"
  local start=$SECONDS
  require python3 "apt-get install -y python3"
  require curl "apt-get install -y curl"
  ensure_engine
  choose_compose
  check_nothing_in_the_way
  choose_base_images
  build_images
  check_runtime_libraries
  start_stack
  user_checks
  recreate_postgres
  restart_backend
  backup_restore_round_trip
  planted_code_stays_unprivileged
  check_non_root
  check_read_only
  check_capabilities
  log "all checks passed in $((SECONDS - start))s"
}

main "$@"
