#!/usr/bin/env bash
# The infrastructure stage of ./scripts/test.sh: offline checks of the Kubernetes manifests, deploy.sh, the
# GitHub workflow and the docs (tests/infra, pytest). Installs nothing: .ci/run puts the pinned tools of
# tests/infra/requirements.txt into .local/infra-venv; any python3 that has them works too.
# Arguments replace the default target (tests/infra), e.g. `scripts/test-infra.sh tests/infra/test_workflows.py`.
# Some checks run real containers: as root, a dockerd is started for them when none runs, and stopped at the end
# (elsewhere those checks fail and say how to start one).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib/docker-engine.sh
source "$ROOT/scripts/lib/docker-engine.sh"

VENV="$ROOT/.local/infra-venv"

infra_python() {
  if [[ -x "$VENV/bin/python" ]]; then
    echo "$VENV/bin/python"
  elif command -v python3 >/dev/null 2>&1 && python3 -c 'import pytest, yaml' 2>/dev/null; then
    command -v python3
  else
    echo "missing prerequisite: the infra test tools (pytest, kubernetes-validate, checkov, zizmor)." >&2
    echo "  install them with: python3 -m venv .local/infra-venv && .local/infra-venv/bin/pip install -r tests/infra/requirements.txt" >&2
    echo "  (on Debian, python3 -m venv needs: apt-get install python3-venv; .ci/run does all of this)" >&2
    return 1
  fi
}

run_infra_tests() {
  local python targets=(tests/infra)
  (($#)) && targets=("$@")
  python="$(infra_python)"
  # The venv's bin first, so the tests find its checkov, zizmor and kubernetes-validate. The slowest tests are
  # listed at the end: the stage has a time budget (README, CI).
  PATH="$(dirname "$python"):$PATH" "$python" -m pytest -p no:cacheprovider -q -rfE --durations=12 "${targets[@]}"
}

# Best effort: the checks that need the engine fail with their own message when it cannot be had.
# The trap first: a Ctrl-C while dockerd starts must stop it too.
trap docker_engine_stop EXIT
docker_engine_start "$ROOT/.local/logs/dockerd-infra.log" || echo "(the checks that run containers will fail)" >&2
run_infra_tests "$@"
