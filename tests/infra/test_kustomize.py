"""`kubectl kustomize` (the real client, no cluster needed) through the offline checks, and deploy.sh (against the
stand-ins, whose `apply -k` renders with the real client and applies its --selector) applying exactly that."""
import os
import re
import subprocess

import pytest
import yaml

from conftest import EXTRAS_DIR, KUBECTL_HINT, KUSTOMIZATION, MANIFEST_DIR, NAMESPACE, ROOT, SECRET_EXAMPLE, \
    SERVICES, all_objects, checkov_finds_nothing_in, load_docs, run_manifest_checks, tool, validate_strictly, \
    write_renders
from test_deploy_script import TAG, Run, applied_by, deploy  # noqa: F401 (deploy is the stand-in fixture)
from test_deploy_tls_pgadmin import gateway_env

# The opt-in components of extras/ and the deploy.sh flags that add them (pgadmin-route: --tls with --pgadmin).
OPT_IN = {"autoscalers": {"--hpa"}, "tls": {"--tls"}, "pgadmin": {"--pgadmin"},
          "pgadmin-route": {"--tls", "--pgadmin"}}
STANDARDS = "tests/infra/test_manifests_standards.py"
CONSISTENCY = "tests/infra/test_consistency.py"
# What each variant leaves out by design, and so the checks about it that cannot apply there (deselected).
WITHOUT_AUTOSCALERS = {f"{STANDARDS}::test_disruption_budgets_and_autoscalers_cover_both_stateless_services":
                       "the HPAs are opt-in (--hpa)"}
WITHOUT_EXTRAS = {**WITHOUT_AUTOSCALERS,
                  f"{STANDARDS}::test_disruption_budgets_never_block_a_node_drain": "no PodDisruptionBudgets",
                  f"{CONSISTENCY}::test_metrics_are_served_only_inside_the_cluster": "no NetworkPolicies",
                  f"{CONSISTENCY}::test_network_policies_allow_exactly_the_flows_the_services_use":
                  "no NetworkPolicies"}
WITHOUT_TLS = {f"{STANDARDS}::test_the_gateways_nginx_container_has_requests_and_limits": "HTTPS is opt-in (--tls)"}
WITHOUT_PGADMIN = {f"{CONSISTENCY}::test_pgadmin_has_taskmgrs_database_registered_and_listens_where_its_service_points":
                   "pgAdmin is opt-in (--pgadmin)"}
# name: (deploy.sh flags, image tag set in an overlay or None for the manifests' own, deselected checks)
VARIANTS = {
    "apply -k kubernetes/": ((), None, {**WITHOUT_AUTOSCALERS, **WITHOUT_PGADMIN, **WITHOUT_TLS}),
    "deploy.sh --hpa": (("--hpa",), TAG, {**WITHOUT_PGADMIN, **WITHOUT_TLS}),
    "deploy.sh --no-extras": (("--no-extras",), TAG, {**WITHOUT_EXTRAS, **WITHOUT_PGADMIN, **WITHOUT_TLS}),
    "deploy.sh --tls --pgadmin": (("--tls", "--pgadmin"), TAG, WITHOUT_AUTOSCALERS),
}


def key(obj):
    return obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"]


