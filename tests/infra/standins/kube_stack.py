#!/usr/bin/env python3
"""The kind deployment that tests/infra/e2e-kind.sh checks, played by real processes on 127.0.0.1 (no cluster can
run here): a throwaway PostgreSQL, two backend-api and two frontend "pods", and "Services" (TCP proxies that
skip a pod refusing connections, as endpoints skip unready pods). State in $KUBE_STACK_STATE. Commands:
proxy PORT UPSTREAM..., kubectl ARGS... (the calls of e2e-kind.sh and of the real deploy.sh backup/restore), deploy
(a re-run of ./deploy.sh), replace POD (internal: a ReplicaSet replacing a deleted pod)."""
import asyncio
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pod_exec
from pod_exec import flag_value, words_of

ROOT = Path(__file__).resolve().parents[3]
REPLICAS = 2
DEPLOYMENTS = ("backend-api", "frontend")
STOP_TIMEOUT = 30  # seconds a pod gets to exit after SIGTERM (the manifests' grace periods are longer)
START_POSTGRES, STOP_POSTGRES = 'stack_start_postgres "$1" "$2" "$1.log"', 'STACK_PG_DATA="$1" stack_stop'


def state_dir():
    return Path(os.environ["KUBE_STACK_STATE"])


def config():
    return json.loads((state_dir() / "config.json").read_text())


def wait_until(check, timeout, what):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            print(f"[kube-stand-in] timed out after {timeout} s waiting for {what}", file=sys.stderr, flush=True)
            return False
        time.sleep(0.1)
    return True


def pod_names(deployment):
    return [f"{deployment}-{i}" for i in range(REPLICAS)]


def pod_port(cfg, pod):
    deployment, index = pod.rsplit("-", 1)
    return cfg["ports"][deployment][int(index)]


def pod_env(cfg, pod):
    # METRICS_PORT=0: each process its own free metrics port (pods each have their own IP; processes share one).
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(pod_port(cfg, pod)), "METRICS_PORT": "0", "RUST_LOG": "warn"}
    if pod.startswith("backend-api"):
        return {**env, "DATABASE_URL": cfg["database_url"]}
    return {**env, "BACKEND_API_URL": f"http://127.0.0.1:{cfg['service_ports']['backend-api']}",
            "SECRET_KEY": cfg["secret_key"]}


def alive(pid):
    """Running, as Kubernetes sees a container: a process that exited but is not reaped yet (a zombie of the
    test that started it) is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def start_pod(pod):
    cfg = config()
    with open(state_dir() / f"{pod}.log", "a") as out:
        process = subprocess.Popen([Path(cfg["bin_dir"]) / pod.rsplit("-", 1)[0]], env=pod_env(cfg, pod), stdout=out,
                                   stdin=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    (state_dir() / f"{pod}.pid").write_text(str(process.pid))


def stop_pod(pod):
    pid = int((state_dir() / f"{pod}.pid").read_text())
    if alive(pid):
        os.kill(pid, signal.SIGTERM)
        if not wait_until(lambda: not alive(pid), STOP_TIMEOUT, f"{pod} to exit"):
            os.kill(pid, signal.SIGKILL)


def ready(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def pod_ready(pod):
    """Its /ready answers, and it is not being replaced (a deleted pod leaves the endpoints at once)."""
    url = f"http://127.0.0.1:{pod_port(config(), pod)}/ready"
    return not (state_dir() / f"{pod}.replacing").exists() and ready(url)


def replace(args):
    """What the ReplicaSet does when a pod is deleted: a new postgres on the volume (delete_pods stopped the old one);
    an app pod (delete_pods marked it) gets SIGTERM, then a new one starts."""
    pod = args[0]
    if pod.startswith("postgres"):
        postgres(START_POSTGRES)
    else:
        stop_pod(pod)
        start_pod(pod)
        (state_dir() / f"{pod}.replacing").unlink()


def infra_helpers():
    """tests/infra/conftest.py, imported where it is needed: most kubectl calls need neither it nor pytest."""
    sys.path.insert(0, str(ROOT / "tests" / "infra"))
    import conftest

    return conftest


def postgres(script):
    """SCRIPT after scripts/lib/stack.sh (conftest.stack_sh), with the pod's data directory in $1, its port in $2."""
    cfg = config()
    infra_helpers().stack_sh(script, cfg["pg_data"], cfg["pg_port"])


def postgres_ready():
    cfg = config()
    return subprocess.run([Path(cfg["pg_bin"]) / "pg_isready", "-q", "-h", "127.0.0.1", "-p", str(cfg["pg_port"])]
                          ).returncode == 0


