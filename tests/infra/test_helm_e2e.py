"""tests/infra/e2e-helm.sh, the real and unchanged script, run here against stand-ins of helm and kubectl
(standins/helm_release.py): no cluster can run here. The stand-in renders the chart with Helm's own engine and the
script's --set values, so wrong values fail here as on the cluster; what only GitHub's kind shows is the install
itself, the Secret kept by `lookup` on a real upgrade, and the `helm test` pods' checks.
"""
import json
import os
import socket
import socketserver
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT
from test_e2e_kind import stack  # noqa: F401 (its fixture)
from test_helm_chart import helm, render  # noqa: F401 (helm: the fixture that loads Helm's engine)

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
    assert len(tests) == 1 and tests[0][tests[0].index("--namespace") + 1] == "default"
    logs = [c["argv"] for c in calls if c["tool"] == "kubectl" and "logs" in c["argv"]]
    assert {a[a.index("logs") + 1] for a in logs} == {"taskmgr-test-ready", "taskmgr-test-round-trip"}
    assert all(a[a.index("--namespace") + 1] == "taskmgr-helm" for a in logs), "the pods live in the chart's namespace"
    assert "ok: helm upgrade kept the Secret app-secrets" in result.stdout


@pytest.mark.parametrize("env, message", [
    ({"STANDIN_SECRET_REGENERATED": "1"}, "helm upgrade changed the Secret app-secrets"),
    ({"STANDIN_HELM_TEST_FAILS": "1"}, "helm test failed"),
    ({"STANDIN_DEPLOYED_IMAGE": "taskmgr/backend-api"}, "cannot read the image tag"),
], ids=["secret regenerated", "helm test fails", "no image tag"])
def test_the_script_fails_with_a_clear_message(e2e_helm, env, message):
    result, calls = e2e_helm(**env)
    assert result.returncode != 0 and f"e2e-helm.sh: {message}" in result.stderr, result.stdout + result.stderr
    if "STANDIN_HELM_TEST_FAILS" in env:
        assert "--- taskmgr-test-round-trip" in result.stdout, "the test pods' logs are shown"


class ServiceNames(socketserver.ThreadingTCPServer):
    """An HTTP proxy for curl (http_proxy) that plays the cluster's DNS and Services for the `helm test` pods:
    http://NAME:PORT/... goes to the local address of that Service, unchanged (Host header included); any other
    name gets a 502, as a name the pods cannot reach."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, services):
        self.services = services
        super().__init__(("127.0.0.1", 0), self.Handler)

    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            method, url, version = self.rfile.readline().decode().split()
            target = urllib.parse.urlsplit(url)
            port = self.server.services.get(target.netloc)
            if port is None:
                self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            head = [f"{method} {target.path}{'?' + target.query if target.query else ''} {version}\r\n".encode()]
            while (line := self.rfile.readline()) not in (b"\r\n", b""):
                if not line.lower().startswith(b"proxy-"):
                    head.append(line)
            with socket.create_connection(("127.0.0.1", port)) as upstream:
                upstream.sendall(b"".join(head) + b"Connection: close\r\n\r\n")
                length = next((int(h.split(b":")[1]) for h in head if h.lower().startswith(b"content-length")), 0)
                upstream.sendall(self.rfile.read(length))
                while chunk := upstream.recv(65536):
                    self.wfile.write(chunk)


@pytest.fixture(scope="module")
def helm_test_pods(helm):
    """The `helm test` pods of the default render, {name: command + args}, and the render's ALLOWED_HOSTS."""
    objects, hooks = render(helm)
    hosts = next(o for o in objects if o["metadata"]["name"] == "app-config")["data"]["ALLOWED_HOSTS"]
    return {o["metadata"]["name"]: o["spec"]["containers"][0]["command"] + o["spec"]["containers"][0]["args"]
            for o in hooks if o["kind"] == "Pod"}, hosts


def test_the_helm_test_pods_pass_against_the_real_services_and_leave_no_task(helm_test_pods, monkeypatch, request):
    """The pods' scripts, run by sh with curl against the real services (the e2e-kind stand-in stack: PostgreSQL,
    two backend-api and two frontend processes, with the chart's ALLOWED_HOSTS), the Service names played by
    ServiceNames. They pass, and the round trip leaves no task behind; with the API's Service unreachable from the
    test pods, the readiness check fails."""
    pods, allowed_hosts = helm_test_pods
    assert set(pods) == {"taskmgr-test-ready", "taskmgr-test-round-trip"}
    monkeypatch.setenv("ALLOWED_HOSTS", allowed_hosts)  # the stand-in pods take their environment from here
    stack = request.getfixturevalue("stack")  # test_e2e_kind.py's, started now: its pods get ALLOWED_HOSTS
    try:
        config = stack.config
        ports = {"frontend:8080": stack.ui_port, "backend-api:5000": config["service_ports"]["backend-api"]}
        without_api = {"frontend:8080": stack.ui_port}  # the UI still reaches the API itself, as in the cluster
        for services, passing in [(ports, set(pods)), (without_api, {"taskmgr-test-round-trip"})]:
            names = ServiceNames(services)
            threading.Thread(target=names.serve_forever, daemon=True).start()
            try:
                env = {"PATH": os.environ["PATH"], "http_proxy": f"http://127.0.0.1:{names.server_address[1]}"}
                for name, argv in pods.items():
                    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
                    assert (result.returncode == 0) == (name in passing), \
                        f"{name} with {sorted(services)}:\n{result.stdout}{result.stderr}"
            finally:
                names.shutdown()
                names.server_close()
        with urllib.request.urlopen(f"http://127.0.0.1:{stack.ui_port}/api/tasks?limit=1000") as answer:
            assert "helm test round trip" not in answer.read().decode(), "the round trip left its task behind"
    except BaseException:
        print(stack.logs())
        raise
