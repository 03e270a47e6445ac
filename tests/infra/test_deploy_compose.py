"""`./deploy.sh compose` when the base images cannot be had (a registry at 127.0.0.1:1, where nothing listens: the
pull fails without a packet leaving the machine), with the real engine and compose; each run its own project
infra-newcomer-<random>, removed after."""
import subprocess
import uuid

import pytest

from conftest import ROOT, docker

ABSENT = {name: f"127.0.0.1:1/newcomer-absent/{name.lower()}:none"
          for name in ("RUST_IMAGE", "RUNTIME_IMAGE", "POSTGRES_IMAGE")}


@pytest.fixture
def compose_env(clean_env, docker_engine, compose):
    project = f"infra-newcomer-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in clean_env.items() if k not in ABSENT}
    yield {**env, "COMPOSE_PROJECT_NAME": project, "COMPOSE_PULL_TIMEOUT": "60"}
    for kind, ids in leftovers(project).items():  # none when the test passed
        docker(kind, "rm", *(["-f"] if kind == "container" else []), *ids, check=False)


def leftovers(project):
    """{kind: IDs} of the containers, networks and volumes of a compose project."""
    label = f"label=com.docker.compose.project={project}"
    return {kind: docker(kind, "ls", "-q", *(["-a"] if kind == "container" else []), "--filter", label).stdout.split()
            for kind in ("container", "network", "volume")}


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
    left = leftovers(compose_env["COMPOSE_PROJECT_NAME"])
    assert not any(left.values()), f"left behind: {left}"


def descendants(base_id):
    """IDs of the images built on base_id (the layers of a classic build), children after their parents."""
    ids = docker("images", "-a", "-q", "--no-trunc").stdout.split()
    lines = docker("image", "inspect", "-f", "{{.Id}} {{.Parent}}", *ids, check=False).stdout.splitlines()
    parents = {image: parent for image, _, parent in (line.partition(" ") for line in lines)}
    found, frontier = [], [base_id]
    while frontier:
        frontier = [image for image, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def containers_on(base_id):
    """Containers (running or not) made from base_id or a layer built on it."""
    return docker("ps", "-a", "-q", "--no-trunc", "--filter", f"ancestor={base_id}").stdout.split()


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
        left = leftovers(compose_env["COMPOSE_PROJECT_NAME"])
        assert not any(left.values()), f"left behind: {left}"
        assert containers_on(base_id) == [], "containers of the failed build left"
    finally:
        docker("rm", "-f", *containers_on(base_id), check=False)
        docker("rmi", *reversed(descendants(base_id)), base_id, check=False)  # children first
