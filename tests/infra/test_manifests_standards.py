"""The standards every workload in the manifests must meet (Pod Security `restricted`, pinned images, probes,
resources, labels, rollout strategy), read from the YAML itself."""
import math

import pytest

from conftest import NAMESPACE, SECRET_EXAMPLE, all_objects, by_name, load_docs, objects_of
from test_consistency import pod_spec

DEPLOYMENTS = [d["metadata"]["name"] for d in objects_of("Deployment")]


def test_every_object_lives_in_the_namespace_which_enforces_pod_security_restricted_and_carries_part_of():
    for path, obj in all_objects():
        if obj["kind"] != "Namespace":
            assert obj["metadata"].get("namespace") == NAMESPACE, f"{path.name}: {obj['metadata']['name']}"
        assert obj["metadata"]["labels"].get("app.kubernetes.io/part-of") == "taskmgr", path.name
    assert by_name("Namespace", NAMESPACE)["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("name", DEPLOYMENTS)
def test_pods_meet_the_restricted_profile_and_pull_no_image_needlessly(name):
    """What checkov (test_kustomize.py) does not check of the restricted profile: capabilities beyond dropping all
    (NET_BIND_SERVICE only, with its reason recorded) and the volume types it allows. Its CKV_K8S_14 refuses an
    image without a tag or tagged latest; its CKV_K8S_15 (pull Always) is suppressed: kind loads the images."""
    spec = pod_spec(name)
    assert spec["securityContext"]["runAsNonRoot"] is True
    for c in spec["containers"] + spec.get("initContainers", []):
        assert c["imagePullPolicy"] == "IfNotPresent", c["image"]
        sc = c["securityContext"]
        assert sc["runAsNonRoot"] is True and sc["runAsUser"] > 0 and sc["capabilities"]["drop"] == ["ALL"]
        if "add" in sc["capabilities"]:
            assert sc["capabilities"]["add"] == ["NET_BIND_SERVICE"], sc["capabilities"]
            assert "CKV_K8S_25=" in str(by_name("Deployment", name)["metadata"]["annotations"]), name
    for volume in spec.get("volumes", []):
        assert set(volume) - {"name"} <= {"emptyDir", "persistentVolumeClaim", "configMap", "secret"}, volume


def test_the_gateways_nginx_container_has_requests_and_limits():
    """The pods NGINX Gateway Fabric starts for a Gateway take their container's resources from the NginxProxy
    (spec.kubernetes.deployment.container.resources in its v1alpha2 CRD); checkov sees no such pod."""
    proxies = objects_of("NginxProxy")
    assert proxies, "the --tls component's NginxProxy"
    for proxy in proxies:
        resources = proxy["spec"]["kubernetes"]["deployment"]["container"]["resources"]
        assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}, resources


@pytest.mark.parametrize("name", ["backend-api", "frontend"])
def test_stateless_services_roll_out_without_downtime(name):
    dep = by_name("Deployment", name)
    assert (dep["spec"]["replicas"], dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"]) == (2, 0)
    c = dep["spec"]["template"]["spec"]["containers"][0]
    paths = {probe: c[probe]["httpGet"]["path"] for probe in ("startupProbe", "livenessProbe", "readinessProbe")}
    assert paths == {"startupProbe": "/health", "livenessProbe": "/health", "readinessProbe": "/ready"}
    assert c["lifecycle"]["preStop"]["sleep"]["seconds"] > 0, "endpoints must drain before SIGTERM"
    assert dep["spec"]["template"]["spec"]["topologySpreadConstraints"][0]["topologyKey"] == "kubernetes.io/hostname"


def test_postgres_keeps_its_data_on_the_volume_and_recreates_on_update():
    dep = by_name("Deployment", "postgres")
    assert (dep["spec"]["replicas"], dep["spec"]["strategy"]["type"]) == (1, "Recreate"), "one pod at a time: RWO"
    spec = dep["spec"]["template"]["spec"]
    c = spec["containers"][0]
    assert c["image"].startswith("postgres:16-alpine")
    assert spec["securityContext"]["runAsUser"] == 70 and spec["securityContext"]["fsGroup"] == 70, "alpine UID"
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    assert mounts["/var/lib/postgresql/data"] == "data"
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["PGDATA"].startswith("/var/lib/postgresql/data/"), "PGDATA must be a subdirectory of the volume"
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert all("emptyDir" in volumes[mounts[path]] for path in ("/var/run/postgresql", "/tmp")), "writable, not kept"
    pvc = by_name("PersistentVolumeClaim", volumes["data"]["persistentVolumeClaim"]["claimName"])
    assert (pvc["spec"]["accessModes"], pvc["spec"]["resources"]["requests"]["storage"]) == (["ReadWriteOnce"], "1Gi")
    for probe in ("readinessProbe", "livenessProbe"):
        assert "pg_isready" in " ".join(c[probe]["exec"]["command"])


def test_secret_values_are_marked_as_local_placeholders():
    """The example Secret (outside kubernetes/) is visibly not for real use: its file says so, every value too."""
    [secret] = load_docs(SECRET_EXAMPLE)
    assert (secret["kind"], secret["metadata"]["name"], secret["metadata"]["namespace"]) == (
        "Secret", "app-secrets", NAMESPACE)
    assert set(secret["stringData"]) == {"POSTGRES_PASSWORD", "POSTGRES_APP_PASSWORD", "SECRET_KEY"}
    assert all("local-dev-only" in value for value in secret["stringData"].values()), secret["stringData"]
    assert SECRET_EXAMPLE.read_text().startswith("# LOCAL-DEVELOPMENT PLACEHOLDERS ONLY.")


def disruptions_allowed(budget, replicas):
    """How many of `replicas` healthy pods a PodDisruptionBudget lets a drain evict (percentages round up, as
    Kubernetes rounds them)."""
    def count(value):
        return math.ceil(replicas * int(value[:-1]) / 100) if str(value).endswith("%") else int(value)
    spec = budget["spec"]
    return count(spec["maxUnavailable"]) if "maxUnavailable" in spec else replicas - count(spec["minAvailable"])


@pytest.mark.parametrize("name", ["backend-api", "frontend"])
def test_disruption_budgets_never_block_a_node_drain(name):
    """At every replica count from 1 (the chart's minimum) up, a drain can evict a pod: one stuck budget would hold
    a node forever."""
    budget = by_name("PodDisruptionBudget", name)
    assert budget["spec"]["selector"]["matchLabels"] == by_name("Deployment", name)["spec"]["selector"]["matchLabels"]
    stuck = [n for n in range(1, 11) if disruptions_allowed(budget, n) < 1]
    assert not stuck, f"PodDisruptionBudget {name} blocks every drain at {stuck} replica(s): {budget['spec']}"


def test_disruption_budgets_and_autoscalers_cover_both_stateless_services():
    for name in ("backend-api", "frontend"):
        assert by_name("PodDisruptionBudget", name)
        hpa = by_name("HorizontalPodAutoscaler", name)
        assert hpa["spec"]["scaleTargetRef"]["name"] == name
        assert hpa["spec"]["minReplicas"] >= by_name("Deployment", name)["spec"]["replicas"]