def kustomize(directory):
    result = subprocess.run([tool("kubectl", KUBECTL_HINT), "kustomize", str(directory)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def component_objects(directory):
    """The objects of the files a kustomize component lists under resources."""
    listed = yaml.safe_load((directory / KUSTOMIZATION).read_text())["resources"]
    return [o for name in listed for o in load_docs(directory / name)]


def rendered(tmp_path, flags=(), tag=None):
    """`kubectl kustomize kubernetes/`; with a tag or opt-in flags, of an overlay of it (as a user would write one)
    that sets both taskmgr images to the tag and adds the components of the flags (OPT_IN); with --no-extras, minus
    the objects of the extras component."""
    components = [name for name, needs in OPT_IN.items() if needs <= set(flags)]
    overlay = tmp_path / "overlay"
    overlay.mkdir(exist_ok=True)
    (overlay / KUSTOMIZATION).write_text(yaml.safe_dump({
        "resources": [os.path.relpath(MANIFEST_DIR, overlay)],
        "components": [os.path.relpath(EXTRAS_DIR / name, overlay) for name in components],
        "images": [{"name": f"taskmgr/{svc}", "newTag": tag} for svc in SERVICES if tag is not None]}))
    objects = kustomize(overlay if tag is not None or components else MANIFEST_DIR)
    if "--no-extras" in flags:
        extras = {key(o) for o in component_objects(EXTRAS_DIR)}
        objects = [o for o in objects if key(o) not in extras]
    return objects


def test_the_kustomizations_hold_every_manifest_exactly_once(tmp_path):
    """kubernetes/ renders every manifest but the opt-in components', unchanged; with the autoscalers component it
    adds them unchanged, and with tls, pgadmin and pgadmin-route it adds theirs (tls patches the frontend). A file
    left out of a kustomization, or listed twice, fails here."""
    files = {key(o): o for _, o in all_objects()}
    opt_in = {name: {key(o) for o in component_objects(EXTRAS_DIR / name)} for name in OPT_IN}
    assert {kind for kind, _, _ in opt_in["autoscalers"]} == {"HorizontalPodAutoscaler"}
    frontend = [(kind, NAMESPACE, "frontend") for kind in ("Service", "Deployment", "NetworkPolicy")]
    for flags, left_out, changed in [((), set(OPT_IN), []), (("--hpa",), set(OPT_IN) - {"autoscalers"}, []),
                                     (("--tls", "--pgadmin"), {"autoscalers"}, frontend)]:
        objects = rendered(tmp_path, flags)
        assert sorted(map(key, objects)) == sorted(k for k in files if not any(k in opt_in[c] for c in left_out))
        assert [key(o) for o in objects if o != files[key(o)]] == changed, f"what kustomize changed with {flags}"


@pytest.mark.parametrize("flags", [(), ("--hpa",), ("--no-extras",), ("--tls", "--pgadmin")],
                         ids=lambda f: " ".join(f) or "no flags")
def test_deploy_sh_applies_exactly_what_kubectl_kustomize_renders_with_the_tag(deploy, tmp_path, flags):  # noqa: F811
    run = deploy(*flags, env=gateway_env(tmp_path), check=True)
    expected = {key(o): o for o in rendered(tmp_path, flags, TAG)}
    # taskmgr's objects: from files and the overlay, not the Gateway's manifests (given on stdin, see
    # test_deploy_tls_pgadmin.py).
    applied = [o for c in run.of("kubectl") if c["stdin"] is None for o in applied_by(c)]
    assert {key(o): o for o in applied} == expected, "deploy.sh applies what kustomize renders, no more, no less"
    assert not list((tmp_path / "tmp").iterdir()), "the throwaway overlay is removed"


@pytest.fixture(scope="module")
def rendered_variants(tmp_path_factory):
    """Each variant's kustomize output, one file each, and the example Secret (no part of a render): {name: path}."""
    renders = {name: rendered(tmp_path_factory.mktemp(f"overlay{i}"), flags, tag)
               for i, (name, (flags, tag, _)) in enumerate(VARIANTS.items())}
    return write_renders(tmp_path_factory.mktemp("rendered"), {**renders, "example Secret": load_docs(SECRET_EXAMPLE)})


def test_kustomize_output_matches_the_kubernetes_schema_strictly_and_checkov_finds_nothing(rendered_variants):
    validate_strictly(rendered_variants)
    checkov_finds_nothing_in(rendered_variants)


@pytest.mark.parametrize("name", VARIANTS)
def test_kustomize_output_passes_the_consistency_and_standards_tests(rendered_variants, name):
    """test_consistency.py and test_manifests_standards.py, unchanged, over the variant's objects (conftest reads
    them from TASKMGR_RENDERED_MANIFESTS); only the checks about what the variant leaves out are deselected."""
    run_manifest_checks(name, rendered_variants[name], (CONSISTENCY, STANDARDS), VARIANTS[name][2])


def test_the_documented_overlay_renders_what_deploy_sh_hpa_applies(tmp_path):
    """The overlay in docs/KUBERNETES_DEPLOYMENT.md ("Plain kubectl"), written next to a `kubernetes/` as the page
    says, renders the manifests with the autoscalers and its tag."""
    page = (ROOT / "docs" / "KUBERNETES_DEPLOYMENT.md").read_text()
    example = re.search(r"```\n# my-taskmgr/kustomization.yaml\n(.*?)```", page, re.S)
    assert example, "the page no longer shows the overlay my-taskmgr/kustomization.yaml"
    (tmp_path / "kubernetes").symlink_to(MANIFEST_DIR)
    (tmp_path / "my-taskmgr").mkdir()
    (tmp_path / "my-taskmgr" / KUSTOMIZATION).write_text(example.group(1))
    tag = yaml.safe_load(example.group(1))["images"][0]["newTag"]
    assert kustomize(tmp_path / "my-taskmgr") == rendered(tmp_path, ("--hpa",), tag)


def test_the_documented_secret_recipe_keeps_every_value_off_command_lines(deploy):
    """The Secret of "Plain kubectl", run by bash against the stand-ins: random values of the lengths deploy.sh uses,
    none of them in kubectl's arguments (`ps` shows those), and no file of them left behind."""
    page = (ROOT / "docs" / "KUBERNETES_DEPLOYMENT.md").read_text().split("## Plain kubectl", 1)[1]
    recipe = re.search(r"```sh\n(.*?create secret generic app-secrets.*?)```", page, re.S)
    assert recipe, 'the page no longer shows how to create the Secret under "Plain kubectl"'
    result = subprocess.run(["bash", "-c", recipe[1]], capture_output=True, text=True, cwd=ROOT, timeout=60,
                            env=deploy.environment({}))
    run = Run(result, deploy.state)
    assert run.returncode == 0, run.stderr
    secret = run.stored()["secrets"]["app-secrets"]
    assert set(secret) == set(load_docs(SECRET_EXAMPLE)[0]["stringData"])
    assert {k: len(v) for k, v in secret.items() if re.fullmatch(r"[0-9a-f]+", v)} == {
        "POSTGRES_PASSWORD": 48, "POSTGRES_APP_PASSWORD": 48, "SECRET_KEY": 96}, "random hex, no newline"
    shown = [" ".join(c["argv"]) for c in run.calls for v in secret.values() if v in " ".join(c["argv"])]
    assert not shown, f"secret values on a command line: {shown}"
    assert not list(deploy.tmp.iterdir()), "the recipe left its value files behind"
    assert run.index("create secret generic app-secrets") < run.index("apply -k kubernetes/")
    (deploy.bin / "openssl").unlink()
    (deploy.state / "calls.jsonl").unlink()
    failed = subprocess.run(["bash", "-c", recipe[1]], capture_output=True, text=True, cwd=ROOT, timeout=60,
                            env=deploy.environment({}))
    creates = [c for c in Run(failed, deploy.state).calls if "create" in c["argv"]]
    assert "openssl" in failed.stderr and not creates, "without openssl, no Secret of empty values"
    assert not list(deploy.tmp.iterdir()), "nor files left behind"
