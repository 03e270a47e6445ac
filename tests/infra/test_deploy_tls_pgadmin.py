"""deploy.sh --tls and --pgadmin, driven against the stand-in `kind`, `kubectl` and `docker` of
test_deploy_script.py (no cluster can run here; the real deploy runs in the e2e-kind job of
.github/workflows/ci.yml).

The ingress controller's real manifest cannot be fetched here (no access to GitHub): the tests give deploy.sh a
stand-in manifest through INGRESS_NGINX_URL (a file:// URL, fetched by the real curl) and its sha256 through
INGRESS_NGINX_SHA256, which is how deploy.sh is told about another release. What they show is that the checksum
decides: a manifest that differs from its checksum is refused before anything is created. The pinned URL and
sha256 themselves are used, and so checked against the real download, by the e2e-kind job.
"""
import hashlib
import json
import re
import subprocess

import pytest

from conftest import ROOT
from test_deploy_script import applied_objects, deploy  # noqa: F401 (deploy is the stand-in fixture)

STANDIN_MANIFEST = """\
# Stand-in for the ingress controller's manifest (the real one is fetched only by the e2e-kind job).
apiVersion: v1
kind: Namespace
metadata:
  name: ingress-nginx
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ingress-nginx-controller
  namespace: ingress-nginx
"""


def ingress_env(tmp_path, served=STANDIN_MANIFEST, expected=STANDIN_MANIFEST):
    """INGRESS_NGINX_URL serving `served`, and INGRESS_NGINX_SHA256 of `expected`."""
    path = tmp_path / "ingress-nginx.yaml"
    path.write_text(served)
    return {"INGRESS_NGINX_URL": path.as_uri(),
            "INGRESS_NGINX_SHA256": hashlib.sha256(expected.encode()).hexdigest()}


def private_tmp(tmp_path):
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return tmp_path / "tmp"


def created_secret(run, name):
    calls = [c for c in run.of("kubectl") if "create" in c["argv"] and name in c["argv"]]
    assert len(calls) == 1, f"expected one creation of Secret {name}, got {len(calls)}"
    return calls[0]


def position(run, predicate, what):
    for i, c in enumerate(run.calls):
        if predicate(c):
            return i
    raise AssertionError(f"no call {what}")


def test_tls_and_pgadmin_install_the_checked_controller_first_and_create_both_secrets(deploy, tmp_path):
    run = deploy("--tls", "--pgadmin", env={**ingress_env(tmp_path), "TMPDIR": str(private_tmp(tmp_path))})
    assert run.returncode == 0, run.stderr
    assert f"sha256 {hashlib.sha256(STANDIN_MANIFEST.encode()).hexdigest()}: as expected" in run.stdout

    # The controller: exactly the checked bytes, then its webhook jobs and rollout, before any Ingress.
    controller = position(run, lambda c: c["tool"] == "kubectl" and c["stdin"] == STANDIN_MANIFEST,
                          "applied the controller's manifest")
    assert "--namespace" not in run.calls[controller]["argv"], "the manifest names its own namespace"
    jobs = position(run, lambda c: "wait" in c["argv"] and "job/ingress-nginx-admission-patch" in c["argv"],
                    "waited for the admission webhook's jobs")
    rollout = position(run, lambda c: "deployment/ingress-nginx-controller" in c["argv"], "waited for the controller")
    ingress = position(run, lambda c: any(o["kind"] == "Ingress" for o in c.get("applied") or []), "applied an Ingress")
    assert controller < jobs < ingress and controller < rollout < ingress
    for call in (run.calls[jobs], run.calls[rollout]):
        assert call["argv"][call["argv"].index("--namespace") + 1] == "ingress-nginx"

    # The certificate: self-signed for the names the Ingresses serve; its key never on a command line or on disk.
    tls = created_secret(run, "taskmgr-tls")["secret"]
    text = subprocess.run(["openssl", "x509", "-noout", "-text"], input=tls["tls.crt"], capture_output=True,
                          text=True, check=True).stdout
    for name in ("DNS:localhost", "DNS:pgadmin.localhost", "IP Address:127.0.0.1"):
        assert name in text, name
    assert re.search(r"Issuer: CN ?= ?localhost", text) and re.search(r"Subject: CN ?= ?localhost", text)
    assert "PRIVATE KEY" in tls["tls.key"]
    key_line = tls["tls.key"].splitlines()[1]
    assert not any(key_line in " ".join(c["argv"]) for c in run.calls)

    # pgAdmin's login: generated, printed once, never on a command line.
    login = created_secret(run, "pgadmin-login")["secret"]
    assert login["PGADMIN_DEFAULT_EMAIL"] == "admin@example.com"
    password = login["PGADMIN_DEFAULT_PASSWORD"]
    assert re.fullmatch(r"[0-9a-f]{32}", password)
    assert run.stdout.count(password) == 1 and "admin@example.com" in run.stdout
    assert not any(password in " ".join(c["argv"]) for c in run.calls)
    assert "rollout status deployment/pgadmin" in " ".join(" ".join(c["argv"]) for c in run.of("kubectl"))

    assert "https://localhost:30443" in run.stdout and "port-forward svc/pgadmin 5050:8080" in run.stdout
    assert "https://pgadmin.localhost:30443" in run.stdout
    assert not list((tmp_path / "tmp").iterdir()), "no key, password or overlay left in the temporary directory"


