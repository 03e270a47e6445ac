"""Offline checks of the GitHub Actions workflow: nothing on this machine can run GitHub Actions, so the
workflow is checked with zizmor and checkov, read as YAML for its hygiene, and compared with deploy.sh,
scripts/test.sh and .ci/run so that CI runs the commands a developer runs."""
import re
import subprocess

import pytest
import yaml

from conftest import ROOT, VENV_HINT, run_checkov, tool
from test_test_stages import STAGES

WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


@pytest.fixture(scope="module")
def workflow():
    return yaml.safe_load(WORKFLOW.read_text())


def run_lines(job):
    return [line.strip() for step in job["steps"] for line in step.get("run", "").splitlines()]


def uses(job, action):
    steps = [s for s in job["steps"] if s.get("uses", "").startswith(action + "@")]
    assert len(steps) == 1, f"expected one step using {action}"
    return steps[0]


def test_zizmor_and_checkovs_github_actions_checks_find_nothing():
    zizmor = tool("zizmor", VENV_HINT)
    result = subprocess.run([zizmor, "--offline", "--persona=pedantic", str(WORKFLOW)], capture_output=True,
                            text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0 and "No findings" in result.stdout + result.stderr, result.stdout + result.stderr
    passed, failed = run_checkov(ROOT, "github_actions")
    # checkov silently skips a workflow its bundled schema rejects: insist that it really checked something.
    assert passed > 50, f"checkov did not check the workflow ({passed} checks passed)"
    assert not failed, "\n".join(failed)


def test_every_action_pinned_to_a_commit_notes_its_tag():
    """zizmor (pedantic) already refuses an action not pinned to a full commit SHA; the comment says which tag."""
    used = [line.strip() for line in WORKFLOW.read_text().splitlines() if re.match(r"\s*(- )?uses:", line)]
    assert used and [line for line in used if not re.search(r"@[0-9a-f]{40} # v\d", line)] == []


def test_permissions_are_least_privilege(workflow):
    assert workflow["permissions"] == {"contents": "read"}
    for name, job in workflow["jobs"].items():
        granted = job.get("permissions", {})
        writes = {k for k, v in granted.items() if v == "write"}
        if name == "images":
            assert writes == {"packages", "id-token"}, "only the release may write: packages, and the OIDC token"
        else:
            assert not granted, f"job {name} needs no permission beyond the workflow's"
    assert all(step["with"]["persist-credentials"] is False for job in workflow["jobs"].values()
               for step in job["steps"] if step.get("uses", "").startswith("actions/checkout@"))


def test_images_are_pushed_only_from_main_after_every_other_job(workflow):
    job = workflow["jobs"]["images"]
    assert "refs/heads/main" in job["if"] and "push" in job["if"]
    assert set(job["needs"]) == set(workflow["jobs"]) - {"images"}


def test_ci_runs_the_deploy_and_test_commands(workflow):
    """./deploy.sh and e2e-kind.sh in e2e-kind; .ci/run ends with the tests (its install: the runners' Chrome test)."""
    assert {"./deploy.sh", "./tests/infra/e2e-kind.sh"} <= set(run_lines(workflow["jobs"]["e2e-kind"]))
    assert (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1].strip() == "./scripts/test.sh"


def stages_run_by(job):
    """The stages that a job's `./scripts/test.sh [STAGE...]` lines run (every stage for a bare one; STAGES is what
    `./scripts/test.sh --list` names, test_test_stages.py checks)."""
    commands = [line.split() for line in run_lines(job) if line.split()[:1] == ["./scripts/test.sh"]]
    return [stage for words in commands for stage in words[1:] or STAGES]


def test_the_test_and_docker_jobs_together_run_every_stage_of_the_test_command_once(workflow):
    ran = stages_run_by(workflow["jobs"]["test"]) + stages_run_by(workflow["jobs"]["docker"])
    assert sorted(ran) == sorted(STAGES), ran


# kind releases and the Kubernetes version of their default node image (kind's release notes).
KIND_NODE = {"v0.29.0": "v1.33.1"}


def test_kind_cluster_in_ci_is_the_one_deploy_sh_uses_with_the_nodes_kubectl(workflow):
    """helm/kind-action names its cluster chart-testing unless told: name it as kind-config.yaml does, and let
    deploy.sh (kind load, kubectl context) know through KIND_CLUSTER_NAME. Its kubectl is v1.31.4 unless told."""
    job = workflow["jobs"]["e2e-kind"]
    kind_config = yaml.safe_load((ROOT / "kind-config.yaml").read_text())
    action = uses(job, "helm/kind-action")["with"]
    assert action["config"] == "kind-config.yaml"
    assert action["cluster_name"] == kind_config["name"] == job["env"]["KIND_CLUSTER_NAME"]
    node, kubectl = KIND_NODE[action["version"]], action.get("kubectl_version", "v1.31.4")
    assert kubectl.split(".")[:2] == node.split(".")[:2], f"use the node's own minor: kubectl {kubectl}, node {node}"


def test_release_images_use_no_layer_cache_and_the_dockerfiles_stay_classic_builder_friendly(workflow):
    """No layer cache on the release path (a cache pull requests can write could poison it); the Dockerfiles use
    no BuildKit-only syntax (cache mounts), because deploy.sh and scripts/e2e-docker.sh also build them with the
    classic builder."""
    job = workflow["jobs"]["images"]
    uses(job, "docker/setup-buildx-action")
    build = uses(job, "docker/build-push-action")["with"]
    assert not {"cache-from", "cache-to"} & set(build)
    for svc in ("backend-api", "frontend"):
        dockerfile = (ROOT / "crates" / svc / "Dockerfile").read_text()
        assert "--mount=" not in dockerfile and "# syntax=" not in dockerfile, svc


def test_ci_uses_the_rust_of_the_dockerfiles(workflow):
    """One Rust: the workflow's toolchain is the builder image's, so a newer stable cannot break CI by surprise.
    (scripts/docker-lint.sh checks that both Dockerfiles and docker-compose.yml default to the same image.)"""
    default = re.search(r"^ARG RUST_IMAGE=rust:([\d.]+)-", (ROOT / "crates/backend-api/Dockerfile").read_text(), re.M)
    assert default and default.group(1) == workflow["env"]["RUST_TOOLCHAIN"], "ARG RUST_IMAGE=rust:<version>-..."
    for name in ("lint", "test"):
        install = [s["run"] for s in workflow["jobs"][name]["steps"] if "rustup toolchain install" in s.get("run", "")]
        assert install == ['rustup toolchain install "$RUST_TOOLCHAIN" --profile minimal --component rustfmt,clippy'
                           ' && rustup default "$RUST_TOOLCHAIN"'], name
        assert "stable" not in " ".join(run_lines(workflow["jobs"][name]))


ESTIMATES = ROOT / ".ci" / "job-estimates.yml"


def test_every_timeout_is_at_least_twice_the_estimate_and_estimates_cover_the_measured_stages(workflow):
    budget = yaml.safe_load(ESTIMATES.read_text())
    estimates, measured = budget["jobs"], budget["measured"]
    assert set(estimates) == set(workflow["jobs"]), f"{ESTIMATES.name} estimates {sorted(estimates)}"
    assert set(measured) == set(STAGES), f"{ESTIMATES.name} measures {sorted(measured)}"
    for name, job in workflow["jobs"].items():
        assert 2 * estimates[name] <= job.get("timeout-minutes", 0) <= 60, \
            f"{name}: timeout-minutes {job.get('timeout-minutes')}, not within 2 x {estimates[name]} min and 60"
        stages = stages_run_by(job)
        needed = sum(measured[stage] for stage in stages) / budget["speedup"] / 60
        assert estimates[name] >= needed, f"{name}: {estimates[name]} min < {needed:.1f} min for {stages}"


def test_every_job_that_installs_with_ci_run_uses_the_runners_chrome(workflow):
    """.ci/run installs the browser stage's Chromium unless CHROMIUM names one; on the runners Ubuntu's `chromium`
    is a snap stub, so every job that runs it names the runner's Chrome and passes it through sudo."""
    jobs = {name: job for name, job in workflow["jobs"].items()
            if any(".ci/run" in step.get("run", "") for step in job["steps"])}
    assert {"test", "docker"} <= set(jobs)
    for name, job in jobs.items():
        assert job.get("env", {}).get("CHROMIUM") == "/usr/bin/google-chrome", name
        for step in job["steps"]:
            if ".ci/run" in step.get("run", ""):
                assert re.search(r"sudo --preserve-env=\S*CHROMIUM bash \.ci/run --install-only", step["run"]), name
