"""`./deploy.sh compose` when the base images cannot be had (`.invalid` names), with the real engine and compose;
each run its own project infra-newcomer-<random>, removed after."""
import json
import shutil
import subprocess
import uuid

import pytest

from conftest import ROOT

ABSENT = {name: f"newcomer-absent.invalid/{name.lower()}:none"
          for name in ("RUST_IMAGE", "RUNTIME_IMAGE", "POSTGRES_IMAGE")}


def docker(*args, check=True):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=120)


@pytest.fixture(scope="module")
def compose_ready(docker_engine):
    """conftest's engine, and a compose command to drive it."""
    assert shutil.which("docker-compose") or docker("compose", "version", check=False).returncode == 0, \
        "docker compose or docker-compose is needed (apt-get install docker-compose)"


@pytest.fixture
def compose_env(clean_env, compose_ready):
    project = f"infra-newcomer-{uuid.uuid4().hex[:8]}"
    env = {**clean_env, "COMPOSE_PROJECT_NAME": project, "COMPOSE_PULL_TIMEOUT": "60"}
    for name in ABSENT:
        env.pop(name, None)
    yield env
    for kind in ("container", "network", "volume"):
        for item in leftovers(project, kind):
            docker(kind, "rm", *(["-f"] if kind == "container" else []), item, check=False)


def leftovers(project, kind):
    """Names of the containers, networks or volumes of a compose project."""
    listing = {"container": ["ps", "-a"], "network": ["network", "ls"], "volume": ["volume", "ls"]}[kind]
    out = docker(*listing, "--filter", f"label=com.docker.compose.project={project}", "--format", "{{.Names}}"
                 if kind == "container" else "{{.Name}}").stdout
    return out.split()


def deploy_compose(env):
    return subprocess.run([str(ROOT / "deploy.sh"), "compose"], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=600)


def test_without_the_base_images_it_says_how_to_use_the_standins_and_creates_nothing(compose_env):
    run = deploy_compose({**compose_env, **ABSENT})
    assert run.returncode == 1, run.stdout + run.stderr
    for name, image in ABSENT.items():
        assert f"{name}={image}" in run.stderr, f"name the image that cannot be had: {name}"
    assert 'set -a; eval "$(scripts/offline-images.sh)"; set +a' in run.stderr
    assert "./deploy.sh compose" in run.stderr and "Nothing was created" in run.stderr
    project = compose_env["COMPOSE_PROJECT_NAME"]
    for kind in ("container", "network", "volume"):
        assert leftovers(project, kind) == [], f"{kind} left behind"


def descendants(base_id):
    """IDs of the images built on base_id (the layers of a classic build), children after their parents."""
    parents = {}
    for image in docker("images", "-a", "-q", "--no-trunc").stdout.split():
        parents[image] = json.loads(docker("image", "inspect", image, check=False).stdout or "[{}]")[0].get("Parent")
    found, frontier = [], [base_id]
    while frontier:
        children = [i for i, parent in parents.items() if parent in frontier and i not in found]
        found += children
        frontier = children
    return found


def test_a_failed_build_leaves_no_container_network_or_volume(compose_env):
    """The base images present (one empty local image, so nothing is pulled), the build then fails at its first
    RUN: compose has created nothing, and v1's classic builder left no container of the failed step."""
    base = f"newcomer-empty-{compose_env['COMPOSE_PROJECT_NAME']}:1"
    subprocess.run(f"tar cf - -T /dev/null | docker import - {base}", shell=True, check=True, capture_output=True)
    base_id = docker("image", "inspect", "-f", "{{.Id}}", base).stdout.strip()
    try:
        run = deploy_compose({**compose_env, **{name: base for name in ABSENT}})
        assert run.returncode != 0
        assert "==> building the images" in run.stdout and "pulling" not in run.stdout
        project = compose_env["COMPOSE_PROJECT_NAME"]
        for kind in ("container", "network", "volume"):
            assert leftovers(project, kind) == [], f"{kind} left behind"
        left = containers_on(base_id)
        assert left == [], f"containers of the failed build left: {left}"
    finally:
        for container in containers_on(base_id):
            docker("rm", "-f", container, check=False)
        for image in reversed(descendants(base_id)):
            docker("rmi", image, check=False)
        docker("rmi", base_id, check=False)


def containers_on(base_id):
    """Containers (running or not) made from base_id or a layer built on it."""
    layers = {base_id, *descendants(base_id)}
    return [c for c in docker("ps", "-a", "-q", "--no-trunc").stdout.split()
            if json.loads(docker("inspect", c, check=False).stdout or "[{}]")[0].get("Image") in layers]