def test_a_second_deploy_keeps_the_certificate_and_the_login_and_prints_no_password(deploy, tmp_path):
    first = deploy("--tls", "--pgadmin", env=ingress_env(tmp_path))
    assert first.returncode == 0, first.stderr
    password = created_secret(first, "pgadmin-login")["secret"]["PGADMIN_DEFAULT_PASSWORD"]
    certificate = created_secret(first, "taskmgr-tls")["secret"]["tls.crt"]

    second = deploy("--tls", "--pgadmin", env={**ingress_env(tmp_path), "PGADMIN_EMAIL": "other@example.com"})
    assert second.returncode == 0, second.stderr
    assert not any("create" in c["argv"] for c in second.of("kubectl")), "both Secrets must be kept"
    assert "Secret taskmgr-tls exists: keeping its certificate" in second.stdout
    assert "Secret pgadmin-login exists" in second.stdout
    assert password not in second.stdout and "other@example.com" not in second.stdout
    secrets = json.loads((deploy.state / "state.json").read_text())["secrets"]
    assert secrets["taskmgr-tls"]["tls.crt"] == certificate
    assert secrets["pgadmin-login"]["PGADMIN_DEFAULT_PASSWORD"] == password


def test_a_tampered_manifest_is_refused_before_anything_is_created(deploy, tmp_path):
    tampered = STANDIN_MANIFEST.replace("name: ingress-nginx-controller", "name: something-else")
    run = deploy("--tls", env=ingress_env(tmp_path, served=tampered))
    assert run.returncode == 1
    assert "refusing to apply it" in run.stderr and "Nothing was changed" in run.stderr
    assert hashlib.sha256(tampered.encode()).hexdigest() in run.stderr
    assert not run.of("kubectl"), "nothing may be applied"
    assert not [c for c in run.of("kind") if c["argv"][:1] != ["get"]] and not [
        c for c in run.of("docker") if c["argv"][:1] != ["info"]], "no cluster created, no image built"

    control = deploy("--tls", env=ingress_env(tmp_path))
    assert control.returncode == 0, "the control: the same deploy with the untampered manifest succeeds"


@pytest.mark.parametrize("env", [{"INGRESS_NGINX_URL": "file:///nonexistent"},
                                 {"INGRESS_NGINX_SHA256": "0" * 64}], ids=["url only", "sha256 only"])
def test_the_manifest_and_its_checksum_are_replaced_only_together(deploy, env):
    run = deploy("--tls", env=env)
    assert run.returncode == 1 and "together" in run.stderr
    assert not run.of("kubectl")


def test_a_missing_manifest_is_a_clear_error(deploy, tmp_path):
    run = deploy("--tls", env={"INGRESS_NGINX_URL": (tmp_path / "absent.yaml").as_uri(),
                               "INGRESS_NGINX_SHA256": "0" * 64})
    assert run.returncode == 1 and "cannot fetch" in run.stderr
    assert not run.of("kubectl")


def test_the_pinned_manifest_is_one_release_with_its_checksum():
    """One place: deploy.sh names the release, the URL at that release's tag, and the sha256 of its manifest."""
    text = (ROOT / "deploy.sh").read_text()
    release = re.search(r"^INGRESS_NGINX_RELEASE=(controller-v\d+\.\d+\.\d+)$", text, re.M)
    assert release, "the pinned release is a tag controller-vX.Y.Z"
    assert re.search(r'^INGRESS_NGINX_PINNED_URL=".*/\$INGRESS_NGINX_RELEASE/deploy/static/provider/kind/deploy.yaml"$',
                     text, re.M)
    assert re.search(r"^INGRESS_NGINX_PINNED_SHA256=[0-9a-f]{64}$", text, re.M)


def test_a_cluster_made_before_the_ingress_settings_is_refused_with_the_way_out(deploy, tmp_path):
    assert deploy(env=ingress_env(tmp_path)).returncode == 0
    run = deploy("--tls", env={**ingress_env(tmp_path), "STANDIN_NO_INGRESS_NODE": "1"})
    assert run.returncode == 1
    assert "ingress-ready=true" in run.stderr and "--recreate --tls" in run.stderr
    assert not any(c["stdin"] == STANDIN_MANIFEST for c in run.of("kubectl")), "the controller is not applied"


def test_the_default_deploy_installs_no_controller_and_creates_no_extra_secret(deploy):
    run = deploy()
    assert run.returncode == 0, run.stderr
    kinds = {o["kind"] for o in applied_objects(run)}
    assert "Ingress" not in kinds
    assert not any(c["stdin"] for c in run.of("kubectl") if "apply" in c["argv"])
    created = [c for c in run.of("kubectl") if "create" in c["argv"]]
    assert [c["argv"][c["argv"].index("create") + 3] for c in created] == ["app-secrets"]
    assert "pgadmin" not in run.stdout and "30443" not in run.stdout
