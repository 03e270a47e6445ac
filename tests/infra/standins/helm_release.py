#!/usr/bin/env python3
"""Stand-in for `helm` and `kubectl` (`helm_release.py TOOL ARGS...`, behind a wrapper of each name on PATH), used by test_helm_e2e.py to run
tests/infra/e2e-helm.sh, which needs a cluster, here.

`helm upgrade --install` renders the chart with Helm's own engine (helm-python-sdk) and the values of its --set and
--set-string flags, so a wrong value or an unknown key fails as it would with helm (the chart's closed schema), and
keeps the objects as the release; `kubectl get secret` answers from them. Offline, Helm's `lookup` finds nothing, so
the stand-in plays the live Secret it would find: an upgrade keeps the stored Secret's data, unless
STANDIN_SECRET_REGENERATED is set (a chart that would not keep it). `helm test` passes unless STANDIN_HELM_TEST_FAILS
is set, and `kubectl logs` prints a line; the test pods themselves run only on GitHub's kind. `kubectl get deployment` answers the image of deploy.sh's
backend Deployment from STANDIN_DEPLOYED_IMAGE. Every call is recorded in $STANDIN_STATE/calls.jsonl.
"""
import json
import os
import sys
from pathlib import Path

import yaml

STATE = Path(os.environ["STANDIN_STATE"])


def record(tool, argv, **extra):
    with open(STATE / "calls.jsonl", "a") as log:
        log.write(json.dumps({"tool": tool, "argv": argv, **extra}) + "\n")


def values_of(argv):
    import helm_python

    values = {}
    for i, arg in enumerate(argv[:-1]):
        if arg in ("--set", "--set-string"):
            parse = helm_python.parse_set_string_values if arg == "--set-string" else helm_python.parse_set_string
            values = merge(values, parse(argv[i + 1]))
    return values


def merge(a, b):
    return {**a, **{k: merge(a.get(k, {}), v) if isinstance(v, dict) else v for k, v in b.items()}}


def upgrade(argv):
    import helm_python

    name, chart = [a for a in argv[2:] if not a.startswith("-")][:2]
    values = values_of(argv)
    try:
        manifests = helm_python.Chart.load(chart).render(values, name=name, namespace="default")
    except helm_python.HelmError as err:
        sys.exit(f"Error: {err}")
    objects = [d for text in manifests.values() for d in yaml.safe_load_all(text) if d]
    release = STATE / f"release-{name}.json"
    if release.exists() and not os.environ.get("STANDIN_SECRET_REGENERATED"):
        kept = {o["metadata"]["name"]: o for o in json.loads(release.read_text()) if o["kind"] == "Secret"}
        for obj in objects:
            if obj["kind"] == "Secret" and obj["metadata"]["name"] in kept:
                obj["data"] = kept[obj["metadata"]["name"]]["data"]
    release.write_text(json.dumps(objects))
    record("helm", argv, values=values)
    print(f'Release "{name}" has been upgraded. Happy Helming!')


def helm(argv):
    if argv[:2] == ["upgrade", "--install"]:
        return upgrade(argv)
    record("helm", argv)
    if argv[:1] == ["test"]:
        if os.environ.get("STANDIN_HELM_TEST_FAILS"):
            sys.exit("Error: 1 error occurred:\n\t* pod taskmgr-test-round-trip failed")
        return None
    sys.exit(f"stand-in helm: unexpected call {argv}")


def kubectl(argv):
    record("kubectl", argv)
    namespace = argv[argv.index("--namespace") + 1]
    argv = [a for a in argv if a not in ("--context", "--namespace", namespace) and not a.startswith("kind-")]
    if "deployment" in argv and namespace == "task-manager":
        print(os.environ["STANDIN_DEPLOYED_IMAGE"], end="")
        return None
    if argv[:1] == ["logs"]:
        print(f"ok: {argv[1]} (stand-in log)")
        return None
    if "secret" in argv:
        objects = [o for r in STATE.glob("release-*.json") for o in json.loads(r.read_text())]
        name = argv[argv.index("secret") + 1]
        found = [o for o in objects if (o["kind"], o["metadata"]["name"], o["metadata"].get("namespace"))
                 == ("Secret", name, namespace)]
        if not found:
            sys.exit(f'Error from server (NotFound): secrets "{name}" not found')
        print(json.dumps(found[0]["data"], sort_keys=True), end="")
        return None
    sys.exit(f"stand-in kubectl: unexpected call {argv}")


if __name__ == "__main__":
    try:
        import helm_python  # noqa: F401
    except ImportError as err:
        sys.exit(f"stand-in {sys.argv[1]}: helm-python-sdk cannot load ({err}): install "
                 "tests/infra/requirements-helm.txt (.ci/run does)")
    sys.exit({"helm": helm, "kubectl": kubectl}[sys.argv[1]](sys.argv[2:]))
