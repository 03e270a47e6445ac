"""docker-compose.yml's db-role service, the backend's own role on the compose path: read with `docker compose config`,
and the kind db-role init container run as written against the kind postgres container (the whole compose stack,
db-role included, runs in scripts/e2e-docker.sh; db/app-role.sql itself in test_app_role.py)."""
import subprocess

import pytest
import yaml

from conftest import ROOT, by_name, docker
from docker_postgres_lock import pods, resolved_env  # noqa: F401 (pods: the fixture)


def env_file(name):
    """compose/<name>.env as compose reads it: KEY=VALUE lines, comments and blank lines ignored."""
    lines = (ROOT / "compose" / f"{name}.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


@pytest.fixture(scope="module")
def config(compose):
    """The compose file as docker-compose resolves it (env files merged, in order)."""
    result = subprocess.run([*compose, "-f", str(ROOT / "docker-compose.yml"), "config"],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)["services"]


def test_the_backend_gets_only_its_own_role_named_alike_on_every_deploy_path_from_a_one_shot_db_role(config):
    """The superuser stays with postgres and db-role, which runs once, unprivileged, and must succeed before the
    backend starts; both roles have one name in compose, kind's ConfigMap and `./deploy.sh local`."""
    superuser, app = env_file("database"), env_file("backend")
    backend = config["backend-api"]["environment"]
    for key in ("POSTGRES_USER", "POSTGRES_PASSWORD"):
        assert backend[key] == app[key] != superuser[key], key
    assert superuser["POSTGRES_PASSWORD"] not in backend.values(), "the backend must not see the superuser password"
    assert backend["POSTGRES_DB"] == superuser["POSTGRES_DB"]
    for svc in ("postgres", "db-role"):
        assert {k: config[svc]["environment"][k] for k in superuser} == superuser, svc
    for values in (superuser, app):
        assert all("local-dev-only" in v for k, v in values.items() if "PASSWORD" in k), "marked local defaults"
    role = config["db-role"]
    assert config["backend-api"]["depends_on"]["db-role"]["condition"] == "service_completed_successfully"
    assert role["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert role["image"] == config["postgres"]["image"] and role.get("restart", "no") == "no", "a one-shot service"
    assert role["user"].split(":")[0] not in ("0", "root")
    assert role["read_only"] is True and role["cap_drop"] == ["ALL"] and "no-new-privileges:true" in role["security_opt"]
    kind = by_name("ConfigMap", "app-config")["data"]
    assert (kind["POSTGRES_USER"], kind["POSTGRES_APP_USER"]) == (superuser["POSTGRES_USER"], app["POSTGRES_USER"])
    assert f"LOCAL_APP_DB_USER={app['POSTGRES_USER']}\n" in (ROOT / "scripts" / "deploy-local.sh").read_text()


def test_the_kind_init_container_as_written_sets_up_the_role(pods, tmp_path):  # noqa: F811
    """The backend Deployment's db-role init container, run with docker as the kubelet would: its command, its
    user, a read-only root and no capabilities, the ConfigMap's app-role.sql mounted where it says, and its
    environment resolved from the ConfigMap and a Secret. Stand-ins, because no cluster runs here: the postgres
    Deployment's container as docker_postgres_lock.py runs it, reached by the Service's name, and the image of
    that test instead of postgres:16-alpine."""
    deployment = by_name("Deployment", "backend-api")["spec"]["template"]["spec"]
    [init] = [c for c in deployment["initContainers"] if c["name"] == "db-role"]
    env = resolved_env(init, {**pods.secret, "POSTGRES_APP_PASSWORD": "kind-app-pw"})
    server = pods.start("postgres", alias=env["PGHOST"])
    pods.ready(server)
    [mount] = init["volumeMounts"]
    volume = next(v for v in deployment["volumes"] if v["name"] == mount["name"])
    run_dir = tmp_path / "configmap"
    run_dir.mkdir(mode=0o755)
    for name, text in by_name("ConfigMap", volume["configMap"]["name"])["data"].items():
        (run_dir / name).write_text(text)
        (run_dir / name).chmod(0o644)
    sc = init["securityContext"]
    docker("run", "--rm", "--name", f"{server}-init", "--network", pods.network,
           "--user", f"{sc['runAsUser']}:{sc['runAsGroup']}", "--read-only", "--cap-drop", "ALL",
           "--security-opt", "no-new-privileges:true", "-v", f"{run_dir}:{mount['mountPath']}:ro",
           *[f"-e{k}={v}" for k, v in env.items()], "--entrypoint", init["command"][0], pods.image,
           *init["command"][1:])
    logged_in = pods.sql(server, "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user",
                         user=env["APP_DB_USER"], password="kind-app-pw")
    assert logged_in == f"{env['APP_DB_USER']}|f"
