"""One postmaster per data volume: two containers of the postgres image on one volume, started as
kubernetes/postgres-deployment.yaml starts its container (a replacement pod while the old one still runs): the
second must not start PostgreSQL until the first exits, and the table both wrote passes amcheck. Docker stage
of scripts/test.sh; image: POSTGRES_LOCK_IMAGE, else scripts/offline-images.sh's POSTGRES_IMAGE."""
import os
import subprocess
import time
import uuid

import pytest
import yaml

from conftest import MANIFEST_DIR

START_TIMEOUT = 120  # initdb on the first start, then crash recovery at most
OBSERVE_SECONDS = 5  # how long the second container is watched while the first one serves
ROWS = 500


def docker(*args, check=True, timeout=120):
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        pytest.fail(f"docker {' '.join(args)} failed:\n{result.stdout}{result.stderr}", pytrace=False)
    return result


def manifest_container():
    deployment = yaml.safe_load((MANIFEST_DIR / "postgres-deployment.yaml").read_text())
    return deployment["spec"]["template"]["spec"]["containers"][0]


class Pods:
    """Containers named ci-pglock-<run>-<name> on the volume ci-pglock-<run>, removed at the end."""

    def __init__(self, image):
        self.image = image
        self.run = uuid.uuid4().hex[:8]
        self.volume = f"ci-pglock-{self.run}"
        self.names = []
        self.uid = docker("run", "--rm", "--entrypoint", "id", image, "-u", "postgres").stdout.strip()
        docker("volume", "create", self.volume)

    def start(self, name):
        container = manifest_container()
        env = {e["name"]: e.get("value") for e in container["env"]}
        env.update(POSTGRES_USER="taskmgr", POSTGRES_DB="taskmgr", POSTGRES_PASSWORD=f"pw-{self.run}")
        full = f"ci-pglock-{self.run}-{name}"
        command = container.get("command", [])
        entrypoint = ["--entrypoint", command[0]] if command else []
        docker("run", "-d", "--name", full, "--user", f"{self.uid}:{self.uid}", "--read-only",
               "--tmpfs", "/var/run/postgresql:mode=1777", "--tmpfs", "/tmp:mode=1777", "--cap-drop", "ALL",
               "--security-opt", "no-new-privileges", "-v", f"{self.volume}:/var/lib/postgresql/data",
               *[f"-e{k}={v}" for k, v in env.items()], *entrypoint, self.image,
               *command[1:], *container.get("args", []))
        self.names.append(full)
        return full

    def ready(self, name):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if docker("exec", name, "pg_isready", "-q", "-h", "127.0.0.1", "-U", "taskmgr", check=False).returncode == 0:
                return
            if docker("inspect", "-f", "{{.State.Running}}", name).stdout.strip() != "true":
                break
            time.sleep(1)
        pytest.fail(f"{name} did not serve within {START_TIMEOUT} s:\n{self.logs(name)}")

    def sql(self, name, statement):
        return docker("exec", name, "psql", "-v", "ON_ERROR_STOP=1", "-qtA", "-U", "taskmgr", "-d", "taskmgr",
                      "-c", statement).stdout.strip()

    def processes(self, name):
        """The command names of the processes running in the container."""
        lines = docker("top", name, "-eo", "pid,comm").stdout.splitlines()[1:]
        return [line.split(None, 1)[1].strip() for line in lines if line.strip()]

    def logs(self, name):
        result = docker("logs", name, check=False)
        return (result.stdout + result.stderr)[-3000:]

    def remove(self):
        for name in self.names:
            docker("rm", "-f", name, check=False)
        docker("volume", "rm", "-f", self.volume, check=False)


@pytest.fixture
def pods(docker_engine, request):
    pods = Pods(os.environ.get("POSTGRES_LOCK_IMAGE") or request.getfixturevalue("offline_images")["POSTGRES_IMAGE"])
    try:
        yield pods
    finally:
        pods.remove()


def write_rows(pods, name, by):
    pods.sql(name, "CREATE TABLE IF NOT EXISTS written (id serial PRIMARY KEY, by text NOT NULL, payload text NOT NULL)")
    pods.sql(name, f"INSERT INTO written (by, payload) SELECT '{by}', md5(g::text) FROM generate_series(1, {ROWS}) g")


def test_a_second_postgres_on_the_volume_waits_until_the_first_has_exited(pods):
    first = pods.start("first")
    pods.ready(first)
    write_rows(pods, first, "first")

    second = pods.start("second")
    for _ in range(OBSERVE_SECONDS * 2):  # watched for a while: PostgreSQL must not appear in the second
        time.sleep(0.5)
        running = pods.processes(second)
        assert "postgres" not in running and "initdb" not in running, (
            f"the second container started PostgreSQL while the first still served: {running}\n{pods.logs(second)}")
    assert "flock" in running, f"the second container is not waiting for the lock: {running}"
    assert "postgres-lock: another postgres holds the data volume; waiting" in pods.logs(second)
    write_rows(pods, first, "first")  # the first one is unaffected

    docker("stop", "-t", "60", first, timeout=90)
    pods.ready(second)
    write_rows(pods, second, "second")
    counts = pods.sql(second, "SELECT by || '=' || count(*) FROM written GROUP BY by ORDER BY by")
    assert counts.split() == [f"first={2 * ROWS}", f"second={ROWS}"], counts
    pods.sql(second, "CREATE EXTENSION IF NOT EXISTS amcheck")
    assert pods.sql(second, "SELECT count(*) FROM verify_heapam('written')") == "0", "heap corruption"
    pods.sql(second, "SELECT bt_index_check('written_pkey', true)")  # raises (psql fails) on a damaged index
