"""deploy.sh --tls and --pgadmin against the stand-ins of test_deploy_script.py (no cluster can run here; the real
deploy runs in the e2e-kind job of .github/workflows/ci.yml).

The Gateway's real manifests (the Gateway API CRDs and NGINX Gateway Fabric) cannot be fetched here (no access to
GitHub): the tests give deploy.sh stand-in manifests through GATEWAY_MANIFESTS (a file of "SHA256 URL" lines with
file:// URLs, fetched by the real curl), which is how deploy.sh is told about another release. What they show is
that the checksums decide: a manifest that differs from its checksum is refused before anything is created. The
pinned URLs and sha256 themselves are used, and so checked against the real download, by the e2e-kind job.
"""
import datetime
import hashlib
import http.server
import json
import re
import signal
import ssl
import subprocess
import threading

import pytest

from conftest import ROOT
from test_deploy_script import (applied_objects, created_secrets, deploy,  # noqa: F401 (deploy: a fixture)
                                interrupted_while_creating_the_secret)

STANDIN_CRDS = """\
# Stand-in for the Gateway API CRDs (the real ones are fetched only by the e2e-kind job).
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gateways.gateway.networking.k8s.io
"""
STANDIN_CONTROLLER = """\
# Stand-in for NGINX Gateway Fabric's manifest.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-gateway
  namespace: nginx-gateway
"""
GATEWAY_KINDS = {"Gateway", "HTTPRoute", "NginxProxy"}


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def gateway_env(tmp_path, served=(STANDIN_CRDS, STANDIN_CONTROLLER), expected=(STANDIN_CRDS, STANDIN_CONTROLLER)):
    """GATEWAY_MANIFESTS: file:// URLs serving `served`, pinned to the sha256 of `expected`."""
    lines = []
    for i, (text, pinned) in enumerate(zip(served, expected)):
        path = tmp_path / f"manifest-{i}.yaml"
        path.write_text(text)
        lines.append(f"{sha(pinned)} {path.as_uri()}")
    pins = tmp_path / "gateway-manifests.txt"
    pins.write_text("# sha256 url\n" + "\n".join(lines) + "\n")
    return {"GATEWAY_MANIFESTS": str(pins)}


def openssl(*args, stdin=None, check=True):
    return subprocess.run(["openssl", *args], input=stdin, capture_output=True, text=True, check=check)


