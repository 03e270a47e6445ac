"""The by-hand recipe of docs/RUNNING.md, run as written on one host: both real binaries with only the variables
the recipe sets (METRICS_PORT unset, so each service takes its default metrics port), against a throwaway
PostgreSQL on 127.0.0.1. And a port that cannot be bound: the message names the address and the variable, and the
exit code is the one the docs give. Every wait is bounded."""
import os
import re
import shlex
import socket
import subprocess
from urllib.parse import urlsplit

import pytest

from conftest import ROOT, free_ports, owners_in_public
from test_app_role import SUPERUSER, SUPERUSER_PASSWORD, cluster, serving  # noqa: F401 (its fixture)
from test_deploy_local import http

RUNNING = ROOT / "docs" / "RUNNING.md"
EXIT_CANNOT_LISTEN = 3  # crates/service-kit/src/listen.rs; docs/RUNNING.md documents it


def recipe():
    """{binary: {variable: value}} from the `./target/release/<binary>` lines of the "By hand" section."""
    section = RUNNING.read_text().split("## By hand", 1)[1].split("\n## ", 1)[0]
    commands = {}
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for line in (line for line in block.splitlines() if "./target/release/" in line):
            words = shlex.split(line.split(" #", 1)[0])
            binaries = [w for w in words if w.startswith("./target/release/")]
            if binaries:
                env = dict(w.split("=", 1) for w in words[:words.index(binaries[0])])
                commands[binaries[0].rsplit("/", 1)[1]] = env
    assert set(commands) == {"backend-api", "frontend"}, f"docs/RUNNING.md, By hand: {commands}"
    return commands


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
            return True
        except OSError:
            return False


def test_the_by_hand_recipe_runs_both_services_on_one_host(cluster, debug_dir, tmp_path):  # noqa: F811
    commands = recipe()
    backend_env, frontend_env = commands["backend-api"], commands["frontend"]
    for env in commands.values():
        assert "METRICS_PORT" not in env, "the recipe relies on the default metrics ports"
    for port in (9090, 9091):
        assert port_free(port), (f"port {port} is taken on this host: the recipe starts both services with their "
                                 "default metrics ports 9090 and 9091; free it and rerun")
    # The recipe's own PostgreSQL and API/UI ports are those of a developer's machine: here, the throwaway
    # cluster and two free ports. Everything else is as written, and nothing else is set.
    url = urlsplit(backend_env["DATABASE_URL"])
    database = url.path.lstrip("/")
    cluster.new_database(database)
    role = cluster.run_role_sql(database, url.username, url.password)
    assert role.returncode == 0, role.stderr
    api_port, ui_port = free_ports(2)
    backend_env = {**backend_env, "PATH": os.environ["PATH"], "PORT": str(api_port),
                   "DATABASE_URL": url._replace(netloc=f"{url.username}:{url.password}@127.0.0.1:{cluster.port}")
                   .geturl()}
    backend_url = urlsplit(frontend_env["BACKEND_API_URL"])
    frontend_env = {**frontend_env, "PATH": os.environ["PATH"], "PORT": str(ui_port),
                    "BACKEND_API_URL": backend_url._replace(netloc=f"127.0.0.1:{api_port}").geturl()}

    with serving(debug_dir / "backend-api", backend_env, tmp_path / "backend.log",
                 f"http://127.0.0.1:{api_port}/ready") as (_, backend), \
            serving(debug_dir / "frontend", frontend_env, tmp_path / "frontend.log",
                    f"http://127.0.0.1:{ui_port}/") as (page, frontend):
        assert "· taskmgr</title>" in page
        status, body = http("POST", f"http://127.0.0.1:{ui_port}/api/tasks", {"title": "by hand"})
        assert status == 201, body
        owners = owners_in_public(cluster, database)  # the backend migrated as the role (pg_trgm included)
        assert owners["r tasks"] == owners["r __diesel_schema_migrations"] == url.username, owners
        for port in (9090, 9091):
            status, metrics = http("GET", f"http://127.0.0.1:{port}/metrics")
            assert status == 200 and "# TYPE" in metrics, f":{port}/metrics -> {status}"
        assert backend.poll() is None and frontend.poll() is None


@pytest.mark.parametrize("service", ["backend-api", "frontend"])
@pytest.mark.parametrize("variable", ["PORT", "METRICS_PORT"])
def test_a_taken_port_names_its_address_and_variable(cluster, debug_dir, service, variable):  # noqa: F811
    database = cluster.new_database(f"taken_{service.replace('-', '_')}_{variable.lower()}")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        other = "METRICS_PORT" if variable == "PORT" else "PORT"
        env = {"PATH": os.environ["PATH"], "HOST": "127.0.0.1", variable: str(port), other: "0",
               "DATABASE_URL": f"postgres://{SUPERUSER}:{SUPERUSER_PASSWORD}@127.0.0.1:{cluster.port}/{database}",
               "BACKEND_API_URL": "http://127.0.0.1:9", "RUST_LOG": "warn"}
        result = subprocess.run([str(debug_dir / service)], env=env, capture_output=True, text=True, timeout=60)
    expected = f"{service}: cannot listen on 127.0.0.1:{port} ({variable}): address already in use"
    assert [line for line in result.stderr.splitlines() if "cannot listen" in line] == [expected], result.stderr
    assert result.returncode == EXIT_CANNOT_LISTEN, result.stderr
