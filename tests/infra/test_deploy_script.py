"""deploy.sh's kind path against the recording stand-ins of standins/fake_tool.py (no cluster can run here): the
cluster, images, Secret and applied objects it asks for, and what it prints on failure."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import KUBECTL_HINT, NAMESPACE, ROOT, tool

STANDIN = Path(__file__).parent / "standins" / "fake_tool.py"
# What deploy.sh needs from the system besides the three stand-ins.
SYSTEM_TOOLS = ["bash", "env", "sed", "git", "od", "tr", "mktemp", "chmod", "rm", "head", "tail", "grep", "awk",
                "cat", "date", "dirname", "sort", "curl", "sha256sum", "cut", "openssl"]
TAG = "0123456789ab"


class Run:
    def __init__(self, result, state_dir):
        self.returncode, self.stdout, self.stderr = result.returncode, result.stdout, result.stderr
        log, self.state = state_dir / "calls.jsonl", state_dir
        self.calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    def of(self, tool):
        return [c for c in self.calls if c["tool"] == tool]

    def stored(self):
        return json.loads((self.state / "state.json").read_text())

    def index(self, match):
        for i, c in enumerate(self.calls):
            if match(c) if callable(match) else match in " ".join([c["tool"], *c["argv"]]):
                return i
        raise AssertionError(f"no call matches {match!r}:\n" + "\n".join(" ".join(c["argv"]) for c in self.calls))


@pytest.fixture
def deploy(tmp_path, clean_env):
    """Runs ./deploy.sh with only the stand-ins and the basic system tools on PATH."""
    bin_dir, state, tmp = tmp_path / "bin", tmp_path / "state", tmp_path / "tmp"  # tmp: TMPDIR, to see what is left
    for directory in (bin_dir, state, tmp):
        directory.mkdir()
    for name in ("kind", "kubectl", "docker"):
        (bin_dir / name).symlink_to(STANDIN)
    for name in SYSTEM_TOOLS:
        found = shutil.which(name)
        assert found, f"{name} is needed by deploy.sh and this test"
        (bin_dir / name).symlink_to(found)
    (bin_dir / "python3").symlink_to(sys.executable)
    real_kubectl = tool("kubectl", KUBECTL_HINT)  # the stand-in renders `apply -k` with it (no cluster needed)

    def environment(extra):
        return {**clean_env, "PATH": str(bin_dir), "STANDIN_STATE": str(state), "IMAGE_TAG": TAG, "TMPDIR": str(tmp),
                "STANDIN_REAL_KUBECTL": real_kubectl, **extra}

    def run(*args, env=None, without=(), check=False):
        """without: stand-ins taken off PATH from this run on."""
        (state / "calls.jsonl").unlink(missing_ok=True)  # each Run sees its own calls; state.json persists
        for name in without:
            (bin_dir / name).unlink()
        result = subprocess.run([str(ROOT / "deploy.sh"), *args], capture_output=True, text=True,
                                env=environment(env or {}), cwd=ROOT, timeout=60)
        assert result.returncode == 0 or not check, result.stderr
        return Run(result, state)

    run.state, run.tmp, run.bin, run.environment, run.real_kubectl = state, tmp, bin_dir, environment, real_kubectl
    return run


def applied_objects(run):
    """Every object deploy.sh applied, in order, from files, stdin or a kustomization (-k)."""
    return [o for c in run.of("kubectl") for o in applied_by(c)]


def applied_by(call):
    """The objects one kubectl call applied (none if it was no apply)."""
    argv = call["argv"]
    if "apply" not in argv or "-k" in argv:
        return call.get("applied") or []
    source = argv[argv.index("-f") + 1]
    return [d for d in yaml.safe_load_all(call["stdin"] if source == "-" else Path(source).read_text()) if d]


def first_apply_of(run, kind, name=None):
    return run.index(lambda c: any(o["kind"] == kind and name in (None, o["metadata"]["name"]) for o in applied_by(c)))


def created_secrets(run, name="app-secrets"):
    return [c["secret"] for c in run.of("kubectl") if "create" in c["argv"] and name in c["argv"]]


def test_first_deploy_creates_the_cluster_builds_loads_and_applies_in_order_then_day_2_commands(deploy):
    """The Secret: random values, never on a command line, new for each new namespace. Then logs, an unknown
    command, down (the namespace and its Secret; the cluster stays) and down --all."""
    run = deploy(check=True)
    calls = "".join(" ".join([c["tool"], *c["argv"]]) + "\n" for c in run.calls)  # one line per call
    assert f"kind create cluster --name task-manager --config {ROOT}/kind-config.yaml --wait 120s\n" in calls
    for svc in ("backend-api", "frontend"):
        assert f"docker build -f crates/{svc}/Dockerfile -t taskmgr/{svc}:{TAG} " in calls
        assert f"kind load docker-image --name task-manager taskmgr/{svc}:{TAG}\n" in calls
    assert run.index("docker build") < run.index("load docker-image") < run.index("apply")
    assert all(c["argv"][:2] == ["--context", "kind-task-manager"] for c in run.of("kubectl"))
    kinds = [(o["kind"], o["metadata"]["name"]) for o in applied_objects(run)]
    assert kinds[:2] == [("Namespace", NAMESPACE), ("ConfigMap", "app-config")]
    order = [run.index("namespace.yaml"), run.index("configmap.yaml"), run.index("create secret generic"),
             first_apply_of(run, "Deployment", "postgres"), run.index("rollout status deployment/postgres"),
             first_apply_of(run, "Deployment", "backend-api"), run.index("rollout status deployment/backend-api"),
             first_apply_of(run, "Deployment", "frontend"), run.index("rollout status deployment/frontend"),
             first_apply_of(run, "NetworkPolicy"), first_apply_of(run, "PodDisruptionBudget")]
    assert order == sorted(order), "apply order: namespace, config, secret, postgres, backend, frontend, extras"
    assert "http://localhost:30080" in run.stdout and "port-forward svc/backend-api 5000:5000" in run.stdout
    assert "curl http://localhost:5000/api/tasks" in run.stdout
    # Without --tls and --pgadmin: no Gateway manifest (given on stdin), no word of either, one Secret only.
    assert not any(c["stdin"] for c in run.of("kubectl") if "apply" in c["argv"])
    assert "pgadmin" not in run.stdout and "30443" not in run.stdout
    [secret] = [c["secret"] for c in run.of("kubectl") if "create" in c["argv"]]
    assert set(secret) == {"POSTGRES_PASSWORD", "POSTGRES_APP_PASSWORD", "SECRET_KEY"}
    assert len(secret["POSTGRES_PASSWORD"]) >= 32 and len(secret["POSTGRES_APP_PASSWORD"]) >= 32
    assert len(secret["SECRET_KEY"]) >= 64 and "local-dev-only" not in str(secret)
    assert secret["POSTGRES_APP_PASSWORD"] != secret["POSTGRES_PASSWORD"], "the backend's role has its own password"
    assert not any(value in " ".join(c["argv"]) for c in run.of("kubectl") for value in secret.values())
    logs = deploy("logs", "backend-api", check=True)
    assert any("app.kubernetes.io/name=backend-api" in c["argv"] for c in logs.of("kubectl"))
    assert deploy("logs", "nosuch").returncode != 0
    bad = deploy("frobnicate")
    assert bad.returncode != 0 and "unknown command" in bad.stderr
    down = deploy("down", check=True)
    assert any(c["argv"][2:5] == ["delete", "namespace", NAMESPACE] for c in down.of("kubectl"))
    assert not any("delete" in c["argv"] for c in down.of("kind")) and down.stored()["clusters"] == ["task-manager"]
    [again] = created_secrets(deploy())
    assert again["POSTGRES_PASSWORD"] != secret["POSTGRES_PASSWORD"], "each new namespace gets a new password"
    assert deploy("down", "--all", check=True).stored()["clusters"] == []


def test_redeploys_keep_the_cluster_and_the_secret_from_the_environment_and_recreate_replaces_the_cluster(deploy):
    first = deploy(env={"POSTGRES_PASSWORD": "from-the-env", "SECRET_KEY": "key-from-the-env"}, check=True)
    [secret] = created_secrets(first)
    assert secret["POSTGRES_APP_PASSWORD"] not in ("", "from-the-env")
    assert (secret["POSTGRES_PASSWORD"], secret["SECRET_KEY"]) == ("from-the-env", "key-from-the-env")
    second = deploy(env={"IMAGE_TAG": "second", "POSTGRES_PASSWORD": "ignored-now"}, check=True)
    assert not any(c["argv"][:2] == ["create", "cluster"] for c in second.of("kind"))
    assert not any({"create", "patch"} & set(c["argv"]) for c in second.of("kubectl")), "the Secret is kept as is"
    assert "keeping it" in second.stdout and second.stored()["secrets"] == {"app-secrets": secret}
    images = {c["image"] for o in applied_objects(second) if o["kind"] == "Deployment"
              for c in o["spec"]["template"]["spec"]["containers"]}
    assert {"taskmgr/backend-api:second", "taskmgr/frontend:second"} <= images
    # --recreate deletes the cluster first; without IMAGE_TAG the tag is the git revision.
    run = deploy("--recreate", env={"IMAGE_TAG": ""}, check=True)
    assert run.index("delete cluster --name task-manager") < run.index("create cluster --name task-manager")
    rev = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, cwd=ROOT,
                         check=True).stdout.strip()
    loads = [c["argv"][-1] for c in run.of("kind") if c["argv"][:2] == ["load", "docker-image"]]
    assert loads and all(image.split(":", 1)[1].startswith(rev) for image in loads), loads
    # helm/kind-action names its cluster itself: KIND_CLUSTER_NAME makes kind load and kubectl use that name.
    run = deploy(env={"KIND_CLUSTER_NAME": "chart-testing"}, check=True)
    assert any(c["argv"][:4] == ["load", "docker-image", "--name", "chart-testing"] for c in run.of("kind"))
    assert all(c["argv"][:2] == ["--context", "kind-chart-testing"] for c in run.of("kubectl"))


def test_redeploy_adds_the_app_role_password_to_an_older_secret_and_keeps_the_other_keys(deploy):
    """A Secret from before the backend had its own role: the key is added through stdin, before the backend needs
    it; the superuser's password (the volume's) and the cookie key stay."""
    state = deploy(check=True).stored()
    older = {"POSTGRES_PASSWORD": "volume-password", "SECRET_KEY": "cookie-key"}
    state["secrets"]["app-secrets"] = dict(older)
    (deploy.state / "state.json").write_text(json.dumps(state))
    run = deploy()
    assert run.returncode == 0 and "adding POSTGRES_APP_PASSWORD" in run.stdout, run.stderr
    secret = run.stored()["secrets"]["app-secrets"]
    added = secret.pop("POSTGRES_APP_PASSWORD")
    assert secret == older and len(added) >= 32 and added not in older.values()
    patch = [c for c in run.of("kubectl") if "patch" in c["argv"]]
    assert len(patch) == 1 and added not in " ".join(patch[0]["argv"]) and created_secrets(run) == []
    assert run.index("patch secret") < first_apply_of(run, "Deployment", "backend-api")
    again = deploy()
    assert not any("patch" in c["argv"] for c in again.of("kubectl")), "added once"
    assert again.stored()["secrets"]["app-secrets"]["POSTGRES_APP_PASSWORD"] == added


def test_no_extras_removes_the_policies_and_budgets_an_earlier_deploy_applied(deploy):
    def live(run):
        return {kind for kind, _, _ in run.stored()["objects"]}
    assert {"NetworkPolicy", "PodDisruptionBudget", "Deployment"} <= live(deploy(check=True))
    run = deploy("--no-extras", check=True)
    assert "Deployment" in live(run) and not {"NetworkPolicy", "PodDisruptionBudget"} & live(run), run.stored()
    assert {"NetworkPolicy", "PodDisruptionBudget"} <= live(deploy(check=True)), "a deploy with them restores them"


def test_tls_without_the_network_policies_is_refused_before_anything_changes(deploy):
    run = deploy("--tls", "--no-extras")
    assert run.returncode != 0 and "--tls needs the NetworkPolicies" in run.stderr, run.stderr
    assert not run.of("kind") and not run.of("docker") and not run.of("kubectl")


@pytest.mark.parametrize("without,env,says", [
    (["kind"], {}, ["kind is missing", "go install sigs.k8s.io/kind"]),
    (["kubectl"], {}, ["kubectl is missing", "apt-get install kubernetes-client"]),
    (["docker"], {}, ["docker is missing", "apt-get install docker.io"]),
    ([], {"STANDIN_DOCKER_DOWN": "1"}, ["missing: a reachable Docker daemon", "start it"]),
], ids=["kind", "kubectl", "docker", "docker daemon unreachable"])
def test_missing_prerequisite_stops_before_doing_anything_and_says_how_to_get_it(deploy, without, env, says):
    run = deploy(without=without, env=env)
    assert run.returncode != 0 and all(text in run.stderr for text in says), run.stderr
    assert "deploy.sh local" in run.stderr, "point at the way to run without a cluster"
    assert not any(c["argv"][:1] in (["build"], ["create"], ["apply"]) for c in run.calls)


def test_failed_rollout_prints_events_descriptions_and_logs(deploy):
    run = deploy(env={"STANDIN_FAIL_ROLLOUT": "backend-api"})
    assert run.returncode != 0 and "deploy failed" in run.stderr
    assert "Back-off restarting failed container" in run.stderr, "recent events"
    assert "describe pod/backend-api-abc" in run.stderr and "Liveness probe failed" in run.stderr
    assert "log line from pod/backend-api-abc" in run.stderr
    assert "describe pod/postgres-123" not in run.stderr, "only pods that are not ready"
    assert "frontend" not in {o["metadata"]["name"] for o in applied_objects(run) if o["kind"] == "Deployment"}, \
        "stops at the first failure"
    assert any("-k" in c["argv"] for c in run.of("kubectl")) and not list(deploy.tmp.iterdir()), \
        "the throwaway overlay, applied, is removed"


@pytest.mark.parametrize("command", [("status",), ("logs",), ("logs", "frontend"), ("down",)])
def test_day2_commands_without_the_cluster_say_so_in_one_line(deploy, tmp_path, command):
    """No kind cluster: one line naming the cluster and what to run instead; no header, no raw kubectl error. With
    the real kubectl and an empty kubeconfig (no API server is contacted)."""
    (deploy.bin / "kubectl").unlink()
    (deploy.bin / "kubectl").symlink_to(deploy.real_kubectl)
    run = deploy(*command, env={"KUBECONFIG": str(tmp_path / "no-kubeconfig")})
    [line] = run.stderr.strip().splitlines()
    assert run.returncode != 0 and line.startswith(
        "deploy.sh: there is no kind cluster task-manager (kubectl has no context kind-task-manager); "), line
    assert ("docker compose down" if command == ("down",) else "run ./deploy.sh to create it") in line
    assert run.stdout == "", "nothing announced before the refusal"


def interrupted_while_creating_the_secret(deploy, sig, *args, env=None):
    """Runs ./deploy.sh ARGS and sends sig (to the process group, as a terminal or a service manager does) while
    `kubectl create secret` runs; its exit status, once the control held: the value file existed then."""
    env = deploy.environment({"STANDIN_KUBECTL_SLEEP": "30", "POSTGRES_PASSWORD": "pw-that-must-not-stay",
                              **(env or {})})
    process = subprocess.Popen([str(ROOT / "deploy.sh"), *args], env=env, cwd=ROOT, start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not (deploy.state / "blocking").exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "deploy.sh never reached kubectl create secret"
        time.sleep(0.1)
    assert any(deploy.tmp.rglob("POSTGRES_PASSWORD")), "the control: the value file exists while kubectl runs"
    os.killpg(process.pid, sig)
    process.communicate(timeout=30)
    return process.returncode


@pytest.mark.parametrize("sig,code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_interrupted_secret_creation_leaves_no_value_on_disk(deploy, sig, code):
    """SIGTERM or Ctrl-C while `kubectl create secret` is running: deploy.sh exits and its temporary files with
    the values are gone."""
    assert interrupted_while_creating_the_secret(deploy, sig) == code
    assert list(deploy.tmp.rglob("*")) == [], f"left on disk after {sig.name}"