def serve_https(crt, key):
    """An HTTPS server on a free port of 127.0.0.1 presenting the certificate; returns (server, port)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(crt, key)
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def check_leaf_certificate(tmp_path, certificate, key):
    """What a browser or curl needs of the certificate, and that it cannot sign any other."""
    crt, key_file = tmp_path / "tls.crt", tmp_path / "tls.key"
    crt.write_text(certificate)
    key_file.write_text(key)
    text = openssl("x509", "-noout", "-text", "-in", str(crt)).stdout
    for name in ("DNS:localhost", "DNS:pgadmin.localhost", "IP Address:127.0.0.1"):
        assert name in text, name
    assert re.search(r"X509v3 Basic Constraints: critical\s+CA:FALSE", text), text
    assert re.search(r"X509v3 Key Usage:.*\s+Digital Signature, Key Encipherment\s", text), text
    assert re.search(r"X509v3 Extended Key Usage:.*\s+TLS Web Server Authentication\s", text), text
    dates = openssl("x509", "-noout", "-startdate", "-enddate", "-in", str(crt)).stdout
    start, end = (datetime.datetime.strptime(v.split("=", 1)[1].strip(), "%b %d %H:%M:%S %Y %Z")
                  for v in dates.splitlines())
    assert (end - start).days <= 397, dates

    # A leaf for another site signed with its key does not verify against it (it would, were it a CA).
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=bank.example", "-keyout",
            str(tmp_path / "other.key"), "-out", str(tmp_path / "other.csr"))
    openssl("x509", "-req", "-in", str(tmp_path / "other.csr"), "-CA", str(crt), "-CAkey", str(key_file),
            "-CAcreateserial", "-days", "30", "-out", str(tmp_path / "other.crt"))
    verify = openssl("verify", "-CAfile", str(crt), str(tmp_path / "other.crt"), check=False)
    assert verify.returncode != 0, "a certificate signed with the --tls key verifies: it is a CA\n" + verify.stdout

    # And it verifies for its own names with curl --cacert (never -k).
    server, port = serve_https(str(crt), str(key_file))
    try:
        for host in ("localhost", "pgadmin.localhost", "127.0.0.1"):
            result = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
                                     "--cacert", str(crt), "--resolve", f"{host}:{port}:127.0.0.1",
                                     f"https://{host}:{port}/"], capture_output=True, text=True)
            assert result.returncode == 0 and result.stdout in ("200", "404"), (host, result.stderr)
        other = subprocess.run(["curl", "-sS", "-o", "/dev/null", "--max-time", "10", "--cacert", str(crt),
                                "--resolve", f"bank.example:{port}:127.0.0.1", f"https://bank.example:{port}/"],
                               capture_output=True, text=True)
        assert other.returncode != 0, "the certificate must not be accepted for a name it does not carry"
    finally:
        server.shutdown()


def test_tls_and_pgadmin_install_the_checked_gateway_first_and_create_both_secrets_kept_after(deploy, tmp_path):
    run = deploy("--tls", "--pgadmin", env=gateway_env(tmp_path), check=True)
    for text in (STANDIN_CRDS, STANDIN_CONTROLLER):
        assert f"sha256 {sha(text)}: as expected" in run.stdout

    # The checked bytes, in order and server-side, then the CRDs established and the controller rolled out, all
    # before any Gateway API object; the Gateway waited for at the end.
    crds = run.index(lambda c: c.get("stdin") == STANDIN_CRDS)
    controller = run.index(lambda c: c.get("stdin") == STANDIN_CONTROLLER)
    for i in (crds, controller):
        assert "--server-side" in run.calls[i]["argv"] and "--namespace" not in run.calls[i]["argv"]
    established = run.index("condition=established")
    rollout = run.index("rollout status deployment/nginx-gateway")
    gateway = run.index(lambda c: any(o["kind"] in GATEWAY_KINDS for o in c.get("applied") or []))
    programmed = run.index("gateway/taskmgr")
    assert crds < controller < established < rollout < gateway < programmed
    assert "--for=condition=Programmed" in run.calls[programmed]["argv"]
    assert run.calls[rollout]["argv"][run.calls[rollout]["argv"].index("--namespace") + 1] == "nginx-gateway"
    applied = {(o["kind"], o["metadata"]["name"]) for o in applied_objects(run)}
    assert {("Gateway", "taskmgr"), ("HTTPRoute", "frontend"), ("HTTPRoute", "pgadmin")} <= applied

    # The certificate: a leaf for the names the routes serve; its key never left on disk.
    [tls] = created_secrets(run, "taskmgr-tls")
    check_leaf_certificate(tmp_path, tls["tls.crt"], tls["tls.key"])

    # pgAdmin's login: generated, printed once; neither it nor the certificate's key ever on a command line.
    [login] = created_secrets(run, "pgadmin-login")
    assert login["PGADMIN_DEFAULT_EMAIL"] == "admin@example.com"
    password = login["PGADMIN_DEFAULT_PASSWORD"]
    assert re.fullmatch(r"[0-9a-f]{32}", password)
    assert run.stdout.count(password) == 1 and "admin@example.com" in run.stdout
    assert not any(s in " ".join(c["argv"]) for c in run.calls for s in (password, tls["tls.key"].splitlines()[1]))
    assert "rollout status deployment/pgadmin" in " ".join(" ".join(c["argv"]) for c in run.of("kubectl"))

    assert "https://localhost:30443" in run.stdout and "port-forward svc/pgadmin 5050:8080" in run.stdout
    assert "https://pgadmin.localhost:30443" in run.stdout and "--cacert" in run.stdout
    assert not list((tmp_path / "tmp").iterdir()), "no key, password, manifest or overlay left behind"

    # A second deploy keeps the certificate and the login (a new PGADMIN_EMAIL is ignored) and prints no password.
    second = deploy("--tls", "--pgadmin", env={**gateway_env(tmp_path), "PGADMIN_EMAIL": "other@example.com"})
    assert second.returncode == 0, second.stderr
    assert not any("create" in c["argv"] or "delete" in c["argv"] for c in second.of("kubectl")), \
        "both Secrets must be kept"
    assert "Secret taskmgr-tls exists: keeping its certificate" in second.stdout
    assert "Secret pgadmin-login exists" in second.stdout
    assert password not in second.stdout and "other@example.com" not in second.stdout
    secrets = second.stored()["secrets"]
    assert secrets["taskmgr-tls"]["tls.crt"] == tls["tls.crt"]
    assert secrets["pgadmin-login"]["PGADMIN_DEFAULT_PASSWORD"] == password


def old_certificate(tmp_path, *extra, days="825"):
    """A certificate as an older deploy.sh made it (`openssl req -x509` without extensions: a CA), or with
    `extra` arguments."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-sha256", "-nodes", "-days", days, "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,DNS:pgadmin.localhost,IP:127.0.0.1", *extra,
            "-keyout", str(tmp_path / "old.key"), "-out", str(tmp_path / "old.crt"))
    return {"tls.crt": (tmp_path / "old.crt").read_text(), "tls.key": (tmp_path / "old.key").read_text()}


