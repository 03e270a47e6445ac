#!/usr/bin/env python3
"""Stand-in for `kind`, `kubectl` and `docker` (no cluster can run here), for deploy.sh's tests: records every call
(and what `apply -f -`, `patch --patch-file /dev/stdin` and `apply -k` would apply) in $STANDIN_STATE/calls.jsonl,
keeps clusters, Secrets and the applied objects (kind, name, labels) in state.json, and fails as STANDIN_* variables
say."""
import base64
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from pod_exec import flag_value, words_of

STATE_DIR = Path(os.environ["STANDIN_STATE"])
STATE_FILE = STATE_DIR / "state.json"


def load_state():
    state = json.loads(STATE_FILE.read_text()) if STATE_FILE.exists() else {"clusters": [], "secrets": {}}
    state.setdefault("objects", [])
    return state


def record(tool, argv, **extra):
    with open(STATE_DIR / "calls.jsonl", "a") as log:
        log.write(json.dumps({"tool": tool, "argv": argv, **extra}) + "\n")


# The resource names deploy.sh deletes by label, as kubectl spells them, and their kinds.
DELETABLE = {"networkpolicies": "NetworkPolicy", "poddisruptionbudgets": "PodDisruptionBudget"}


def labels_match(selector, labels):
    """Only deploy.sh's selector form, `key=value,...`."""
    if selector and not re.fullmatch(r"[\w./-]+=[\w.-]+(,[\w./-]+=[\w.-]+)*", selector):
        sys.exit(f"error: the stand-in does not understand the selector {selector!r}")
    return dict(term.split("=", 1) for term in selector.split(",") if term).items() <= labels.items()


def applied_objects(argv, stdin, kustomized_objects):
    """What an `apply` call applies: the objects of -k, of -f - (stdin) or of -f FILE."""
    if kustomized_objects is not None:
        return kustomized_objects
    import yaml
    source = flag_value(argv, "-f")
    return [d for d in yaml.safe_load_all(stdin if source == "-" else Path(source).read_text()) if d]


