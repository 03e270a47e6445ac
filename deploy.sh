#!/usr/bin/env bash
# taskmgr's one deploy command. `./deploy.sh` brings the whole application up on a local kind cluster;
# `./deploy.sh --help` lists the other ways to run it (local processes, docker compose) and the day-2 commands.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib/die.sh
source "$ROOT/scripts/lib/die.sh"
# shellcheck source=scripts/lib/random-token.sh
source "$ROOT/scripts/lib/random-token.sh"
# shellcheck source=scripts/lib/compose.sh
source "$ROOT/scripts/lib/compose.sh"
# shellcheck source=scripts/lib/backup.sh
source "$ROOT/scripts/lib/backup.sh"
# shellcheck source=scripts/lib/tls-cert.sh
source "$ROOT/scripts/lib/tls-cert.sh"

NAMESPACE=task-manager
KIND_CONFIG="$ROOT/kind-config.yaml"
MANIFESTS="$ROOT/kubernetes"
SECRET_NAME=app-secrets
IMAGES=(backend-api frontend)
ROLLOUT_TIMEOUT="${ROLLOUT_TIMEOUT:-180s}"
# --tls: the Gateway API CRDs (standard channel) and NGINX Gateway Fabric, each file at a release tag and pinned by
# its sha256. Every file is fetched and checked before anything is created, and a mismatch stops the deploy; what
# is checked is exactly what is applied. GATEWAY_MANIFESTS names a file of "SHA256 URL" lines that replaces the
# list (another release, or copies on disk as file:///path for a machine without access to GitHub).
GATEWAY_API_RELEASE=v1.5.1
NGF_RELEASE=v2.6.7
GATEWAY_API_CRDS="https://raw.githubusercontent.com/kubernetes-sigs/gateway-api/$GATEWAY_API_RELEASE/config/crd/standard"
NGF_DEPLOY="https://raw.githubusercontent.com/nginx/nginx-gateway-fabric/$NGF_RELEASE/deploy"
# Each sum is `git show TAG:PATH | sha256sum` of that file in the upstream repository at the release tag.
GATEWAY_PINNED_MANIFESTS=(
  "234ad4b2757ee1b3596a4187bb98df071c5bbdd9e1806f692f2dbf8387e6bef4 $GATEWAY_API_CRDS/gateway.networking.k8s.io_gatewayclasses.yaml"
  "7416e8300eb4d8c0a71a23445609075bbacbe8bc80104584b019cfe1ebe77c31 $GATEWAY_API_CRDS/gateway.networking.k8s.io_gateways.yaml"
  "682203b109baecb18d38073a578f7bc2c17d22fe9b0c27bf030850abe014c370 $GATEWAY_API_CRDS/gateway.networking.k8s.io_httproutes.yaml"
  "979f4125d44d3df24659ba00d1d04ff8e76c45423193e8aae82dd5810d7827df $GATEWAY_API_CRDS/gateway.networking.k8s.io_grpcroutes.yaml"
  "a8902c486eed0b7339f5bb8a476ccaba0918eb038048402bdc01cbb69b0fbb51 $GATEWAY_API_CRDS/gateway.networking.k8s.io_referencegrants.yaml"
  "9b8818172153d72f9c84032db0be0a4a657277d13f5bbc22226ad9481ff57971 $GATEWAY_API_CRDS/gateway.networking.k8s.io_backendtlspolicies.yaml"
  "9221468d19fdfbb0026113b1ef64abac64f27607975aff2410361b8b38f0e0bb $GATEWAY_API_CRDS/gateway.networking.k8s.io_listenersets.yaml"
  "818e4827c469a40e2527a2851591e656782c50fea8dd44812c900d219da09345 $GATEWAY_API_CRDS/gateway.networking.k8s.io_tlsroutes.yaml"
  "942d031b4f5d0cd57194c8d0d6e7a09bddf4ced3e59609dd390db013434ec8fa $NGF_DEPLOY/crds.yaml"
  "d45f7e471b8efd858f857fee863e281cfd54a25715933f49d7330073e5f59374 $NGF_DEPLOY/nodeport/deploy.yaml"
)
GATEWAY_NAMESPACE=nginx-gateway
GATEWAY_NAME=taskmgr
# The kind node's port that the Gateway's NodePort uses (kind-config.yaml publishes it as localhost:30443).
GATEWAY_NODE_PORT=30443
# The certificate of --tls (scripts/lib/tls-cert.sh) is replaced when it has fewer than CERT_RENEW_DAYS left.
CERT_RENEW_DAYS=30
TLS_SECRET=taskmgr-tls
PGADMIN_SECRET="pgadmin-login"

