"""The HTTPS checks of tests/infra/e2e-kind.sh (check_tls_task_list, check_secure_cookie), the real functions, run
here against the stand-in deployment of test_e2e_kind.py behind a stand-in Gateway (standins/tls_proxy.py: TLS
ended with a certificate made by deploy.sh's own openssl command, requests forwarded to a frontend process from
127.0.0.2 with its own X-Forwarded-Proto: https). The frontends trust 127.0.0.2 as TRUSTED_PROXIES, the way the
--tls component makes them trust the pod subnet of the Gateway's NGINX pods; the script's other client (curl to
the "NodePort") comes from 127.0.0.1.

The rest of the script's --tls --pgadmin part (the second deploy, pgAdmin's login page and its query of
PostgreSQL) needs a real Gateway controller and pgAdmin and runs only in the e2e-kind job on GitHub; the whole
script here runs with E2E_SKIP_TLS=1 (test_e2e_kind.py).
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from test_e2e_kind import SCRIPT, kube_stack, stack  # noqa: F401 (its fixture)

TLS_PROXY = Path(__file__).resolve().parent / "standins" / "tls_proxy.py"
PROXY_ADDRESS = "127.0.0.2"


@pytest.fixture
def trusted_proxy(request, monkeypatch):
    """TRUSTED_PROXIES of the frontends; requested before `stack`, so that the processes it starts inherit it."""
    monkeypatch.setenv("TRUSTED_PROXIES", request.param)
    return request.param


@pytest.fixture
def gateway(stack, tmp_path):
    """The stand-in Gateway in front of the first frontend: its port, and the certificate as deploy.sh --tls makes it
    (scripts/lib/tls-cert.sh)."""
    subprocess.run(["bash", "-c", 'source scripts/lib/tls-cert.sh && tls_make_leaf_certificate "$1"', "cert",
                    str(tmp_path)], check=True, capture_output=True, cwd=ROOT)
    frontend = json.loads((stack.state / "config.json").read_text())["ports"]["frontend"][0]
    port_file = tmp_path / "proxy.port"
    process = subprocess.Popen([sys.executable, str(TLS_PROXY), str(tmp_path / "tls.crt"), str(tmp_path / "tls.key"),
                                str(frontend), PROXY_ADDRESS, str(port_file)], start_new_session=True)
    try:
        started = kube_stack.wait_until(lambda: port_file.exists() and port_file.read_text(), 10, "the Gateway")
        assert started, "the stand-in Gateway did not start"
        yield int(port_file.read_text()), tmp_path / "tls.crt"
    finally:
        process.kill()
        process.wait()


def run_checks(stack, tls_port, crt):
    """Sources e2e-kind.sh without its last line (`main "$@"`) and runs the two HTTPS checks."""
    assert SCRIPT.read_text().endswith('\nmain "$@"\n'), "e2e-kind.sh must end with main \"$@\" (sourced without it)"
    script = f"""set -euo pipefail
source <(sed '$d' {SCRIPT})
UI="http://localhost:{stack.ui_port}"
TLS_UI="https://localhost:{tls_port}"
cp {crt} "$WORK/taskmgr-localhost.crt"
check_tls_task_list
check_secure_cookie
"""
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)


# The stand-in Gateway's address only, as --tls arranges; and, the control, every loopback address (as a NodePort
# that rewrote the client's address into the trusted range would make it), where the check must fail.
@pytest.mark.parametrize("trusted_proxy", [PROXY_ADDRESS, "127.0.0.0/8"], indirect=True)
def test_the_https_checks_against_a_stand_in_gateway(trusted_proxy, stack, gateway):  # noqa: F811
    result = run_checks(stack, *gateway)
    assert "the task list is served over" in result.stdout, result.stdout + result.stderr + stack.logs()
    if trusted_proxy == PROXY_ADDRESS:
        assert result.returncode == 0, result.stdout + result.stderr
        assert "the CSRF cookie is Secure over HTTPS only, from the Gateway only; no HSTS for localhost" in result.stdout
    else:
        assert result.returncode != 0
        assert "FAIL: a NodePort client claiming https was believed" in result.stderr