def kustomized(argv):
    """The objects `kubectl apply -k DIR [--selector S]` applies: DIR rendered by the real `kubectl kustomize`
    ($STANDIN_REAL_KUBECTL; no cluster needed), filtered by the selector (only deploy.sh's `key=value,...` form)."""
    result = subprocess.run([os.environ["STANDIN_REAL_KUBECTL"], "kustomize", flag_value(argv, "-k")],
                            capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(result.stderr)  # to stderr, exit status 1
    import yaml  # here: the other calls (most of them) need no YAML, and this script starts once per call
    objects = [d for d in yaml.safe_load_all(result.stdout) if d]
    selector = flag_value(argv, "--selector") or ""
    return [o for o in objects if labels_match(selector, o["metadata"].get("labels", {}))]


def docker(argv):
    record("docker", argv)
    if argv[:1] == ["info"] and os.environ.get("STANDIN_DOCKER_DOWN"):
        print("Cannot connect to the Docker daemon at unix:///var/run/docker.sock.", file=sys.stderr)
        return 1
    if argv[:1] == ["port"]:
        node = argv[1]
        if not node.endswith("-control-plane") or node[:-len("-control-plane")] not in load_state()["clusters"]:
            print(f"Error response from daemon: No such container: {node}", file=sys.stderr)
            return 1
        published = {"443/tcp" if os.environ.get("STANDIN_OLD_PORT_MAPPING") else "30443/tcp", "30080/tcp"}
        if argv[2] not in published:
            print(f"Error: No public port '{argv[2]}' published for {node}", file=sys.stderr)
            return 1
        print(f"127.0.0.1:{argv[2].split('/')[0] if argv[2] != '443/tcp' else 30443}")
    return 0


def kind(argv):
    record("kind", argv)
    state = load_state()
    name = flag_value(argv, "--name") or "kind"
    if argv[:2] == ["get", "clusters"]:
        print("\n".join(state["clusters"]))
    elif argv[:2] == ["create", "cluster"]:
        state["clusters"].append(name)
    elif argv[:2] == ["delete", "cluster"]:
        state["clusters"] = [c for c in state["clusters"] if c != name]
        state["secrets"], state["objects"] = {}, []
    elif argv[:2] == ["load", "docker-image"] and name not in state["clusters"]:
        print(f'ERROR: no nodes found for cluster "{name}"', file=sys.stderr)
        return 1
    STATE_FILE.write_text(json.dumps(state))
    return 0


def generic_secret_values(argv):
    """`create secret generic`'s keys and values: --from-file DIR (a file per key) and --from-literal KEY=VALUE."""
    values = {}
    for i, arg in enumerate(argv):
        flag, _, value = arg.partition("=")
        if flag in ("--from-file", "--from-literal") and not value:
            value = argv[i + 1]
        if flag == "--from-file":
            values |= {p.name: p.read_text() for p in sorted(Path(value).iterdir())}
        elif flag == "--from-literal":
            key, _, literal = value.partition("=")
            values[key] = literal
    return values


def kubectl(argv):
    state = load_state()
    words = words_of(argv)
    reads_stdin = (words[:1] == ["apply"] and flag_value(argv, "-f") == "-") or \
        (words[:1] == ["patch"] and flag_value(argv, "--patch-file") == "/dev/stdin")
    stdin = sys.stdin.read() if reads_stdin else None
    secret_files = None
    if words[:3] == ["create", "secret", "generic"]:
        secret_files = generic_secret_values(argv)
    elif words[:3] == ["create", "secret", "tls"]:
        secret_files = {"tls.crt": Path(flag_value(argv, "--cert")).read_text(),
                        "tls.key": Path(flag_value(argv, "--key")).read_text()}
    applied = kustomized(argv) if words[:1] == ["apply"] and flag_value(argv, "-k") else None
    record("kubectl", argv, stdin=stdin, secret=secret_files, applied=applied)
    if words[:1] == ["apply"]:
        for obj in applied_objects(argv, stdin, applied):
            live = [obj["kind"], obj["metadata"]["name"], obj["metadata"].get("labels", {})]
            state["objects"] = [o for o in state["objects"] if o[:2] != live[:2]] + [live]
    elif words[:1] == ["delete"] and flag_value(argv, "-l"):
        kinds = [DELETABLE.get(name) for name in words[1].split(",")]
        if None in kinds or "--ignore-not-found" not in argv:
            sys.exit(f"error: the stand-in deletes only {sorted(DELETABLE)} by label, with --ignore-not-found")
        state["objects"] = [o for o in state["objects"]
                            if not (o[0] in kinds and labels_match(flag_value(argv, "-l"), o[2]))]
    if words[:2] in (["get", "secret"], ["patch", "secret"], ["delete", "secret"]) and \
            words[2] not in state["secrets"]:
        print(f'Error from server (NotFound): secrets "{words[2]}" not found', file=sys.stderr)
        return 1
    if words[:2] == ["config", "get-contexts"]:
        print("\n".join(f"kind-{c}" for c in state["clusters"]))
    elif words[:2] == ["get", "secret"]:  # prints one key's value with -o jsonpath={.data.KEY} (deploy.sh's only form)
        key = (flag_value(argv, "-o") or "").removeprefix("jsonpath={.data.").removesuffix("}").replace("\\.", ".")
        value = state["secrets"][words[2]].get(key)
        print(base64.b64encode(value.encode()).decode() if value is not None else "", end="")
    elif words[:2] == ["delete", "secret"]:
        del state["secrets"][words[2]]
        print(f'secret "{words[2]}" deleted')
    elif words[:2] == ["patch", "secret"] and flag_value(argv, "--type") == "merge":  # another --type changes nothing
        state["secrets"][words[2]].update(json.loads(stdin)["stringData"])
    elif secret_files is not None:
        if os.environ.get("STANDIN_KUBECTL_SLEEP"):
            # Blocks like a slow API server, so a test can interrupt deploy.sh while the value files exist.
            (STATE_DIR / "blocking").write_text(str(os.getpid()))
            time.sleep(float(os.environ["STANDIN_KUBECTL_SLEEP"]))
        state["secrets"][words[3]] = secret_files
    elif words[:2] == ["rollout", "status"]:
        if words[2] == "deployment/" + os.environ.get("STANDIN_FAIL_ROLLOUT", ""):
            print(f'error: timed out waiting for the condition on {words[2]}', file=sys.stderr)
            return 1
        print(f'{words[2]} successfully rolled out')
    elif words[:2] == ["get", "events"]:
        print("LAST SEEN   TYPE      REASON      OBJECT                 MESSAGE")
        print("10s         Warning   BackOff     pod/backend-api-abc    Back-off restarting failed container")
    elif words[:2] == ["get", "pods"] and "jsonpath" in (flag_value(argv, "-o") or ""):
        print("postgres-123 true\nbackend-api-abc false")
    elif words[:1] == ["describe"]:
        print(f"Name: {words[1]}\nEvents: Liveness probe failed")
    elif words[:1] == ["logs"]:
        print(f"log line from {(words + [flag_value(argv, '-l')])[1]}")
    elif words[:2] == ["delete", "namespace"]:
        state["secrets"], state["objects"] = {}, []
    STATE_FILE.write_text(json.dumps(state))
    return 0


if __name__ == "__main__":
    sys.exit({"docker": docker, "kind": kind, "kubectl": kubectl}[Path(sys.argv[0]).name](sys.argv[1:]))
