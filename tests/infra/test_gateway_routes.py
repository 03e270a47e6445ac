"""The Gateway and HTTPRoutes of --tls, checked offline: against the Gateway API's OpenAPI schemas with unknown
fields refused (e2e/gateway-schema.mjs; the API server would drop a misspelt field silently), and every route's
parent and backends pointing at what exists (a Gateway listener, a Service port).

The schemas come from npm's @kubernetes-models/gateway-api (pinned in e2e/package.json; CI reaches package
registries only, so not the CRD files themselves), generated from the Gateway API's Go types, which the CRDs are
generated from too; kind gets the CRDs of the same Gateway API release (deploy.sh's GATEWAY_API_RELEASE).
"""
import copy
import json
import re
import shutil
import subprocess

import pytest

from conftest import ROOT, by_name, objects_of

SCHEMA_CHECK = ROOT / "e2e" / "gateway-schema.mjs"
PACKAGE = "@kubernetes-models/gateway-api"
# The Gateway API release each version of the package is generated from (its third-party/gateway-api/go.mod in
# tommy351/kubernetes-models-ts requires sigs.k8s.io/gateway-api at this version).
GATEWAY_API_OF_PACKAGE = {"2.0.0": "v1.5.1"}


def schema_errors(objects):
    """{kind/name: [errors]} from e2e/gateway-schema.mjs."""
    node = shutil.which("node")
    assert node, "node is missing: apt-get install nodejs npm (.ci/run does)"
    assert (ROOT / "e2e" / "node_modules" / PACKAGE / "package.json").exists(), \
        f"{PACKAGE} is missing: npm ci --prefix e2e (.ci/run does)"
    result = subprocess.run([node, str(SCHEMA_CHECK)], input=json.dumps(objects), capture_output=True, text=True,
                            cwd=ROOT / "e2e", timeout=120)
    assert result.returncode == 0, result.stderr
    return {r["name"]: r["errors"] for r in json.loads(result.stdout)}


def gateway_objects():
    objects = objects_of("Gateway") + objects_of("HTTPRoute")
    assert {o["kind"] for o in objects} == {"Gateway", "HTTPRoute"}, "the --tls components hold both kinds"
    return objects


def reference_errors(route):
    """What is wrong with a route's parents and backends: a missing Gateway or listener, Service or port."""
    errors = []
    namespace = route["metadata"]["namespace"]
    for parent in route["spec"]["parentRefs"]:
        gateways = [g for g in objects_of("Gateway") if g["metadata"]["name"] == parent["name"]
                    and g["metadata"]["namespace"] == parent.get("namespace", namespace)]
        if not gateways:
            errors.append(f"no Gateway {parent['name']}")
        elif "sectionName" in parent and parent["sectionName"] not in [
                listener["name"] for listener in gateways[0]["spec"]["listeners"]]:
            errors.append(f"Gateway {parent['name']} has no listener {parent['sectionName']}")
    for rule in route["spec"]["rules"]:
        for ref in rule["backendRefs"]:
            if ref.get("kind", "Service") != "Service" or ref.get("namespace", namespace) != namespace:
                errors.append(f"backend {ref['name']}: only Services of the route's namespace")
                continue
            try:
                service = by_name("Service", ref["name"])
            except (AssertionError, StopIteration, KeyError):
                errors.append(f"no Service {ref['name']}")
                continue
            if ref.get("port") not in [p["port"] for p in service["spec"]["ports"]]:
                errors.append(f"Service {ref['name']} has no port {ref.get('port')}")
    return errors


def test_every_gateway_and_route_matches_the_gateway_api_schemas_closed():
    objects = gateway_objects()
    errors = schema_errors(objects)
    assert len(errors) == len(objects)
    assert not any(errors.values()), errors


def test_every_route_points_at_a_listener_and_a_service_port_that_exist():
    for route in objects_of("HTTPRoute"):
        assert not reference_errors(route), (route["metadata"]["name"], reference_errors(route))


def broken(change):
    route = copy.deepcopy(by_name("HTTPRoute", "frontend"))
    change(route)
    return route


@pytest.mark.parametrize("change, expected", [
    (lambda r: r["spec"].update(hostname=r["spec"].pop("hostnames")), "/spec/hostname: not a field"),
    (lambda r: r["spec"]["rules"][0]["backendRefs"][0].update(prot=8080), "backendRefs/0/prot: not a field"),
    (lambda r: r["spec"]["rules"][0]["backendRefs"][0].update(port="http"), "backendRefs/0/port: must be integer"),
    (lambda r: r["spec"]["rules"][0]["matches"][0]["path"].update(type="Prefix"),
     "path/type: must be equal to one of the allowed values"),
], ids=["misspelt field", "misspelt backend field", "port by name", "unknown path type"])
def test_the_schema_check_fails_on_a_broken_route(change, expected):
    [errors] = schema_errors([broken(change)]).values()
    assert any(expected in e for e in errors), errors


@pytest.mark.parametrize("change, expected", [
    (lambda r: r["spec"]["rules"][0]["backendRefs"][0].update(port=8081), "Service frontend has no port 8081"),
    (lambda r: r["spec"]["rules"][0]["backendRefs"][0].update(name="frontent"), "no Service frontent"),
    (lambda r: r["spec"]["parentRefs"][0].update(sectionName="http"), "has no listener http"),
], ids=["wrong port", "wrong Service", "wrong listener"])
def test_the_reference_check_fails_on_a_broken_route(change, expected):
    assert any(expected in e for e in reference_errors(broken(change))), reference_errors(broken(change))
    [errors] = schema_errors([broken(change)]).values()
    assert not errors, "the schema alone cannot see these"


def test_kind_gets_the_gateway_api_release_the_schemas_come_from():
    pinned = json.loads((ROOT / "e2e" / "package.json").read_text())["dependencies"][PACKAGE]
    lock = json.loads((ROOT / "e2e" / "package-lock.json").read_text())
    assert lock["packages"][f"node_modules/{PACKAGE}"]["version"] == pinned
    release = re.search(r"^GATEWAY_API_RELEASE=(v[\d.]+)$", (ROOT / "deploy.sh").read_text(), re.M).group(1)
    assert GATEWAY_API_OF_PACKAGE[pinned] == release
