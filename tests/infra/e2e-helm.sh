#!/usr/bin/env bash
# The Helm chart on the kind cluster that ./deploy.sh made, beside that deployment: a second release in its own
# namespace and NodePort, with the images deploy.sh loaded; then an upgrade, which must keep the Secret the chart
# generated (the database password is fixed when the volume is first initialised), and `helm test` (its pods check
# /ready of both services and one task's round trip through the UI's /api).
# NEEDS A REAL CLUSTER: it runs in the e2e-kind job of .github/workflows/ci.yml, after e2e-kind.sh;
# tests/infra/test_helm_e2e.py runs it here against stand-ins of helm and kubectl.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib/die.sh
source "$ROOT/scripts/lib/die.sh"

CLUSTER="${KIND_CLUSTER_NAME:-task-manager}"
RELEASE=taskmgr
# Helm keeps the release's record in an existing namespace; the chart creates its own (with the Pod Security labels).
RELEASE_NAMESPACE=default
NAMESPACE=taskmgr-helm
NODE_PORT=30081 # node ports are cluster-wide: 30080 is the deploy.sh deployment's
TIMEOUT="${ROLLOUT_TIMEOUT:-300s}"

pass() {
  echo "ok: $*"
}

# The tag of the images deploy.sh built and loaded into the cluster, read from its backend Deployment.
loaded_tag() {
  local image
  image="$(kubectl --context "kind-$CLUSTER" --namespace task-manager get deployment backend-api \
    -o jsonpath='{.spec.template.spec.containers[0].image}')"
  [[ "$image" == *:* ]] || die "cannot read the image tag of deploy.sh's backend-api (got '$image')"
  echo "${image##*:}"
}

# helm_install TAG [helm flags...]: install or upgrade the release and wait for its rollout.
helm_install() {
  local tag="$1"
  shift
  helm upgrade --install "$RELEASE" charts/taskmgr --kube-context "kind-$CLUSTER" --namespace "$RELEASE_NAMESPACE" \
    --set "namespace.name=$NAMESPACE" --set "frontend.nodePort=$NODE_PORT" \
    --set-string "backendApi.image.tag=$tag" --set-string "frontend.image.tag=$tag" \
    --wait --timeout "$TIMEOUT" "$@"
}

secret_data() {
  kubectl --context "kind-$CLUSTER" --namespace "$NAMESPACE" get secret app-secrets -o jsonpath='{.data}'
}

# The test pods' output. Not `helm test --logs`: it looks for the pods in the release's namespace, not in theirs.
test_pod_logs() {
  local pod
  for pod in taskmgr-test-ready taskmgr-test-round-trip; do
    echo "--- $pod"
    kubectl --context "kind-$CLUSTER" --namespace "$NAMESPACE" logs "$pod" || true
  done
}

main() {
  local tag before after
  tag="$(loaded_tag)"
  helm_install "$tag"
  pass "helm upgrade --install: release $RELEASE in namespace $NAMESPACE, NodePort $NODE_PORT, images :$tag"
  before="$(secret_data)"
  [[ -n "$before" ]] || die "the chart created no Secret app-secrets in $NAMESPACE"
  # An upgrade that changes the pods (a third frontend replica).
  helm_install "$tag" --set frontend.replicas=3
  after="$(secret_data)"
  [[ "$after" == "$before" ]] || die "helm upgrade changed the Secret app-secrets (the database password is kept in it)"
  pass "helm upgrade kept the Secret app-secrets"
  if ! helm test "$RELEASE" --kube-context "kind-$CLUSTER" --namespace "$RELEASE_NAMESPACE" --timeout "$TIMEOUT"; then
    test_pod_logs
    die "helm test failed (its pods' logs are above)"
  fi
  test_pod_logs
  pass "helm test: both services ready, a task created, read and deleted through the UI's /api"
}

main "$@"
