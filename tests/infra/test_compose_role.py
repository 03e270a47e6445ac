"""docker-compose.yml's db-role service, the backend's own role on the compose path: read with `docker compose config`,
and the kind db-role init container run as written against compose's postgres (the whole stack, db-role included,
runs in scripts/e2e-docker.sh; db/app-role.sql itself in test_app_role.py). Project deploysec-role-<pid>, removed."""
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, by_name

COMPOSE_TIMEOUT = 300
HEALTHY_WAIT = 90


def env_file(name):
    """compose/<name>.env as compose reads it: KEY=VALUE lines, comments and blank lines ignored."""
    lines = (ROOT / "compose" / f"{name}.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


def compose_command():
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.fail("no Docker Compose: install the compose plugin or Debian's docker-compose "
                "(apt-get install -y docker-compose)", pytrace=False)


@pytest.fixture(scope="module")
def config():
    """The compose file as docker-compose resolves it (env files merged, in order)."""
    result = subprocess.run([*compose_command(), "-f", str(ROOT / "docker-compose.yml"), "config"],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)["services"]


def test_the_backend_gets_only_its_own_role_and_the_superuser_stays_with_postgres_and_db_role(config):
    superuser, app = env_file("database"), env_file("backend")
    assert app["POSTGRES_USER"] != superuser["POSTGRES_USER"]
    assert app["POSTGRES_PASSWORD"] != superuser["POSTGRES_PASSWORD"]
    backend = config["backend-api"]["environment"]
    assert backend["POSTGRES_USER"] == app["POSTGRES_USER"]
    assert backend["POSTGRES_PASSWORD"] == app["POSTGRES_PASSWORD"]
    assert superuser["POSTGRES_PASSWORD"] not in backend.values(), "the backend must not see the superuser password"
    assert backend["POSTGRES_DB"] == superuser["POSTGRES_DB"]
    for svc in ("postgres", "db-role"):
        assert {k: config[svc]["environment"][k] for k in superuser} == superuser, svc
    for values in (superuser, app):
        assert all("local-dev-only" in v for k, v in values.items() if "PASSWORD" in k), "marked local defaults"


def test_the_backend_starts_only_after_db_role_succeeded_which_runs_unprivileged(config):
    role = config["db-role"]
    assert config["backend-api"]["depends_on"]["db-role"]["condition"] == "service_completed_successfully"
    assert role["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert role["image"] == config["postgres"]["image"] and role.get("restart", "no") == "no", "a one-shot service"
    assert role["user"].split(":")[0] not in ("0", "root")
    assert role["read_only"] is True and role["cap_drop"] == ["ALL"] and "no-new-privileges:true" in role["security_opt"]


def test_the_backend_role_has_one_name_on_every_deploy_path():
    name = env_file("backend")["POSTGRES_USER"]
    assert by_name("ConfigMap", "app-config")["data"]["POSTGRES_APP_USER"] == name
    assert f"LOCAL_APP_DB_USER={name}\n" in (ROOT / "scripts" / "deploy-local.sh").read_text()


class Project:
    def __init__(self, image):
        self.name = f"infra-role-{os.getpid()}"
        self.base = [*compose_command(), "-p", self.name, "-f", str(ROOT / "docker-compose.yml")]
        self.env = {**os.environ, "POSTGRES_IMAGE": image}

    def run(self, *args, stdin=None, check=True):
        result = subprocess.run([*self.base, *args], capture_output=True, text=True, cwd=ROOT, env=self.env,
                                input=stdin, timeout=COMPOSE_TIMEOUT)
        assert result.returncode == 0 or not check, f"{' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result

    def wait_healthy(self, service):
        cid = self.run("ps", "-q", service).stdout.strip()
        deadline = time.monotonic() + HEALTHY_WAIT
        while time.monotonic() < deadline:
            if subprocess.run(["docker", "inspect", "-f", "{{.State.Health.Status}}", cid], capture_output=True,
                              text=True).stdout.strip() == "healthy":
                return
            time.sleep(1)
        pytest.fail(f"{service} not healthy after {HEALTHY_WAIT} s:\n{self.run('logs', '--no-color').stdout}")

    def psql(self, sql, user, password):
        """psql as user over TCP inside the postgres container."""
        return self.run("exec", "-T", "-e", f"PGPASSWORD={password}", "postgres", "psql", "-X", "-qtA", "-v",
                        "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", user, "-d", env_file("database")["POSTGRES_DB"],
                        "-f", "-", stdin=sql)


@pytest.fixture(scope="module")
def project(docker_engine, request):
    """POSTGRES_IMAGE when set, else the one scripts/offline-images.sh provides (conftest's offline_images)."""
    image = os.environ.get("POSTGRES_IMAGE") or request.getfixturevalue("offline_images")["POSTGRES_IMAGE"]
    p = Project(image)
    p.tmp = Path(tempfile.mkdtemp(prefix="deploysec-role-"))
    p.tmp.chmod(0o755)
    try:
        yield p
    finally:
        shutil.rmtree(p.tmp, ignore_errors=True)
        p.run("down", "-v", "--remove-orphans", "-t", "5", check=False)
        left = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={p.name}"],
                              capture_output=True, text=True).stdout.strip()
        assert not left, f"containers of {p.name} left behind"


def test_the_kind_init_container_as_written_sets_up_the_role(project):
    """The backend Deployment's db-role init container, run with docker as the kubelet would: its command, its
    user, a read-only root and no capabilities, the ConfigMap's app-role.sql mounted where it says, and its
    environment resolved from the ConfigMap and a Secret. Stand-ins, because no cluster runs here: the compose
    project's postgres (reached as `postgres`, the Service's name) and the image of this test instead of
    postgres:16-alpine."""
    project.run("up", "-d", "postgres")
    project.wait_healthy("postgres")
    deployment = by_name("Deployment", "backend-api")["spec"]["template"]["spec"]
    [init] = [c for c in deployment["initContainers"] if c["name"] == "db-role"]
    config = by_name("ConfigMap", "app-config")["data"]
    secret = {"POSTGRES_PASSWORD": env_file("database")["POSTGRES_PASSWORD"], "POSTGRES_APP_PASSWORD": "kind-app-pw"}
    assert config["POSTGRES_USER"] == env_file("database")["POSTGRES_USER"]
    env = []
    for entry in init["env"]:
        ref = entry.get("valueFrom", {})
        value = entry.get("value") or (config[ref["configMapKeyRef"]["key"]] if "configMapKeyRef" in ref
                                       else secret[ref["secretKeyRef"]["key"]])
        env += ["-e", f"{entry['name']}={value}"]
    [mount] = init["volumeMounts"]
    volume = next(v for v in deployment["volumes"] if v["name"] == mount["name"])
    files = by_name("ConfigMap", volume["configMap"]["name"])["data"]
    sc = init["securityContext"]
    run_dir = project.tmp / "configmap"
    run_dir.mkdir(mode=0o755)
    for name, text in files.items():
        (run_dir / name).write_text(text)
        (run_dir / name).chmod(0o644)
    result = subprocess.run(
        ["docker", "run", "--rm", "--name", f"{project.name}-init", "--network", f"{project.name}_default",
         "--user", f"{sc['runAsUser']}:{sc['runAsGroup']}", "--read-only", "--cap-drop", "ALL",
         "--security-opt", "no-new-privileges:true", "-v", f"{run_dir}:{mount['mountPath']}:ro", *env,
         "--entrypoint", init["command"][0], project.env["POSTGRES_IMAGE"], *init["command"][1:]],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    user = config["POSTGRES_APP_USER"]
    logged_in = project.psql("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user;",
                             user=user, password="kind-app-pw")
    assert logged_in.stdout.strip() == f"{user}|f"