def rollout_status(target, timeout):
    deployment = target.split("/", 1)[1]
    done = postgres_ready if deployment == "postgres" else lambda: all(map(pod_ready, pod_names(deployment)))
    if not wait_until(done, timeout, deployment):
        sys.exit(f"error: timed out waiting for the condition on {target}")
    print(f'deployment "{deployment}" successfully rolled out')
    return 0


def delete_pods(argv, words):
    """By name or by `-l app.kubernetes.io/name=NAME`; a replacement starts in the background. The postgres pod is
    gone before the command returns (e2e-kind.sh's --wait=true); an app pod leaves the endpoints at once."""
    selector = flag_value(argv, "-l")
    for pod in [selector.split("=", 1)[1] + "-0"] if selector else words[2:]:
        print(f'pod "{pod}" deleted')
        if pod.startswith("postgres"):
            postgres(STOP_POSTGRES)
        else:
            (state_dir() / f"{pod}.replacing").touch()
        subprocess.Popen([sys.executable, __file__, "replace", pod], start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return 0


def kubectl(argv):
    words, cfg = words_of(argv), config()
    if words[:2] == ["port-forward", "svc/backend-api"]:
        # Forwards until killed; its pid file lets the test stop it (the script kills only its subshell).
        (state_dir() / "port-forward.pid").write_text(str(os.getpid()))
        return proxy([words[2].split(":")[0], cfg["service_ports"]["backend-api"]])
    if words[:2] == ["get", "pods"] and flag_value(argv, "-o") == "jsonpath={.items[0].metadata.name}":
        print(flag_value(argv, "-l").split("=", 1)[1] + "-0", end="")
        return 0
    if words[:2] == ["delete", "pod"]:
        return delete_pods(argv, words)
    if words[:2] == ["config", "get-contexts"]:
        print(f"kind-{os.environ.get('KIND_CLUSTER_NAME', 'task-manager')}")
        return 0
    if words[:1] == ["exec"]:
        return pod_exec.kubectl_exec(argv, cfg["pg_port"], cfg["pg_bin"])
    if words[:2] == ["rollout", "status"]:
        return rollout_status(words[2], int((flag_value(argv, "--timeout") or "300").rstrip("s")))
    sys.exit(f"kube stand-in: unsupported kubectl call {argv}")


def unavailable_at_once(deployment):
    """How many pods of the deployment the rollout may stop before their replacements are ready, from its
    strategy in kubernetes/ (maxUnavailable, a count or a percentage rounded down, as Kubernetes does; Recreate
    stops them all). The test of a broken strategy is this stand-in running the real manifest."""
    strategy = infra_helpers().by_name("Deployment", deployment)["spec"].get("strategy", {})
    if strategy.get("type") == "Recreate":
        return REPLICAS
    value = str(strategy.get("rollingUpdate", {}).get("maxUnavailable", "25%"))
    return REPLICAS * int(value[:-1]) // 100 if value.endswith("%") else int(value)


def deploy(args):
    """A re-run of ./deploy.sh with a new IMAGE_TAG: each deployment is rolled as its manifest's strategy says; with
    maxUnavailable 0 one pod at a time, while the other replica serves."""
    tag = os.environ["IMAGE_TAG"]  # a new tag, or the real deploy.sh would roll nothing out
    for deployment in DEPLOYMENTS:
        pods, batch = pod_names(deployment), max(1, unavailable_at_once(deployment))
        for start in range(0, REPLICAS, batch):
            rolled = pods[start:start + batch]
            for pod in rolled:
                stop_pod(pod)
            for pod in rolled:
                start_pod(pod)
            if not wait_until(lambda: all(map(pod_ready, rolled)), 120, f"{rolled} to be ready"):
                return 1
        print(f'deployment "{deployment}" successfully rolled out (image tag {tag})')
    return 0


async def pipe(reader, writer):
    with contextlib.suppress(OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


def proxy(args):
    """A Service on port args[0] for the pods' ports args[1:]: each connection goes to the next pod that accepts it.
    A pod that refuses is skipped (it has left the endpoints); with none left the client sees the refusal, as
    kube-proxy rejects connections to a Service without ready endpoints. No retrying that would hide it."""
    port, upstreams = int(args[0]), [int(a) for a in args[1:]]
    order = itertools.cycle(upstreams)

    async def handle(reader, writer):
        for _ in upstreams:
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", next(order))
                break
            except OSError:
                pass
        else:
            writer.close()
            return
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def serve():
        server = await asyncio.start_server(handle, "127.0.0.1", port, reuse_address=True)
        await server.serve_forever()

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))  # no teardown noise from open connections
    asyncio.run(serve())


if __name__ == "__main__":
    sys.exit({"proxy": proxy, "kubectl": kubectl, "deploy": deploy, "replace": replace}[sys.argv[1]](sys.argv[2:]))