LEAF = ("-addext", "basicConstraints=critical,CA:FALSE", "-addext", "keyUsage=digitalSignature,keyEncipherment",
        "-addext", "extendedKeyUsage=serverAuth")


@pytest.mark.parametrize("kept, days, replaced, reason", [
    ((), "825", True, "its certificate is a certificate authority"),
    (LEAF, "10", True, "its certificate expires within 30 days"),
    (LEAF, "200", False, None),
], ids=["a CA", "a leaf expiring in 10 days", "a leaf valid 200 days (kept)"])
def test_an_existing_certificate_that_is_a_ca_or_near_expiry_is_replaced_and_said_so(deploy, tmp_path, kept, days,
                                                                                    replaced, reason):
    assert deploy("--tls", env=gateway_env(tmp_path)).returncode == 0
    state = json.loads((deploy.state / "state.json").read_text())
    state["secrets"]["taskmgr-tls"] = old = old_certificate(tmp_path, *kept, days=days)
    (deploy.state / "state.json").write_text(json.dumps(state))

    run = deploy("--tls", env=gateway_env(tmp_path))
    assert run.returncode == 0, run.stderr
    now = json.loads((deploy.state / "state.json").read_text())["secrets"]["taskmgr-tls"]
    if replaced:
        assert f"replacing Secret taskmgr-tls: {reason}" in run.stdout
        assert now["tls.crt"] != old["tls.crt"]
        check_leaf_certificate(tmp_path, now["tls.crt"], now["tls.key"])
    else:
        assert "replacing" not in run.stdout and now == old


def test_a_tampered_manifest_is_refused_before_anything_is_created(deploy, tmp_path):
    tampered = STANDIN_CONTROLLER.replace("name: nginx-gateway\n", "name: something-else\n", 1)
    run = deploy("--tls", env=gateway_env(tmp_path, served=(STANDIN_CRDS, tampered)))
    assert run.returncode == 1 and "refusing to apply it" in run.stderr and "Nothing was changed" in run.stderr
    assert sha(tampered) in run.stderr
    assert not run.of("kubectl"), "nothing may be applied"
    assert not [c for c in run.of("kind") if c["argv"][:1] != ["get"]] and not [
        c for c in run.of("docker") if c["argv"][:1] != ["info"]], "no cluster created, no image built"

    control = deploy("--tls", env=gateway_env(tmp_path))
    assert control.returncode == 0, "the control: the same deploy with the untampered manifest succeeds"


def test_a_tls_deploy_stopped_before_the_gateway_is_applied_leaves_no_fetched_manifest(deploy, tmp_path):
    """--tls fetches the Gateway's manifests into a temporary directory first and applies them after the Secret:
    SIGTERM in between removes that directory with the rest. (A later failure, or success, removes it too.)"""
    assert interrupted_while_creating_the_secret(deploy, signal.SIGTERM, "--tls", env=gateway_env(tmp_path)) == 143
    assert list(deploy.tmp.rglob("*")) == [], "left on disk after SIGTERM"
    run = deploy("--tls", env={**gateway_env(tmp_path), "STANDIN_FAIL_ROLLOUT": "backend-api"})
    assert run.returncode != 0 and "deploy failed" in run.stderr
    assert list(deploy.tmp.rglob("*")) == [], "left on disk after a failed rollout"


