"""tests/infra/e2e-helm.sh, the real and unchanged script, run here against stand-ins of helm and kubectl
(standins/helm_release.py): no cluster can run here. The stand-in renders the chart with Helm's own engine and the
script's --set values, so wrong values fail here as on the cluster; what only GitHub's kind shows is the install
itself, the Secret kept by `lookup` on a real upgrade, and the `helm test` pods' checks.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

STANDIN = Path(__file__).resolve().parent / "standins" / "helm_release.py"
SCRIPT = ROOT / "tests" / "infra" / "e2e-helm.sh"
TAG = "e2e-standin"


@pytest.fixture
def e2e_helm(tmp_path):
    """Runs the script with the stand-ins first on PATH; returns (result, calls)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("helm", "kubectl"):  # run by this interpreter, which has PyYAML and helm-python-sdk
        (bin_dir / name).write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STANDIN}" {name} "$@"\n')
        (bin_dir / name).chmod(0o755)

    def run(**env):
        state = tmp_path / "state"
        state.mkdir(exist_ok=True)
        result = subprocess.run(
            ["bash", str(SCRIPT)], capture_output=True, text=True, timeout=300, cwd=ROOT,
            env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "STANDIN_STATE": str(state),
                 "STANDIN_DEPLOYED_IMAGE": f"taskmgr/backend-api:{TAG}", **env})
        calls = [json.loads(line) for line in (state / "calls.jsonl").read_text().splitlines()] \
            if (state / "calls.jsonl").exists() else []
        return result, calls
    return run


def test_two_releases_side_by_side_then_an_upgrade_that_keeps_the_secret_then_helm_test(e2e_helm):
    result, calls = e2e_helm()
    assert result.returncode == 0, result.stdout + result.stderr
    installs = [c for c in calls if c["tool"] == "helm" and c["argv"][:2] == ["upgrade", "--install"]]
    assert len(installs) == 2, "an install, then an upgrade"
    for call in installs:
        values = call["values"]
        assert values["namespace"]["name"] == "taskmgr-helm" and values["frontend"]["nodePort"] == 30081
        assert values["backendApi"]["image"]["tag"] == values["frontend"]["image"]["tag"] == TAG
        assert "--wait" in call["argv"]
    assert installs[1]["values"]["frontend"]["replicas"] == 3
    tests = [c["argv"] for c in calls if c["tool"] == "helm" and c["argv"][:1] == ["test"]]
    assert len(tests) == 1 and "--logs" in tests[0]
    assert "ok: helm upgrade kept the Secret app-secrets" in result.stdout


@pytest.mark.parametrize("env, message", [
    ({"STANDIN_SECRET_REGENERATED": "1"}, "helm upgrade changed the Secret app-secrets"),
    ({"STANDIN_HELM_TEST_FAILS": "1"}, "helm test failed"),
    ({"STANDIN_DEPLOYED_IMAGE": "taskmgr/backend-api"}, "cannot read the image tag"),
], ids=["secret regenerated", "helm test fails", "no image tag"])
def test_the_script_fails_with_a_clear_message(e2e_helm, env, message):
    result, _ = e2e_helm(**env)
    assert result.returncode != 0 and f"FAIL: {message}" in result.stderr, result.stdout + result.stderr
