"""Shared paths, loaders and docker/PostgreSQL helpers for the infrastructure checks (manifests, deploy.sh, ...)."""
import functools
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MANIFEST_DIR = ROOT / "kubernetes"
EXTRAS_DIR = MANIFEST_DIR / "extras"
KUSTOMIZATION = "kustomization.yaml"  # in kubernetes/ and in each component directory of extras/
# The placeholder Secret lives outside kubernetes/, so that no `kubectl apply -k kubernetes/` (or -f of its files)
# can overwrite the real one.
SECRET_EXAMPLE = ROOT / "docs" / "examples" / "app-secrets.example.yaml"
NAMESPACE = "task-manager"
SERVICES = ("backend-api", "frontend")


def manifest_files():
    """The core manifests and the extras (its components' files included); not the kustomization.yaml files."""
    return [p for p in sorted(MANIFEST_DIR.glob("*.yaml")) + sorted(EXTRAS_DIR.rglob("*.yaml"))
            if p.name != KUSTOMIZATION]


def load_docs(path):
    return [d for d in yaml.safe_load_all(Path(path).read_text()) if d]


# test_kustomize.py runs test_consistency.py and test_manifests_standards.py again over kustomize's output:
# this variable then names the file of rendered objects they read instead of the manifests.
RENDERED = os.environ.get("TASKMGR_RENDERED_MANIFESTS")


@functools.cache  # read once per run: the NetworkPolicy checks ask for the objects thousands of times
def all_objects():
    """Every Kubernetes object in the manifests (or in RENDERED), as (file, object); not to be modified."""
    if RENDERED:
        return [(Path(RENDERED), doc) for doc in load_docs(RENDERED)]
    return [(f, doc) for f in manifest_files() for doc in load_docs(f)]


def objects_of(kind):
    return [doc for _, doc in all_objects() if doc["kind"] == kind]


