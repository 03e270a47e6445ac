"""tests/infra/e2e-kind.sh, unchanged, against the stand-in kind deployment, `kubectl` and `./deploy.sh` of
standins/kube_stack.py. E2E_SKIP_TLS=1 skips the --tls/--pgadmin part: its HTTPS checks run here on their own, behind a
stand-in Gateway; its deploy is test_deploy_tls_pgadmin.py's; pgAdmin's checks need the real pgAdmin (GitHub only).
Only the GitHub job proves images, scheduling, probes, kube-proxy, NetworkPolicies and the volume; here "zero failed
requests" holds by the same mechanism (two replicas, graceful SIGTERM), not the same timing: a strategy that stops
every replica at once makes the script fail."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import ROOT, free_ports, postgres_bin

STANDINS = Path(__file__).resolve().parent / "standins"
SCRIPT = ROOT / "tests" / "infra" / "e2e-kind.sh"
SCRIPT_TIMEOUT = 300  # about a minute; a broken one may wait for 3000 requests first
START_TIMEOUT = 60
GATEWAY_ADDRESS = "127.0.0.2"  # the stand-in Gateway's pods

sys.path.insert(0, str(STANDINS))
import kube_stack  # noqa: E402


class Stack:
    """The stand-in deployment; its state directory is what the stand-in kubectl and deploy.sh read."""

    def __init__(self, state):
        self.state = state
        self.processes = []  # the Services (and a test's Gateway), stopped with the stack

    def start(self, bin_dir):
        # The pods, then the two Services, the port-forward and PostgreSQL.
        free = iter(free_ports(kube_stack.REPLICAS * len(kube_stack.DEPLOYMENTS) + 4))
        ports = {d: [next(free) for _ in range(kube_stack.REPLICAS)] for d in kube_stack.DEPLOYMENTS}
        backend_service, self.ui_port, self.api_port, pg_port = free
        self.config = {"bin_dir": str(bin_dir), "pg_bin": str(postgres_bin()), "pg_data": str(self.state / "pg"),
                       "pg_port": pg_port, "database_url": f"postgres://taskmgr_app@127.0.0.1:{pg_port}/postgres",
                       "secret_key": f"e2e-kind-stand-in-{os.getpid()}-key", "ports": ports,
                       "service_ports": {"backend-api": backend_service, "frontend": self.ui_port}}
        (self.state / "config.json").write_text(json.dumps(self.config))
        # The backend's db-role init container: db/app-role.sql as the superuser (the backend then connects as
        # taskmgr_app; trust authentication here, so its password is never checked).
        kube_stack.postgres(f'stack_init_postgres "$1" taskmgr "" && {kube_stack.START_POSTGRES} && '
                            'stack_app_role "$2" taskmgr /dev/null postgres taskmgr_app "$1.password" >/dev/null')
        for deployment in kube_stack.DEPLOYMENTS:  # one pod at a time: the backend migrates on start
            for pod in kube_stack.pod_names(deployment):
                kube_stack.start_pod(pod)
                assert kube_stack.wait_until(lambda: kube_stack.pod_ready(pod), START_TIMEOUT, pod), pod
            self.processes.append(subprocess.Popen(
                [sys.executable, kube_stack.__file__, "proxy", str(self.config["service_ports"][deployment]),
                 *map(str, ports[deployment])], start_new_session=True))
        service = f"http://127.0.0.1:{self.ui_port}/ready"
        assert kube_stack.wait_until(lambda: kube_stack.ready(service), START_TIMEOUT, service), "the frontend Service"
        # A Service that could not bind its port must not pass for one: whatever answers there is not the stand-in.
        assert all(p.poll() is None for p in self.processes), f"a Service stand-in exited: {self.processes}"

    def pids(self):
        return {p: (self.state / f"{p}.pid").read_text() for d in kube_stack.DEPLOYMENTS
                for p in kube_stack.pod_names(d)}

    def logs(self):
        return "".join(f"\n--- {p.name}\n{p.read_text()[-1500:]}" for p in sorted(self.state.glob("**/*.log")))

    def stop(self):
        for process in self.processes:
            process.terminate()
            process.wait(timeout=10)
        for pid_file in self.state.glob("*.pid"):
            pid = int(pid_file.read_text())
            if kube_stack.alive(pid):
                os.kill(pid, signal.SIGKILL)
        if (self.state / "config.json").exists():
            kube_stack.postgres(kube_stack.STOP_POSTGRES)


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


def test_e2e_kind_sends_no_load_off_this_machine(tmp_path):
    """E2E_UI_URL is where the checks send their load. A host other than localhost, 127.0.0.1 or [::1] stops the
    script before its first request: its curl and kubectl here only record that they were called."""
    for name in ("curl", "kubectl"):
        (tmp_path / name).write_text(f'#!/bin/sh\necho "{name} called" >>"{tmp_path}/calls"\nexit 1\n')
        (tmp_path / name).chmod(0o755)
    for url in ("http://tasks.example.com:30080", "http://localhost.example.com", "http://localhost@example.com",
                "http://127.0.0.1.example.com:30080", "https://[::2]:30080"):
        result = subprocess.run(["bash", SCRIPT], env={**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}",
                                                       "E2E_UI_URL": url}, capture_output=True, text=True, timeout=30)
        assert result.returncode != 0 and "E2E_UI_URL" in result.stderr and url in result.stderr, (url, result.stderr)
        assert not (tmp_path / "calls").exists(), (url, (tmp_path / "calls").read_text())


def test_e2e_kind_script_passes_against_the_stand_in_deployment(stack, tmp_path):
    """The script with the stand-in kubectl first on PATH (the real ./deploy.sh backup and restore use it too) and
    the stand-in re-run of ./deploy.sh as E2E_DEPLOY."""
    for name in ("deploy", "kubectl"):
        (tmp_path / name).write_text(f'#!/bin/sh\nexec "{sys.executable}" "{kube_stack.__file__}" {name} "$@"\n')
        (tmp_path / name).chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}", "E2E_UI_URL": f"http://localhost:{stack.ui_port}",
           "E2E_API_PORT": str(stack.api_port), "E2E_DEPLOY": str(tmp_path / "deploy"), "E2E_SKIP_TLS": "1"}
    before = stack.pids()
    process = subprocess.Popen(["bash", SCRIPT], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    try:
        output, _ = process.communicate(timeout=SCRIPT_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"e2e-kind.sh still running after {SCRIPT_TIMEOUT} s:\n{output}\n{stack.logs()}")
    assert process.returncode == 0, f"{output}\n{stack.logs()}"
    # Every check ran, and under load where it should (the stand-in kubectl and deploy.sh say what they did).
    for line in ("e2e-kind: all checks passed", 'pod "backend-api-0" deleted', 'pod "frontend-0" deleted',
                 "pod-loss: 0 failed of", 'pod "postgres-0" deleted', 'deployment "postgres" successfully rolled out',
                 "tasks survive the loss of the postgres pod", "rolling-update: 0 failed of", "restore: 0 failed of",
                 "backup and restore through the postgres pod: every task back",
                 "planted code stayed unprivileged through a backup and restore"):
        assert line in output, output
    tags = re.findall(r'"frontend" successfully rolled out \(image tag (\S+)\)', output)  # the stand-in deploy's
    assert len(tags) == 1 and tags[0].endswith("-rerun"), f"one re-run, with a new tag: {tags}"
    # The checks really replaced pods: every process of both deployments is a new one (pod loss, then the re-run).
    after = stack.pids()
    assert all(after[pod] != before[pod] for pod in before), (before, after)


@pytest.mark.parametrize("trusted_proxy", [GATEWAY_ADDRESS, "127.0.0.0/8"])
def test_the_https_checks_against_a_stand_in_gateway(trusted_proxy, monkeypatch, request, tmp_path):
    """The script's check_tls_task_list and check_secure_cookie (sourced: it runs no check of its own) behind
    a stand-in Gateway (standins/tls_proxy.py: TLS ended with the certificate of deploy.sh --tls, requests forwarded
    to a frontend from GATEWAY_ADDRESS with its own X-Forwarded-Proto: https). The frontends trust that address, as
    --tls makes them trust the Gateway's pods; the NodePort client is 127.0.0.1. The control trusts every loopback
    address (as would a NodePort that rewrote the client's address into the trusted range): the cookie check fails."""
    monkeypatch.setenv("TRUSTED_PROXIES", trusted_proxy)
    stack = request.getfixturevalue("stack")  # started now: its frontends get TRUSTED_PROXIES
    subprocess.run(["bash", "-c", 'source scripts/lib/tls-cert.sh && tls_make_leaf_certificate "$1"', "cert",
                    tmp_path], check=True, capture_output=True, cwd=ROOT)
    port_file = tmp_path / "gateway.port"
    stack.processes.append(subprocess.Popen([sys.executable, STANDINS / "tls_proxy.py", tmp_path / "tls.crt",
                                             tmp_path / "tls.key", str(stack.config["ports"]["frontend"][0]),
                                             GATEWAY_ADDRESS, port_file]))
    assert kube_stack.wait_until(lambda: port_file.exists() and port_file.read_text(), 10, "the stand-in Gateway")
    result = subprocess.run(["bash", "-c", f"""source {SCRIPT}
UI="http://localhost:{stack.ui_port}"
TLS_UI="https://localhost:{port_file.read_text()}"
cp {tmp_path / "tls.crt"} "$WORK/taskmgr-localhost.crt"
check_tls_task_list
check_secure_cookie
""", SCRIPT.name], capture_output=True, text=True, cwd=ROOT, timeout=120)  # $0: the name die prints
    assert "the task list is served over" in result.stdout, result.stdout + result.stderr + stack.logs()
    if trusted_proxy == GATEWAY_ADDRESS:
        assert result.returncode == 0, result.stdout + result.stderr
        assert "ok: the CSRF cookie is Secure over HTTPS only, from the Gateway only; no HSTS" in result.stdout
    else:
        assert result.returncode != 0
        assert "e2e-kind.sh: a NodePort client claiming https was believed" in result.stderr