usage() {
  cat <<'EOF'
Usage: ./deploy.sh [COMMAND] [OPTIONS]     details of one command: ./deploy.sh help COMMAND

Commands:
  kind              (the default) build both images and deploy to a local kind cluster
  status            pods, services, volumes and recent events of the deployment
  logs [SERVICE]    recent logs of backend-api, frontend or postgres (default: all three)
  down [--all]      delete the namespace and its data; --all deletes the whole kind cluster
  local             run PostgreSQL and both services as local processes, without containers
  compose [ARGS]    build the images, then docker compose up (ARGS go to up)
  backup [FILE]     dump the tasks database to FILE (default: taskmgr-backup-<UTC time>.dump)
  restore FILE      replace the tasks with FILE's
  help [COMMAND]    this help, or one command's details and variables

Options of kind:
  --recreate        delete and recreate the kind cluster first (ALL DATA IS LOST)
  --hpa             also apply the HorizontalPodAutoscalers (they need metrics-server)
  --no-extras       leave out (and remove) the NetworkPolicies and PodDisruptionBudgets
  --tls             also serve the UI at https://localhost:30443
  --pgadmin         also deploy pgAdmin 4 with taskmgr's database registered

Options of backup and restore:
  --kind | --compose | --local   the stack whose database to use (default: --kind)
  --force           restore over a database that holds tasks
EOF
}

# The details of one command: `./deploy.sh help COMMAND` or `./deploy.sh COMMAND --help`.
command_help() {
  case "${1:-}" in
    kind | --recreate | --hpa | --no-extras | --tls | --pgadmin)
      cat <<'EOF'
Usage: ./deploy.sh [kind] [--recreate] [--hpa] [--no-extras] [--tls] [--pgadmin]

Builds both images, loads them into the kind cluster (created from kind-config.yaml if it
does not exist yet) and applies kubernetes/kustomization.yaml with the images set to the new
tag. Ends with the URL http://localhost:30080. Without deploy.sh, on any cluster: create the
Secret, then kubectl apply -k kubernetes/ (docs/KUBERNETES_DEPLOYMENT.md).

  --recreate    delete and recreate the kind cluster first (ALL DATA IS LOST)
  --hpa         also apply kubernetes/extras/autoscalers/ (HPAs; they need metrics-server)
  --no-extras   leave out every NetworkPolicy and PodDisruptionBudget, removing those of an
                earlier deploy; not with --tls, which relies on the NetworkPolicies
  --tls         also serve the UI at https://localhost:30443 through a Gateway: installs the
                Gateway API CRDs and NGINX Gateway Fabric (pinned, sha256 checked) and a
                self-signed leaf certificate (Secret taskmgr-tls), renewed when it nears expiry;
                the cluster needs kind-config.yaml's port 30443 (else --recreate)
  --pgadmin     also deploy pgAdmin 4 with taskmgr's database registered; its login is generated and
                printed once (Secret pgadmin-login). Reach it with kubectl port-forward svc/pgadmin
                5050:8080, and with --tls at https://pgadmin.localhost:30443

Environment:
  KIND_CLUSTER_NAME   the kind cluster (default: the name in kind-config.yaml)
  IMAGE_TAG           tag of both images (default: the git revision, -dirty-<time> if uncommitted)
  POSTGRES_PASSWORD   the database password on the FIRST deploy (default: random)
  SECRET_KEY          the frontend's cookie key on the FIRST deploy (default: random)
  ROLLOUT_TIMEOUT     how long to wait for each rollout (default: 180s)
  GATEWAY_MANIFESTS   --tls: a file of "SHA256 URL" lines that replaces the pinned manifests
                      (default: the pinned releases in deploy.sh; file:///path works offline)
  PGADMIN_EMAIL       --pgadmin: the login email on the FIRST deploy (default: admin@example.com)
EOF
      ;;
    status) echo "Usage: ./deploy.sh status     pods, services, volumes and recent events of the deployment" ;;
    logs) echo "Usage: ./deploy.sh logs [backend-api|frontend|postgres]     recent logs (default: all three)" ;;
    down)
      cat <<'EOF'
Usage: ./deploy.sh down [--all]

  down          delete the namespace task-manager (the application and its data); keep the cluster
  down --all    delete the whole kind cluster
EOF
      ;;
    local)
      cat <<'EOF'
Usage: ./deploy.sh local

Builds the release binaries and runs PostgreSQL, backend-api and frontend as local processes
on 127.0.0.1, with the UI on http://localhost:30080. The database is kept in
.local/deploy-local/ across runs. Ctrl-C stops all three.

Environment:
  LOCAL_UI_PORT, LOCAL_API_PORT, LOCAL_PG_PORT   the ports (defaults: 30080, 5000, 55432)
  TASKMGR_LOCAL_DATA  where the database and logs live (default: .local/deploy-local)
  CARGO_TARGET_DIR    cargo's build folder, where the binaries are found (default: target)
EOF
      ;;
    compose)
      cat <<'EOF'
Usage: ./deploy.sh compose [ARGS]

Checks that the base images are present or can be pulled (else says how to build local
stand-ins with scripts/offline-images.sh and creates nothing), builds the images, then runs
docker compose up with docker-compose.yml. ARGS go to up. The UI: http://localhost:30080.

Environment:
  RUST_IMAGE, RUNTIME_IMAGE, POSTGRES_IMAGE   base images (defaults in docker-compose.yml);
                      set -a; eval "$(scripts/offline-images.sh)"; set +a   sets local stand-ins
  COMPOSE_PULL_TIMEOUT  seconds to wait for each base image pulled (default: 600)
  COMPOSE             the compose command (default: docker compose, else docker-compose)
  TASKMGR_UI_PORT     the UI's port on 127.0.0.1 (default: 30080)
EOF
      ;;
    backup)
      cat <<'EOF'
Usage: ./deploy.sh backup [--kind|--compose|--local] [FILE]