@pytest.mark.parametrize("line", ["PLACEHOLDER file:///x.yaml", "0" * 63 + " file:///x.yaml", "0" * 64],
                         ids=["placeholder", "short sha256", "no url"])
def test_a_pin_that_is_not_a_sha256_and_a_url_is_refused(deploy, tmp_path, line):
    pins = tmp_path / "pins.txt"
    pins.write_text(line + "\n")
    run = deploy("--tls", env={"GATEWAY_MANIFESTS": str(pins)})
    assert run.returncode == 1 and "is not 'SHA256 URL'" in run.stderr
    assert not run.of("kubectl")


def test_a_missing_manifest_is_a_clear_error(deploy, tmp_path):
    pins = tmp_path / "pins.txt"
    pins.write_text(f"{'0' * 64} {(tmp_path / 'absent.yaml').as_uri()}\n")
    run = deploy("--tls", env={"GATEWAY_MANIFESTS": str(pins)})
    assert run.returncode == 1 and "cannot fetch" in run.stderr
    assert not run.of("kubectl")


def pinned_manifests():
    """deploy.sh's pins, with the release variables expanded: [(sha256, url)]."""
    text = (ROOT / "deploy.sh").read_text()
    script = text.split("\nusage() {")[0].split("\nNAMESPACE=")[1]
    lines = subprocess.run(["bash", "-c", script + '\nprintf "%s\\n" "${GATEWAY_PINNED_MANIFESTS[@]}"'],
                           capture_output=True, text=True, check=True).stdout.split("\n")
    return [tuple(line.split(" ", 1)) for line in lines if line]


def test_the_pinned_manifests_are_files_at_release_tags_with_their_checksums():
    """One place: deploy.sh names the two releases, and each file at its tag with the sha256 of its bytes (which
    the e2e-kind job checks against the real download)."""
    pins = pinned_manifests()
    urls = [url for _, url in pins]
    api = "https://raw.githubusercontent.com/kubernetes-sigs/gateway-api/v1.5.1/config/crd/standard/"
    ngf = "https://raw.githubusercontent.com/nginx/nginx-gateway-fabric/v2.6.7/deploy/"
    assert all(u.startswith(api + "gateway.networking.k8s.io_") for u in urls[:-2]), urls
    assert urls[-2:] == [ngf + "crds.yaml", ngf + "nodeport/deploy.yaml"]
    for kind in ("gatewayclasses", "gateways", "httproutes", "referencegrants"):
        assert f"{api}gateway.networking.k8s.io_{kind}.yaml" in urls
    missing = [url for digest, url in pins if not re.fullmatch(r"[0-9a-f]{64}", digest)]
    assert not missing, "no sha256 pinned yet (compute `git show TAG:PATH | sha256sum` of each):\n" + "\n".join(missing)


def test_a_cluster_made_before_the_gateway_port_is_refused_with_the_way_out(deploy, tmp_path):
    assert deploy(env=gateway_env(tmp_path)).returncode == 0
    run = deploy("--tls", env={**gateway_env(tmp_path), "STANDIN_OLD_PORT_MAPPING": "1"})
    assert run.returncode == 1
    assert "port 30443" in run.stderr and "--recreate --tls" in run.stderr and "Nothing was changed" in run.stderr
    assert not run.of("kubectl"), "nothing is applied"
    recreated = deploy("--recreate", "--tls", env={**gateway_env(tmp_path), "STANDIN_OLD_PORT_MAPPING": "1"})
    assert recreated.returncode == 0, "--recreate makes a new cluster from kind-config.yaml: " + recreated.stderr


@pytest.mark.parametrize("email", ["admin@taskmgr.local", "admin@localhost", "not-an-address"])
def test_an_address_pgadmin_would_refuse_stops_the_deploy_before_anything_is_created(deploy, email):
    run = deploy("--pgadmin", env={"PGADMIN_EMAIL": email})
    assert run.returncode == 1 and f"PGADMIN_EMAIL='{email}'" in run.stderr and "Nothing was changed" in run.stderr
    assert not run.of("kubectl") and not [c for c in run.of("kind") if c["argv"][:1] != ["get"]]
