"""One postmaster per data volume: two containers of the postgres image on one volume, started as
kubernetes/postgres-deployment.yaml starts its container (a replacement pod while the old one still runs): the
second must not start PostgreSQL until the first exits, and the table both wrote passes amcheck. Docker stage
of scripts/test.sh; image: POSTGRES_LOCK_IMAGE, else POSTGRES_IMAGE, else scripts/offline-images.sh's."""
import os
import re
import subprocess
import time
import uuid

import pytest

from conftest import ROOT, SUPERUSER_PGOPTIONS, by_name, docker

START_TIMEOUT = 120  # initdb on the first start, then crash recovery at most
OBSERVE_SECONDS = 5  # how long the second container is watched while the first one serves
ROWS = 500


def resolved_env(container, secret):
    """The container's environment as the kubelet resolves it: values, app-config's keys and `secret`'s keys."""
    sources = {"configMapKeyRef": by_name("ConfigMap", "app-config")["data"], "secretKeyRef": secret}
    return {entry["name"]: entry["value"] if "value" in entry else
            next(sources[kind][ref["key"]] for kind, ref in entry["valueFrom"].items()) for entry in container["env"]}


class Pods:
    """The postgres Deployment's container as written, run by docker: containers ci-pglock-<run>-<name> on the
    volume and network ci-pglock-<run>, removed at the end."""

    def __init__(self, image):
        self.image = image
        self.network = self.volume = f"ci-pglock-{uuid.uuid4().hex[:8]}"
        self.secret = {"POSTGRES_PASSWORD": f"pw-{self.volume}"}
        self.container = by_name("Deployment", "postgres")["spec"]["template"]["spec"]["containers"][0]
        self.env = resolved_env(self.container, self.secret)
        self.uid = docker("run", "--rm", "--entrypoint", "id", image, "-u", "postgres").stdout.strip()
        docker("volume", "create", self.volume)
        docker("network", "create", self.network)

    def start(self, name, alias=None):
        """A container named name, reached on the network as alias."""
        full, command = f"{self.volume}-{name}", self.container["command"]
        docker("run", "-d", "--name", full, "--label", self.volume, "--user", f"{self.uid}:{self.uid}", "--read-only",
               "--tmpfs", "/var/run/postgresql:mode=1777", "--tmpfs", "/tmp:mode=1777", "--cap-drop", "ALL",
               "--security-opt", "no-new-privileges", "-v", f"{self.volume}:/var/lib/postgresql/data",
               "--network", self.network, *(["--network-alias", alias] if alias else []),
               *[f"-e{k}={v}" for k, v in self.env.items()], "--entrypoint", command[0], self.image,
               *command[1:], *self.container.get("args", []))
        return full

    def ready(self, name):
        """Waits until PostgreSQL in the container answers; fails after START_TIMEOUT or once the container stops."""
        wait = f"until pg_isready -q -h 127.0.0.1 -U {self.env['POSTGRES_USER']}; do sleep 1; done"
        if docker("exec", name, "timeout", str(START_TIMEOUT), "sh", "-c", wait, check=False,
                  timeout=START_TIMEOUT + 30).returncode != 0:
            pytest.fail(f"{name} did not serve within {START_TIMEOUT} s:\n{self.logs(name)}")

    def sql(self, name, statement, user=None, password=""):
        """statement as the superuser over the socket (search_path pinned: tables as public.NAME), or as user with its
        password over TCP."""
        login = ["-h", "127.0.0.1", "-U", user] if user else ["-U", self.env["POSTGRES_USER"]]
        pin = [] if user else ["-e", f"PGOPTIONS={SUPERUSER_PGOPTIONS}"]
        return docker("exec", "-e", f"PGPASSWORD={password}", *pin, name, "psql", "-X", "-v", "ON_ERROR_STOP=1",
                      "-qtA", *login, "-d", self.env["POSTGRES_DB"], "-c", statement).stdout.strip()

    def processes(self, name):
        """The command names of the processes running in the container."""
        return [line.split()[1] for line in docker("top", name, "-eo", "pid,comm").stdout.splitlines()[1:]]

    def logs(self, name):
        result = docker("logs", name, check=False)
        return (result.stdout + result.stderr)[-3000:]

    def remove(self):
        docker("rm", "-f", *docker("ps", "-aq", "--filter", f"label={self.volume}").stdout.split(), check=False)
        docker("volume", "rm", "-f", self.volume, check=False)
        docker("network", "rm", self.network, check=False)


@pytest.fixture
def pods(docker_engine):
    image = os.environ.get("POSTGRES_LOCK_IMAGE") or os.environ.get("POSTGRES_IMAGE")
    if not image:  # the official image where it can be had, else a local stand-in (built once: root, debootstrap)
        offline = subprocess.run([str(ROOT / "scripts" / "offline-images.sh")], capture_output=True, text=True,
                                 cwd=ROOT, timeout=1200)
        assert offline.returncode == 0, f"scripts/offline-images.sh could not provide an image:\n{offline.stderr}"
        image = re.search(r"^POSTGRES_IMAGE=(.+)$", offline.stdout, re.M).group(1)
    pods = Pods(image)
    try:
        yield pods
    finally:
        pods.remove()


def write_rows(pods, name, by):
    pods.sql(name, "CREATE TABLE IF NOT EXISTS public.written (id serial PRIMARY KEY, by text NOT NULL, "
                   "payload text NOT NULL)")
    pods.sql(name, f"INSERT INTO public.written (by, payload) SELECT '{by}', md5(g::text) "
                   f"FROM generate_series(1, {ROWS}) g")


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
    counts = pods.sql(second, "SELECT by || '=' || count(*) FROM public.written GROUP BY by ORDER BY by")
    assert counts.split() == [f"first={2 * ROWS}", f"second={ROWS}"], counts
    pods.sql(second, "CREATE EXTENSION IF NOT EXISTS amcheck SCHEMA public")
    assert pods.sql(second, "SELECT count(*) FROM public.verify_heapam('public.written')") == "0", "heap corruption"
    pods.sql(second, "SELECT public.bt_index_check('public.written_pkey', true)")  # raises on a damaged index