pg_dump (custom format, mode 600) of the tasks database of the kind deployment (default),
the compose stack or the running local stack. FILE defaults to taskmgr-backup-<UTC time>.dump
here and is never overwritten. Prints the path and the number of tasks.
EOF
      ;;
    restore)
      cat <<'EOF'
Usage: ./deploy.sh restore FILE [--force] [--kind|--compose|--local]

Replaces the tasks with FILE's in one transaction, while the stack runs. Refuses, changing
nothing: a missing, truncated or foreign file; a database that holds tasks (unless --force); a
backup made by a newer taskmgr. An older backup is migrated first. Details: docs/RELIABILITY.md.
EOF
      ;;
    "" | help | -h | --help) usage ;;
    *) die "no such command: $1 (see ./deploy.sh --help)" ;;
  esac
}

step() {
  printf '\n==> %s\n' "$*"
}

# ---------------------------------------------------------------- kind deployment

kind_cluster_name() {
  if [[ -n "${KIND_CLUSTER_NAME:-}" ]]; then
    echo "$KIND_CLUSTER_NAME"
    return
  fi
  local name
  name="$(sed -n 's/^name:[[:space:]]*\([A-Za-z0-9._-]*\).*/\1/p' "$KIND_CONFIG" | head -n 1)"
  [[ -n "$name" ]] || die "no 'name:' in $KIND_CONFIG and KIND_CLUSTER_NAME is not set"
  echo "$name"
}

# kubectl against the kind cluster's context, in the application's namespace.
kc() {
  kubectl --context "kind-$CLUSTER" --namespace "$NAMESPACE" "$@"
}

check_kind_prerequisites() {
  local missing=0
  if ! have_tool docker "Debian/Ubuntu: apt-get install docker.io; elsewhere see the Docker Engine install guide"; then
    missing=1
  elif ! docker info >/dev/null 2>&1; then
    echo "missing: a reachable Docker daemon ('docker info' failed): start it (systemctl start docker, or dockerd &)" >&2
    echo "         and make sure your user may use it (the docker group, or run as root)" >&2
    missing=1
  fi
  have_tool kind "go install sigs.k8s.io/kind@v0.29.0, or the release binary from the kind quick start guide" ||
    missing=1
  have_tool kubectl "see the Kubernetes 'Install Tools' page, or apt-get install kubernetes-client" || missing=1
  ((missing == 0)) || die "prerequisites missing (see above); './deploy.sh local' runs taskmgr without any of them"
}