def by_name(kind, name):
    matches = [o for o in objects_of(kind) if o["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected exactly one {kind} named {name}, found {len(matches)}"
    return matches[0]


def tool(name, hint):
    """Path of a tool from the test venv or PATH; fails (never skips) with how to get it."""
    venv_bin = Path(sys.executable).parent
    path = venv_bin / name if (venv_bin / name).exists() else shutil.which(name)
    if not path:
        pytest.fail(f"{name} is not installed: {hint}", pytrace=False)
    return str(path)


def run_checkov(directory, framework):
    """checkov on a directory, offline: (number of passed checks, list of failed checks as text)."""
    checkov = tool("checkov", VENV_HINT)
    result = subprocess.run(
        [checkov, "-d", str(directory), "--framework", framework, "--skip-download", "--quiet", "-o", "json"],
        capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.stdout.strip(), f"checkov printed nothing:\n{result.stderr}"
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    passed = sum(r["summary"]["passed"] if "summary" in r else r.get("passed", 0) for r in reports)
    failed = [f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}"
              for r in reports for c in r.get("results", {}).get("failed_checks", [])]
    return passed, failed


def write_renders(directory, renders):
    """Each render's objects, {name: objects}, in a file of its own: {name: path}."""
    paths = {}
    for i, (name, objects) in enumerate(renders.items()):
        paths[name] = directory / f"variant-{i}.yaml"
        paths[name].write_text(yaml.safe_dump_all(objects))
    return paths


def checkov_finds_nothing_in(rendered):
    """checkov over the directory of rendered files, {name: path}; it must have checked something."""
    passed, failed = run_checkov(next(iter(rendered.values())).parent, "kubernetes")
    assert passed > 3 * 100, f"checkov checked almost nothing ({passed} checks passed)"
    assert not failed, "checkov findings:\n" + "\n".join(failed)


def validate_strictly(rendered):
    """kubernetes-validate --strict over rendered files, {name: path}."""
    validate = tool("kubernetes-validate", VENV_HINT)
    for name, path in rendered.items():
        result = subprocess.run([validate, "--strict", "--no-warn", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, f"{name}:\n{result.stdout}{result.stderr}"


def run_manifest_checks(name, rendered, checks, deselected):
    """The test files `checks` (test_kustomize.py's CONSISTENCY and STANDARDS), unchanged, over the objects of the
    file `rendered` (RENDERED), but for the deselected node ids (checks about what this render leaves out)."""
    args = [arg for nodeid in deselected for arg in ("--deselect", nodeid)]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfE", *checks, *args],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
        env={**os.environ, "TASKMGR_RENDERED_MANIFESTS": str(rendered)})
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr
    assert result.returncode == 0, f"{name}:\n{result.stdout[-4000:]}{result.stderr[-2000:]}"
    assert " passed" in summary and "failed" not in summary, summary
    if deselected:
        assert " deselected" in summary, f"the deselected checks {sorted(deselected)} were not found: {summary}"


# kubectl with kustomize components (kubectl 1.21 or later; Debian's kubernetes-client package is older).
KUBECTL_HINT = "install kubectl 1.21 or later: the release binary from the Kubernetes 'Install Tools' page"
VENV_HINT = "run .ci/run, or: python3 -m venv .local/infra-venv && .local/infra-venv/bin/pip install -r tests/infra/requirements.txt"


@pytest.fixture
def clean_env():
    """The environment without variables that change deploy.sh's behaviour."""
    changing = ("KIND_CLUSTER_NAME", "IMAGE_TAG", "POSTGRES_PASSWORD", "SECRET_KEY", "ROLLOUT_TIMEOUT")
    return {k: v for k, v in os.environ.items() if k not in changing}


def docker(*args, check=True, timeout=120):
    """docker ARGS; with check, a failure fails the test with docker's output."""
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        pytest.fail(f"docker {' '.join(args)} failed:\n{result.stdout}{result.stderr}", pytrace=False)
    return result


@pytest.fixture(scope="session")
def compose():
    """The Docker Compose command: the plugin, else docker-compose (v1); fails saying how to get one."""
    if docker("compose", "version", check=False).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.fail("no Docker Compose: install the compose plugin or apt-get install -y docker-compose", pytrace=False)


@pytest.fixture(scope="session")
def docker_engine():
    """An engine that answers (scripts/test-infra.sh starts one as root); fails otherwise."""
    tool("docker", "apt-get install -y docker.io")
    info = docker("info", check=False, timeout=60)
    if info.returncode != 0:
        pytest.fail("no Docker engine answers: run ./scripts/test-infra.sh as root (it starts dockerd), "
                    f"or start one yourself (dockerd &): {info.stderr.strip()[-300:]}", pytrace=False)


def free_ports(count):
    """`count` distinct free ports of 127.0.0.1, all held until chosen (one at a time may repeat a port)."""
    with ExitStack() as held:
        sockets = [held.enter_context(socket.create_server(("127.0.0.1", 0))) for _ in range(count)]
        return [s.getsockname()[1] for s in sockets]


def stack_sh(script, *args):
    """bash running script (args: $1...) after scripts/lib/stack.sh, the one way `./deploy.sh local` and the test
    scripts find and run PostgreSQL; its stdout. Fails with stack.sh's line (how to install it, why it failed)."""
    result = subprocess.run(["bash", "-c", f"source scripts/lib/stack.sh && stack_require_postgres && {script}",
                             "stack_sh", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        pytest.fail(f"{script}: {result.stderr.strip()}", pytrace=False)
    return result.stdout


@functools.cache
def postgres_bin():
    """The directory of initdb, pg_ctl and psql."""
    return Path(stack_sh('echo "$STACK_PG_BIN"').strip())


# The PGOPTIONS of every superuser session, as the scripts set them (scripts/lib/pg-superuser.sh): search_path
# pinned, so nothing the app role made in public runs as superuser; such a session names tables public.NAME.
SUPERUSER_PGOPTIONS = re.search(r"^SUPERUSER_PGOPTIONS='([^']+)'$",
                                (ROOT / "scripts" / "lib" / "pg-superuser.sh").read_text(), re.M)[1]


def pg_client(program, args, port, user, password=None, superuser=False, **env):
    """A PostgreSQL client program (psql, pg_dump, ...) on 127.0.0.1:port as user, with that password or none:
    none of the caller's PG* or APP_DB_* variables, no ~/.pgpass; env adds variables. superuser: user is one, so
    the session's search_path is pinned."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("PG", "APP_DB_"))}, **env,
           "PGHOST": "127.0.0.1", "PGPORT": str(port), "PGUSER": user, "PGPASSFILE": "/nonexistent/pgpass",
           **({} if password is None else {"PGPASSWORD": password}),
           **({"PGOPTIONS": SUPERUSER_PGOPTIONS} if superuser else {})}
    return subprocess.run([str(postgres_bin() / program), *args], env=env, capture_output=True, text=True,
                          timeout=120)


def owners_in_public(cluster, database):
    """Owner of every table, sequence, enum type and function in the public schema, and of the schema itself;
    an extension's own objects (pg_trgm's functions and types) stay with the extension, so they are left out."""
    rows = cluster.psql(database, """
        WITH objects (name, owner, oid) AS (
          SELECT relkind::text || ' ' || relname, relowner, oid FROM pg_class
            WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'S', 'i')
          UNION ALL SELECT 'type ' || typname, typowner, oid FROM pg_type
            WHERE typnamespace = 'public'::regnamespace AND typtype = 'e'
          UNION ALL SELECT 'function ' || proname, proowner, oid FROM pg_proc
            WHERE pronamespace = 'public'::regnamespace)
        SELECT 'schema public', pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public'
        UNION ALL SELECT name, pg_get_userbyid(owner) FROM objects o
          WHERE NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = o.oid AND d.deptype = 'e')""").stdout
    return dict(line.split("|") for line in rows.splitlines())


def assert_cannot_escalate(cluster, database, role, password):
    for sql, why in [("CREATE ROLE deploysec_intruder", "make roles"),
                     ("COPY (SELECT 1) TO PROGRAM 'true'", "run programs on the server"),
                     (f"ALTER ROLE {role} SUPERUSER", "make itself superuser"),
                     ("CREATE DATABASE deploysec_other", "create databases"),
                     ("SELECT pg_read_file('PG_VERSION')", "read server files")]:
        result = cluster.psql(database, sql, user=role, password=password, check=False)
        refused = "permission denied" in result.stderr.lower() or "must be superuser" in result.stderr.lower()
        assert result.returncode != 0 and refused, f"the app role could {why}: {result.stderr}"


@pytest.fixture(scope="session")
def debug_dir():
    """The directory of both services' debug builds (cargo builds them if missing or stale)."""
    cargo = tool("cargo", "install Rust with rustup (the tests run the real binaries)")
    subprocess.run([cargo, "build", "--locked", "-q", "-p", "backend-api", "-p", "frontend"], cwd=ROOT, check=True,
                   timeout=1800)
    meta = subprocess.run([cargo, "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout
    return Path(json.loads(meta)["target_directory"]) / "debug"
