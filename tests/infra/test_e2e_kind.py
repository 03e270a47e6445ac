"""tests/infra/e2e-kind.sh, unchanged, against the stand-in kind deployment of standins/kube_stack.py (the debug
builds and a throwaway PostgreSQL on 127.0.0.1) and its stand-in `kubectl` and `./deploy.sh`. E2E_SKIP_TLS=1 skips
the --tls/--pgadmin part, which test_deploy_tls_pgadmin.py and test_e2e_kind_tls.py cover. Only the GitHub job proves
images, scheduling, probes, kube-proxy, NetworkPolicies and the volume; here "zero failed requests" holds by the same
mechanism (two replicas, graceful SIGTERM), not the same timing: a strategy that stops every replica at once makes
the script fail.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import ROOT, free_ports, postgres_bin

STANDINS = Path(__file__).resolve().parent / "standins"
KUBE_STACK = STANDINS / "kube_stack.py"
SCRIPT = ROOT / "tests" / "infra" / "e2e-kind.sh"
SCRIPT_TIMEOUT = 300  # about a minute; a broken one may wait for 3000 requests first
START_TIMEOUT = 60

sys.path.insert(0, str(STANDINS))
import kube_stack  # noqa: E402


class Stack:
    """The stand-in deployment; its state directory is what the stand-in kubectl and deploy.sh read."""

    def __init__(self, state):
        self.state = state
        self.proxies = []

    def start(self, bin_dir):
        pg_dir = self.state / "pg"
        pg_dir.mkdir()
        # The pods, then the two Services, the port-forward and PostgreSQL.
        free = iter(free_ports(kube_stack.REPLICAS * len(kube_stack.DEPLOYMENTS) + 4))
        ports = {d: [next(free) for _ in range(kube_stack.REPLICAS)] for d in kube_stack.DEPLOYMENTS}
        backend_service, self.ui_port, self.api_port, pg_port = free
        config = {
            "bin_dir": str(bin_dir), "pg_bin": str(postgres_bin()), "pg_data": str(pg_dir / "data"),
            "pg_log": str(pg_dir / "postgres.log"), "pg_port": pg_port,
            "database_url": f"postgres://taskmgr_app@127.0.0.1:{pg_port}/postgres",
            "secret_key": f"e2e-kind-stand-in-{os.getpid()}-key", "ports": ports,
            "service_ports": {"backend-api": backend_service, "frontend": self.ui_port},
        }
        (self.state / "config.json").write_text(json.dumps(config))
        if os.geteuid() == 0:
            shutil.chown(pg_dir, "postgres", "postgres")
        kube_stack.pg("initdb", "-D", config["pg_data"], "-U", "taskmgr", "--auth=trust", "-E", "UTF8")
        kube_stack.start_postgres()
        # The backend's db-role init container: db/app-role.sql as the superuser (the backend then connects as
        # taskmgr_app; trust authentication here, so its password is never checked).
        subprocess.run([str(Path(config["pg_bin"]) / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                        "-p", str(pg_port), "-U", "taskmgr", "-d", "postgres", "-f", str(ROOT / "db/app-role.sql")],
                       env={**os.environ, "APP_DB_USER": "taskmgr_app", "APP_DB_PASSWORD": "stand-in"},
                       check=True, capture_output=True, timeout=60)
        for deployment in kube_stack.DEPLOYMENTS:  # one pod at a time: the backend migrates on start
            for pod in kube_stack.pod_names(deployment):
                kube_stack.start_pod(pod)
                assert kube_stack.wait_until(lambda: kube_stack.pod_ready(pod), START_TIMEOUT, pod), pod
            self.proxies.append(subprocess.Popen(
                [sys.executable, str(KUBE_STACK), "proxy", str(config["service_ports"][deployment]),
                 *map(str, ports[deployment])], start_new_session=True))
        service = f"http://127.0.0.1:{self.ui_port}/ready"
        assert kube_stack.wait_until(lambda: kube_stack.ready(service), START_TIMEOUT, service), "the frontend Service"
        # A Service that could not bind its port must not pass for one: whatever answers there is not the stand-in.
        dead = [p.args for p in self.proxies if p.poll() is not None]
        assert not dead, f"a Service stand-in exited: {dead}"

    def pids(self):
        return {p: (self.state / f"{p}.pid").read_text() for d in kube_stack.DEPLOYMENTS
                for p in kube_stack.pod_names(d)}

    def logs(self):
        return "".join(f"\n--- {p.name}\n{p.read_text()[-1500:]}" for p in sorted(self.state.glob("**/*.log")))

    def stop(self):
        for process in self.proxies:
            process.terminate()
            process.wait(timeout=10)
        for pid_file in self.state.glob("*.pid"):
            pid = int(pid_file.read_text())
            if kube_stack.alive(pid):
                os.kill(pid, signal.SIGKILL)
        if (self.state / "config.json").exists():
            kube_stack.stop_postgres()


@pytest.fixture
def stack(debug_dir, monkeypatch):
    # As root, PostgreSQL runs as the postgres user, which must reach its data directory: /var/tmp, not the
    # private per-user pytest directory.
    state = Path(tempfile.mkdtemp(prefix="ci-e2e-kind-", dir="/var/tmp"))
    state.chmod(0o755)
    monkeypatch.setenv("KUBE_STACK_STATE", str(state))
    local = Stack(state)
    try:
        local.start(debug_dir)
        yield local
    finally:
        local.stop()
        shutil.rmtree(state, ignore_errors=True)


def repo_copy(tmp_path):
    """A git repository with the real e2e-kind.sh (and planted/) and a stand-in ./deploy.sh (the script runs both
    from its root and tags the re-run after HEAD); and a bin/ with the stand-in kubectl."""
    repo, bin_dir = tmp_path / "repo", tmp_path / "bin"
    shutil.copytree(ROOT / "tests" / "infra" / "planted", repo / "tests" / "infra" / "planted")
    shutil.copy2(SCRIPT, repo / "tests" / "infra" / "e2e-kind.sh")
    bin_dir.mkdir()
    for path, command in ((repo / "deploy.sh", "deploy"), (bin_dir / "kubectl", "kubectl")):
        path.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{KUBE_STACK}" {command} "$@"\n')
        path.chmod(0o755)
    git = ["git", "-C", str(repo), "-c", "user.name=ci", "-c", "user.email=ci@taskmgr.invalid"]
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "copy"]):
        subprocess.run([*git, *args], check=True)
    return repo, bin_dir


def run_script(stack, tmp_path):
    repo, bin_dir = repo_copy(tmp_path)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "E2E_UI_URL": f"http://localhost:{stack.ui_port}",
           "E2E_API_PORT": str(stack.api_port), "KUBE_STACK_STATE": str(stack.state), "E2E_SKIP_TLS": "1"}
    process = subprocess.Popen(["bash", str(repo / "tests" / "infra" / "e2e-kind.sh")], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=SCRIPT_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"e2e-kind.sh still running after {SCRIPT_TIMEOUT} s:\n{output}\n{stack.logs()}")
    return process.returncode, output


def test_e2e_kind_script_passes_against_the_stand_in_deployment(stack, tmp_path):
    before = stack.pids()
    code, output = run_script(stack, tmp_path)
    assert code == 0, f"{output}\n{stack.logs()}"
    assert "e2e-kind: all checks passed" in output
    for line in ("pod-loss: 0 failed of", "rolling-update: 0 failed of", "tasks survive the loss of the postgres pod",
                 "restore: 0 failed of", "backup and restore through the postgres pod: every task back",
                 "planted code stayed unprivileged through a backup and restore"):
        assert line in output, output
    # The checks really replaced pods: every process of both deployments is a new one (pod loss, then the re-run).
    after = stack.pids()
    assert all(after[pod] != before[pod] for pod in before), (before, after)
    calls = [" ".join(json.loads(line)) for line in (stack.state / "kubectl.calls").read_text().splitlines()]
    for expected in ("delete pod backend-api-0", "delete pod frontend-0", "delete pod -l app.kubernetes.io/name=postgres",
                     "rollout status deployment/postgres", "port-forward svc/backend-api", "exec -i deploy/postgres"):
        assert any(expected in call for call in calls), (expected, calls)
    tags = (stack.state / "deploy.calls").read_text().split()
    assert len(tags) == 1 and tags[0].endswith("-rerun"), tags