image_tag() {
  if [[ -n "${IMAGE_TAG:-}" ]]; then
    echo "$IMAGE_TAG"
    return
  fi
  local rev
  if ! rev="$(git rev-parse --short=12 HEAD 2>/dev/null)"; then
    echo "dev-$(date +%s)"
    return
  fi
  # A dirty tree gets a new tag each run, so the deployments really roll out what was just built.
  if [[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
    rev="$rev-dirty-$(date +%s)"
  fi
  echo "$rev"
}

ensure_cluster() {
  local recreate="$1"
  if [[ "$recreate" == 1 ]] && kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    step "deleting kind cluster $CLUSTER (--recreate: all data is lost)"
    kind delete cluster --name "$CLUSTER"
  fi
  if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    step "kind cluster $CLUSTER exists: keeping it (and its data)"
  else
    step "creating kind cluster $CLUSTER from kind-config.yaml"
    kind create cluster --name "$CLUSTER" --config "$KIND_CONFIG" --wait 120s
  fi
}

build_and_load_images() {
  local tag="$1" svc
  for svc in "${IMAGES[@]}"; do
    step "building taskmgr/$svc:$tag"
    docker build -f "crates/$svc/Dockerfile" -t "taskmgr/$svc:$tag" \
      --label "org.opencontainers.image.revision=$tag" .
  done
  step "loading the images into kind cluster $CLUSTER"
  for svc in "${IMAGES[@]}"; do
    kind load docker-image --name "$CLUSTER" "taskmgr/$svc:$tag"
  done
}

# The Secret is created once: a new password under an initialised volume would lock the backend out. It is never
# a manifest in kubernetes/, so no `kubectl apply -k kubernetes/` (or -f of its files) can overwrite it with
# placeholders.
# A key that a newer version needs is added to an existing Secret without touching the others.
ensure_secret() {
  if kc get secret "$SECRET_NAME" >/dev/null 2>&1; then
    step "Secret $SECRET_NAME exists: keeping it (the database volume was initialised with its password)"
    ensure_secret_key POSTGRES_APP_PASSWORD 24
    return
  fi
  step "creating Secret $SECRET_NAME (first deploy)"
  private_tmp_dir
  local dir="$PRIVATE_TMP"
  printf '%s' "${POSTGRES_PASSWORD:-$(random_token 24)}" >"$dir/POSTGRES_PASSWORD"
  printf '%s' "$(random_token 24)" >"$dir/POSTGRES_APP_PASSWORD"
  printf '%s' "${SECRET_KEY:-$(random_token 48)}" >"$dir/SECRET_KEY"
  # From files, so the values never appear on a command line.
  create_secret_from_private_files "$SECRET_NAME" generic --from-file="$dir"
}

# create_secret_from_private_files NAME TYPE ARGS...: `kubectl create secret TYPE NAME ARGS...` (ARGS name files in
# PRIVATE_TMP), then the labels; PRIVATE_TMP is removed whether it worked or not.
create_secret_from_private_files() {
  local name="$1" type="$2"
  shift 2
  if ! kc create secret "$type" "$name" "$@"; then
    remove_private_tmp_dir
    return 1
  fi
  remove_private_tmp_dir
  kc label secret "$name" app.kubernetes.io/name="$name" app.kubernetes.io/part-of=taskmgr --overwrite >/dev/null
}

# Makes PRIVATE_TMP, a mode-700 temporary directory for secret values or the overlay (one at a time). It is removed
# by remove_private_tmp_dir, or on exit, Ctrl-C or SIGTERM before that, so no value stays on disk.
PRIVATE_TMP=""
private_tmp_dir() {
  PRIVATE_TMP="$(mktemp -d)"
  chmod 700 "$PRIVATE_TMP"
  remove_temp_dirs_on_exit
}

remove_private_tmp_dir() {
  [[ -z "$PRIVATE_TMP" ]] || rm -rf -- "$PRIVATE_TMP"
  PRIVATE_TMP=""
}

# From the first temporary directory on, an exit, Ctrl-C or SIGTERM removes whichever still exist: PRIVATE_TMP and
# the fetched Gateway manifests (GATEWAY_FILES_DIR).
remove_temp_dirs_on_exit() {
  trap remove_temp_dirs EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

remove_temp_dirs() {
  remove_private_tmp_dir
  remove_gateway_files
}

# Adds key with a random value (bytes long, hex) to the existing Secret if it lacks it. The value goes through
# stdin: never a file, never the command line.
ensure_secret_key() {
  local key="$1" bytes="$2" present
  present="$(kc get secret "$SECRET_NAME" -o "jsonpath={.data.$key}")"
  [[ -z "$present" ]] || return 0
  step "adding $key to Secret $SECRET_NAME (its other keys are kept)"
  printf '{"stringData":{"%s":"%s"}}' "$key" "$(random_token "$bytes")" |
    kc patch secret "$SECRET_NAME" --type merge --patch-file /dev/stdin >/dev/null
}

apply_file() {
  kc apply -f "$MANIFESTS/$1"
}

# Writes the throwaway kustomization that deploy_kind applies, in PRIVATE_TMP (removed at the end, or on exit):
# kubernetes/ with the taskmgr images set to the tag just built and loaded, plus the opt-in components of
# kubernetes/extras/ (autoscalers for --hpa, tls, pgadmin, and pgadmin-route for both), minus every NetworkPolicy
# and PodDisruptionBudget, pgAdmin's too (--no-extras).
write_overlay() {
  local tag="$1" extras="$2" hpa="$3" tls="$4" pgadmin="$5" base svc component components=()
  private_tmp_dir
  # kustomize refuses absolute paths: the base is reached from the temporary directory with one "../" a level.
  base="$(cd "$PRIVATE_TMP" && pwd)"
  base="${base//[^\/]/}"
  base="${base//\//../}${MANIFESTS#/}"
  {
    printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: ["%s"]\nimages:\n' "$base"
    for svc in "${IMAGES[@]}"; do
      printf '  - {name: taskmgr/%s, newTag: "%s"}\n' "$svc" "$tag"
    done
    if ((hpa)); then components+=(autoscalers); fi
    if ((tls)); then components+=(tls); fi
    if ((pgadmin)); then components+=(pgadmin); fi
    if ((tls && pgadmin)); then components+=(pgadmin-route); fi
    if ((${#components[@]})); then
      echo "components:"
      for component in "${components[@]}"; do
        printf '  - "%s/extras/%s"\n' "$base" "$component"
      done
    fi
    if ((!extras)); then
      echo "patches: # each drops every object of its kind"
      delete_kind_patch networking.k8s.io/v1 NetworkPolicy
      delete_kind_patch policy/v1 PodDisruptionBudget
    fi
  } >"$PRIVATE_TMP/kustomization.yaml"
}

# One entry of the overlay's patches: kustomize's `$patch: delete`, applied to every object of kind $2 (API $1).
delete_kind_patch() {
  printf '  - target: {kind: %s}\n    patch: %s\n' "$2" \
    "'{\"\$patch\": \"delete\", \"apiVersion\": \"$1\", \"kind\": \"$2\", \"metadata\": {\"name\": \"any\"}}'"
}

# --no-extras after a deploy with them: apply adds and changes objects but never removes any.
remove_extras() {
  step "removing the NetworkPolicies and PodDisruptionBudgets of earlier deploys (--no-extras)"
  kc delete networkpolicies,poddisruptionbudgets -l app.kubernetes.io/part-of=taskmgr --ignore-not-found
}

# Applies the objects of the overlay that carry the label selector $1, or all of them without one.
apply_overlay() {
  kc apply -k "$PRIVATE_TMP" ${1:+--selector "$1"}
}

wait_rollout() {
  step "waiting for deployment/$1 (timeout $ROLLOUT_TIMEOUT)"
  kc rollout status "deployment/$1" --timeout "$ROLLOUT_TIMEOUT"
}

on_deploy_error() {
  local rc=$?
  trap - ERR
  print_diagnostics
  exit "$rc"
}

# What helps when something failed: recent events, and for each pod that is not ready its description and logs.
# A subshell without -e, so one failing kubectl call does not cut the rest short.
print_diagnostics() (
  set +e
  echo >&2
  echo "==> deploy failed; diagnostics for namespace $NAMESPACE follow" >&2
  echo "--- recent events" >&2
  kc get events --sort-by=.lastTimestamp 2>&1 | tail -n 30 >&2
  echo "--- pods" >&2
  kc get pods -o wide >&2 2>&1
  local pod
  for pod in $(kc get pods -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.containerStatuses[*].ready}{"\n"}{end}' 2>/dev/null |
    awk '$2 != "true" {print $1}'); do
    echo "--- describe pod/$pod" >&2
    kc describe "pod/$pod" >&2 2>&1
    echo "--- logs pod/$pod (last 50 lines)" >&2
    kc logs "pod/$pod" --all-containers --tail=50 >&2 2>&1
    kc logs "pod/$pod" --all-containers --tail=50 --previous >&2 2>/dev/null
  done
  echo "==> see docs/KUBERNETES_DEPLOYMENT.md (Troubleshooting) for the usual causes" >&2
)

# ---------------------------------------------------------------- --tls and --pgadmin

# Fetches every manifest of --tls into a temporary directory (GATEWAY_FILES, in order) and checks each against its
# sha256 (or stops, removing them): run before anything is created, so a tampered or truncated download changes
# nothing. What is checked is exactly what ensure_gateway_controller applies; the directory goes once they are
# applied, or when deploy.sh stops before (remove_temp_dirs).
GATEWAY_FILES=()
GATEWAY_FILES_DIR=""

remove_gateway_files() {
  [[ -z "$GATEWAY_FILES_DIR" ]] || rm -rf -- "$GATEWAY_FILES_DIR"
  GATEWAY_FILES_DIR=""
}

fetch_gateway_manifests() {
  require curl "--tls fetches the Gateway's manifests with it (apt-get install curl)"
  require sha256sum "--tls checks the Gateway's manifests with it (coreutils)"
  local pins=("${GATEWAY_PINNED_MANIFESTS[@]}") line sha url got file dir
  if [[ -n "${GATEWAY_MANIFESTS:-}" ]]; then
    [[ -r "$GATEWAY_MANIFESTS" ]] || die "GATEWAY_MANIFESTS=$GATEWAY_MANIFESTS is not a readable file"
    mapfile -t pins < <(grep -v '^[[:space:]]*\(#\|$\)' "$GATEWAY_MANIFESTS")
  fi
  ((${#pins[@]})) || die "no manifests to apply for --tls"
  dir="$(mktemp -d)"
  GATEWAY_FILES_DIR="$dir"
  remove_temp_dirs_on_exit
  for line in "${pins[@]}"; do
    read -r sha url <<<"$line"
    [[ "$sha" =~ ^[0-9a-f]{64}$ && -n "$url" ]] ||
      die "the pin '$line' is not 'SHA256 URL' (a placeholder sha256 is never applied). Nothing was changed."
    file="$dir/${#GATEWAY_FILES[@]}.yaml"
    step "fetching $url"
    curl -fsSL --max-time 120 --retry 2 -o "$file" "$url" ||
      die "cannot fetch $url. Nothing was changed."
    got="$(sha256sum "$file" | cut -d' ' -f1)"
    [[ "$got" == "$sha" ]] || die "$url has sha256 $got, not the expected $sha:
  refusing to apply it (tampered, truncated or another release). Nothing was changed."
    echo "sha256 $got: as expected"
    GATEWAY_FILES+=("$file")
  done
}

# The kind node must publish the Gateway's NodePort (kind-config.yaml); a cluster made from an older config lacks
# it, and only a new cluster gets it. Checked before anything is changed.
check_gateway_port_mapping() {
  local node="$CLUSTER-control-plane" published
  published="$(docker port "$node" "$GATEWAY_NODE_PORT/tcp" 2>/dev/null || true)"
  [[ -n "$published" ]] || die "kind cluster $CLUSTER does not publish its node's port $GATEWAY_NODE_PORT (it was
  created from an older kind-config.yaml, which published port 443 instead). Nothing was changed.
  ./deploy.sh --recreate --tls recreates it (ALL DATA IS LOST; ./deploy.sh backup first)."
}

# The Gateway API CRDs and NGINX Gateway Fabric from the checked files, in their order (CRDs first, the
# controller's deployment last), server-side as the CRDs are too large for client-side apply's annotation; then
# the CRDs established and the controller rolled out.
ensure_gateway_controller() {
  local file
  step "applying the Gateway API CRDs ($GATEWAY_API_RELEASE) and NGINX Gateway Fabric ($NGF_RELEASE), checksums verified"
  for file in "${GATEWAY_FILES[@]}"; do
    kubectl --context "kind-$CLUSTER" apply --server-side -f - <"$file"
  done
  remove_gateway_files
  kubectl --context "kind-$CLUSTER" wait --for condition=established --timeout "$ROLLOUT_TIMEOUT" \
    crd/gateways.gateway.networking.k8s.io crd/httproutes.gateway.networking.k8s.io crd/nginxproxies.gateway.nginx.org
  step "waiting for NGINX Gateway Fabric (timeout $ROLLOUT_TIMEOUT)"
  kubectl --context "kind-$CLUSTER" --namespace "$GATEWAY_NAMESPACE" rollout status deployment/nginx-gateway \
    --timeout "$ROLLOUT_TIMEOUT"
}

# The Gateway accepted and its NGINX pods serving (the controller starts them once the Gateway is applied).
wait_gateway() {
  step "waiting for Gateway $GATEWAY_NAME to be programmed (timeout $ROLLOUT_TIMEOUT)"
  kc wait --for=condition=Programmed "gateway/$GATEWAY_NAME" --timeout "$ROLLOUT_TIMEOUT"
}

# start_new_secret NAME KEPT CREATING: status 1 when Secret NAME exists (kept: says so with KEPT); otherwise says
# CREATING and makes PRIVATE_TMP for the new Secret's files.
start_new_secret() {
  if kc get secret "$1" >/dev/null 2>&1; then
    step "Secret $1 exists: $2"
    return 1
  fi
  step "creating Secret $1: $3"
  private_tmp_dir
}

# Why the kept certificate of --tls must be replaced, or nothing when it may stay: a certificate authority (made
# by an older deploy.sh: anyone who could read the Secret could sign for any site with it), or one that expires
# within CERT_RENEW_DAYS.
tls_certificate_problem() {
  local crt
  crt="$(kc get secret "$TLS_SECRET" -o jsonpath='{.data.tls\.crt}' | openssl base64 -d -A)"
  if ! openssl x509 -noout <<<"$crt" 2>/dev/null; then
    echo "it holds no readable certificate"
  elif openssl x509 -noout -ext basicConstraints <<<"$crt" 2>/dev/null | grep -q 'CA:TRUE' ||
    ! openssl x509 -noout -ext basicConstraints <<<"$crt" 2>/dev/null | grep -q 'CA:FALSE'; then
    echo "its certificate is a certificate authority, which could sign for any site"
  elif ! openssl x509 -noout -checkend $((CERT_RENEW_DAYS * 86400)) <<<"$crt" >/dev/null; then
    echo "its certificate expires within $CERT_RENEW_DAYS days ($(openssl x509 -noout -enddate <<<"$crt"))"
  fi
}

# The certificate of --tls: a self-signed leaf (scripts/lib/tls-cert.sh) for localhost, pgadmin.localhost and
# 127.0.0.1, valid TLS_CERT_DAYS days. Made once and then kept (a new one would make every browser
# that accepted it warn again), unless tls_certificate_problem says it must go. The key is written only to the
# private temporary directory, which is removed right after, and never appears on a command line.
ensure_tls_secret() {
  if kc get secret "$TLS_SECRET" >/dev/null 2>&1; then
    local problem
    problem="$(tls_certificate_problem)"
    if [[ -n "$problem" ]]; then
      step "replacing Secret $TLS_SECRET: $problem"
      kc delete secret "$TLS_SECRET"
    fi
  fi
  start_new_secret "$TLS_SECRET" "keeping its certificate" \
    "a self-signed leaf certificate for localhost, valid $TLS_CERT_DAYS days" || return 0
  local dir="$PRIVATE_TMP"
  if ! tls_make_leaf_certificate "$dir"; then
    remove_private_tmp_dir
    return 1
  fi
  create_secret_from_private_files "$TLS_SECRET" tls --cert="$dir/tls.crt" --key="$dir/tls.key"
}

# pgAdmin refuses a login address whose domain is special-use (RFC 6761 and the like: the list of email-validator,
# which pgAdmin checks it with) and then crash-loops, so the address is checked before anything is deployed.
PGADMIN_SPECIAL_USE_DOMAINS=(arpa invalid local localhost onion test)
check_pgadmin_email() {
  local email="$1" domain label
  [[ "$email" =~ ^[A-Za-z0-9!#$%\&\'*+/=?^_\`{|}~-]+(\.[A-Za-z0-9!#$%\&\'*+/=?^_\`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$ ]] ||
    die "PGADMIN_EMAIL='$email' is not an email address pgAdmin accepts (name@domain.tld). Nothing was changed."
  domain="${email##*@}"
  for label in "${PGADMIN_SPECIAL_USE_DOMAINS[@]}"; do
    [[ "${domain,,}" != "$label" && "${domain,,}" != *".$label" ]] ||
      die "PGADMIN_EMAIL='$email': pgAdmin refuses special-use domains (.${PGADMIN_SPECIAL_USE_DOMAINS[*]// /, .}) and would not start; use a real domain such as example.com. Nothing was changed."
  done
}

# pgAdmin's login, generated on the first --pgadmin deploy and kept; PGADMIN_LOGIN holds it for the one time it is
# printed (at the end of that deploy). From files, so the password never appears on a command line.
PGADMIN_LOGIN=""
ensure_pgadmin_secret() {
  start_new_secret "$PGADMIN_SECRET" "keeping pgAdmin's login (shown on the first --pgadmin deploy)" \
    "pgAdmin's login (first --pgadmin deploy)" || return 0
  local dir="$PRIVATE_TMP"
  printf '%s' "${PGADMIN_EMAIL:-admin@example.com}" >"$dir/PGADMIN_DEFAULT_EMAIL"
  printf '%s' "$(random_token 16)" >"$dir/PGADMIN_DEFAULT_PASSWORD"
  local login
  login="email $(cat "$dir/PGADMIN_DEFAULT_EMAIL"), password $(cat "$dir/PGADMIN_DEFAULT_PASSWORD")"
  create_secret_from_private_files "$PGADMIN_SECRET" generic --from-file="$dir"
  PGADMIN_LOGIN="$login"
}

# What deploy_kind prints at the end about the opt-in parts.
print_opt_in_access() {
  local tls="$1" pgadmin="$2"
  if ((tls)); then
    cat <<EOF

Over HTTPS: https://localhost:30443 (a self-signed certificate: let curl use it, or accept it for this site
only in your browser; never trust it system-wide. See docs/KUBERNETES_DEPLOYMENT.md)
  kubectl --context kind-$CLUSTER -n $NAMESPACE get secret $TLS_SECRET -o jsonpath='{.data.tls\.crt}' | base64 -d >taskmgr-localhost.crt
  curl --cacert taskmgr-localhost.crt https://localhost:30443/
EOF
  fi
  if ((pgadmin)); then
    cat <<EOF

pgAdmin: kubectl --context kind-$CLUSTER -n $NAMESPACE port-forward svc/pgadmin 5050:8080, then http://localhost:5050
EOF
    if ((tls)); then
      echo "  or https://pgadmin.localhost:30443"
    fi
    if [[ -n "$PGADMIN_LOGIN" ]]; then
      echo "  login (shown this once; kept in Secret $PGADMIN_SECRET): $PGADMIN_LOGIN"
    fi
  fi
}

deploy_kind() {
  local recreate=0 hpa=0 extras=1 tls=0 pgadmin=0
  while (($#)); do
    case "$1" in
      --recreate) recreate=1 ;;
      --hpa) hpa=1 ;;
      --no-extras) extras=0 ;;
      --tls) tls=1 ;;
      --pgadmin) pgadmin=1 ;;
      *) die "unknown option for deploy: $1 (see --help)" ;;
    esac
    shift
  done
  if ((tls && !extras)); then
    die "--tls needs the NetworkPolicies that --no-extras leaves out: the UI believes the Gateway's" \
      "X-Forwarded-Proto only because they keep every other pod away from it"
  fi
  check_kind_prerequisites
  CLUSTER="$(kind_cluster_name)"
  if ((pgadmin)); then
    check_pgadmin_email "${PGADMIN_EMAIL:-admin@example.com}"
  fi
  if ((tls)); then
    require openssl "--tls makes its certificate with it (apt-get install openssl)"
    if ((!recreate)) && kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
      check_gateway_port_mapping
    fi
    fetch_gateway_manifests
  fi
  local tag
  tag="$(image_tag)"

  ensure_cluster "$recreate"
  build_and_load_images "$tag"

  set -o errtrace
  trap on_deploy_error ERR
  step "applying the manifests to namespace $NAMESPACE"
  # These two first, as files (the kustomization renders them unchanged): the Secret needs the namespace.
  apply_file namespace.yaml
  apply_file configmap.yaml
  ensure_secret
  if ((tls)); then
    ensure_gateway_controller
    ensure_tls_secret
  fi
  if ((pgadmin)); then
    ensure_pgadmin_secret
  fi
  # One tier at a time (the tiers' component labels), each waited for, as the backend's init container needs
  # PostgreSQL; then the whole kustomization, which adds the rest (extras, autoscalers).
  write_overlay "$tag" "$extras" "$hpa" "$tls" "$pgadmin"
  apply_overlay app.kubernetes.io/component=database
  wait_rollout postgres
  apply_overlay app.kubernetes.io/component=api
  wait_rollout backend-api
  apply_overlay app.kubernetes.io/component=web
  wait_rollout frontend
  if ((extras)); then
    step "applying NetworkPolicies and PodDisruptionBudgets"
  else
    remove_extras
  fi
  if ((hpa)); then
    step "applying HorizontalPodAutoscalers"
  fi
  apply_overlay ""
  remove_private_tmp_dir
  if ((tls)); then
    wait_gateway
  fi
  if ((pgadmin)); then
    wait_rollout pgadmin
  fi
  trap - ERR

  step "deployed taskmgr ($tag) to kind cluster $CLUSTER"
  kc get pods,services,pvc
  cat <<EOF

taskmgr is up: http://localhost:30080

The API directly, through a port-forward:
  kubectl --context kind-$CLUSTER -n $NAMESPACE port-forward svc/backend-api 5000:5000 &
  curl http://localhost:5000/api/tasks
or through the frontend's pass-through: curl http://localhost:30080/api/tasks
EOF
  print_opt_in_access "$tls" "$pgadmin"
}

# ---------------------------------------------------------------- day-2 commands

# Sets CLUSTER, or stops with one line when kubectl has no context for it; $1 says what to run instead.
cluster_context_or_die() {
  local instead="$1"
  require kubectl "$instead"
  CLUSTER="$(kind_cluster_name)"
  kubectl config get-contexts -o name 2>/dev/null | grep -qxF "kind-$CLUSTER" ||
    die "there is no kind cluster $CLUSTER (kubectl has no context kind-$CLUSTER); $instead"
}

NO_CLUSTER_HINT="run ./deploy.sh to create it and deploy, or see ./deploy.sh local and ./deploy.sh compose to run without one"

show_status() {
  cluster_context_or_die "$NO_CLUSTER_HINT"
  kc get deployments,pods,services,pvc,networkpolicies,pdb -o wide
  echo
  kc get events --sort-by=.lastTimestamp | tail -n 15
}

show_logs() {
  cluster_context_or_die "$NO_CLUSTER_HINT"
  local services=("$@")
  ((${#services[@]})) || services=(backend-api frontend postgres)
  local svc
  for svc in "${services[@]}"; do
    case "$svc" in
      backend-api | frontend | postgres) ;;
      *) die "unknown service '$svc' (backend-api, frontend or postgres)" ;;
    esac
    echo "==> logs of $svc"
    kc logs -l "app.kubernetes.io/name=$svc" --all-containers --prefix --tail=100
  done
}

take_down() {
  case "${1:-}" in
    --all)
      require kind "see docs/KUBERNETES_DEPLOYMENT.md#prerequisites"
      CLUSTER="$(kind_cluster_name)"
      step "deleting kind cluster $CLUSTER"
      kind delete cluster --name "$CLUSTER"
      ;;
    "")
      cluster_context_or_die "nothing to delete (a ./deploy.sh local stops with Ctrl-C; compose: docker compose down)"
      step "deleting namespace $NAMESPACE (the cluster $CLUSTER stays)"
      kubectl --context "kind-$CLUSTER" delete namespace "$NAMESPACE" --ignore-not-found --wait=true \
        --timeout="$ROLLOUT_TIMEOUT" ||
        die "namespace $NAMESPACE is not gone after $ROLLOUT_TIMEOUT: see its finalizers (kubectl get namespace $NAMESPACE -o yaml)"
      ;;
    *) die "unknown option for down: $1 (see --help)" ;;
  esac
}

# The compose command of this machine (scripts/lib/compose.sh) on docker-compose.yml.
compose() {
  ((${#COMPOSE_CMD[@]})) || compose_find || die "$COMPOSE_MISSING"
  "${COMPOSE_CMD[@]}" -f "$ROOT/docker-compose.yml" "$@"
}

# An image the compose file builds from or runs: the variable's value, else its default in docker-compose.yml.
compose_image() {
  local name="$1" default
  default="$(sed -n "s/.*\${$name:-\([^}]*\)}.*/\1/p" "$ROOT/docker-compose.yml" | head -n 1)"
  [[ -n "$default" ]] || die "no \${$name:-...} in docker-compose.yml"
  echo "${!name:-$default}"
}

# Every base image present locally, or pulled now (each pull bounded by COMPOSE_PULL_TIMEOUT, default 600 s).
# Checked before compose creates anything, so a machine without a registry gets the way out, not a half-made
# project (a network and a volume) and Docker's raw error.
ensure_compose_base_images() {
  local name image missing=() reason
  for name in RUST_IMAGE RUNTIME_IMAGE POSTGRES_IMAGE; do
    image="$(compose_image "$name")"
    [[ "$image" != scratch ]] || continue # Docker's empty base, never pulled
    docker image inspect "$image" >/dev/null 2>&1 && continue
    echo "==> pulling $image ($name)"
    if ! reason="$(timeout "${COMPOSE_PULL_TIMEOUT:-600}" docker pull -q "$image" 2>&1 >/dev/null)"; then
      missing+=("$name=$image")
      echo "    cannot pull $image: $(tail -n 1 <<<"${reason:-timed out}")" >&2
    fi
  done
  ((${#missing[@]} == 0)) && return
  cat >&2 <<EOF
deploy.sh: base images not available (no registry reachable?): ${missing[*]}
Nothing was created. To build local stand-ins (needs root, debootstrap and the host's apt mirror; a few
minutes, once) and use them:
  set -a; eval "\$(scripts/offline-images.sh)"; set +a
  ./deploy.sh compose
EOF
  exit 1
}

run_compose() {
  compose_find || die "$COMPOSE_MISSING"
  docker info >/dev/null 2>&1 || die "no Docker daemon answers ('docker info' failed): start it (systemctl start docker)"
  ensure_compose_base_images
  step "building the images (docker-compose.yml)"
  # shellcheck disable=SC2046 # compose_build_args prints one word or none
  compose build $(compose_build_args)
  step "starting the stack: the UI on http://localhost:${TASKMGR_UI_PORT:-30080}"
  compose up "$@"
}

main() {
  local cmd="${1:-kind}"
  (($#)) && shift
  if [[ "${1:-}" == -h || "${1:-}" == --help ]]; then
    command_help "$cmd"
    return
  fi
  case "$cmd" in
    kind) deploy_kind "$@" ;;
    --recreate | --hpa | --no-extras | --tls | --pgadmin) deploy_kind "$cmd" "$@" ;;
    status) show_status ;;
    logs) show_logs "$@" ;;
    down) take_down "$@" ;;
    local)
      # shellcheck source=scripts/deploy-local.sh
      source "$ROOT/scripts/deploy-local.sh"
      run_local "$@"
      ;;
    compose) run_compose "$@" ;;
    backup) run_backup "$@" ;;
    restore) run_restore "$@" ;;
    -h | --help) usage ;;
    help) command_help "$@" ;;
    *)
      usage >&2
      die "unknown command: $cmd"
      ;;
  esac
}

main "$@"
