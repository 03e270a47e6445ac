"""The manifests read with the code: what the cluster provides is what the binaries use (config.rs, routes,
Dockerfiles, deploy.sh, db/app-role.sql, kind-config.yaml), and the NetworkPolicies allow exactly the flows used."""
import ipaddress
import json
import re

import pytest
import yaml

from conftest import ROOT, SECRET_EXAMPLE, SERVICES, by_name, load_docs, objects_of

CRATES = ROOT / "crates"
ENV_NAME = re.compile(r'"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|HOST|PORT)"')
# DATABASE_URL: the pods get the POSTGRES_* parts instead. TRUSTED_PROXIES: only extras/tls (with its Gateway) sets it.
READ_BUT_NOT_PROVIDED = {"backend-api": {"DATABASE_URL"}, "frontend": {"TRUSTED_PROXIES"}}


def crate_source(svc, relative, code_only=False):
    text = (CRATES / svc / relative).read_text()
    return text.split("#[cfg(test)]")[0] if code_only else text


def config_const(svc, name):
    match = re.search(rf"{name}: u16 = (\d+)", crate_source(svc, "src/config.rs"))
    assert match, f"no {name} in crates/{svc}/src/config.rs"
    return int(match.group(1))


def variables_read(svc):
    return set(ENV_NAME.findall(crate_source(svc, "src/config.rs", code_only=True)))


def pod_spec(name):
    return by_name("Deployment", name)["spec"]["template"]["spec"]


def container(name, init=None):
    return next(c for c in pod_spec(name)["initContainers" if init else "containers"] if init in (None, c["name"]))


def env_of(name):
    return {e["name"]: e for e in container(name)["env"]}


def env_source(c, var):
    """Where a container's variable comes from: ("configMap"|"secret", key), or ("value", literal)."""
    entry = {e["name"]: e for e in c["env"]}[var]
    if "value" in entry:
        return ("value", entry["value"])
    kind = "configMap" if "configMapKeyRef" in entry["valueFrom"] else "secret"
    return (kind, entry["valueFrom"][f"{kind}KeyRef"]["key"])


def config_value(key):
    return by_name("ConfigMap", "app-config")["data"][key]


def env_value(name, var):
    kind, value = env_source(container(name), var)
    return value if kind == "value" else config_value(value)


def selects(selector, labels):
    """Kubernetes label-selector semantics for matchLabels and matchExpressions (In, NotIn, Exists)."""
    tests = {"In": lambda v, e: v in e["values"], "NotIn": lambda v, e: v not in e["values"],
             "Exists": lambda v, e: v is not None}
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items()) and all(
        tests[e["operator"]](labels.get(e["key"]), e) for e in selector.get("matchExpressions", []))


def pods():
    return {d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"] for d in objects_of("Deployment")}


def selected_pods(selector):
    return {name for name, labels in pods().items() if selects(selector, labels)}


@pytest.mark.parametrize("svc", SERVICES)
def test_every_variable_the_service_reads_is_provided_and_every_provided_one_is_read(svc):
    read = variables_read(svc)
    assert {"HOST", "PORT", "RUST_LOG"} <= read, f"config.rs of {svc} should name HOST, PORT and RUST_LOG: {read}"
    provided = set(env_of(svc)) - ({"TRUSTED_PROXIES"} if objects_of("Gateway") else set())
    assert provided == read - READ_BUT_NOT_PROVIDED[svc], (
        f"{svc}: read but not provided {sorted(read - provided - READ_BUT_NOT_PROVIDED[svc])}, "
        f"provided but never read {sorted(provided - read)}")
    assert not container(svc).get("envFrom"), "envFrom would hand the pod every key, read or not"


def test_every_configmap_and_secret_key_referenced_exists_and_every_key_is_used():
    config = set(by_name("ConfigMap", "app-config")["data"])
    secret = set(load_docs(SECRET_EXAMPLE)[0]["stringData"])
    used = {"app-config": set(), "app-secrets": set()}
    for deployment in objects_of("Deployment"):
        spec = deployment["spec"]["template"]["spec"]
        for entry in [e for c in spec["containers"] + spec.get("initContainers", []) for e in c.get("env", [])]:
            for ref in [r for k, r in entry.get("valueFrom", {}).items() if k in ("configMapKeyRef", "secretKeyRef")]:
                # pgAdmin's own login (extras/pgadmin) is the only other Secret, and only pgAdmin reads it.
                if (ref["name"], deployment["metadata"]["name"]) != ("pgadmin-login", "pgadmin"):
                    used[ref["name"]].add(ref["key"])
    assert used == {"app-config": config, "app-secrets": secret}, f"keys defined: {config}, {secret}"


def test_the_role_init_container_connects_as_the_superuser_and_gives_the_backend_its_own_role():
    """db-role logs in as postgres was initialised and sets up the role and password the backend connects with,
    which are not the superuser's; it runs the ConfigMap's copy of db/app-role.sql with the postgres image."""
    db_role, postgres, backend = container("backend-api", "db-role"), container("postgres"), container("backend-api")
    for libpq, var in (("PGDATABASE", "POSTGRES_DB"), ("PGUSER", "POSTGRES_USER"), ("PGPASSWORD", "POSTGRES_PASSWORD")):
        assert env_source(db_role, libpq) == env_source(postgres, var), libpq
    for libpq, var in (("PGDATABASE", "POSTGRES_DB"), ("PGHOST", "POSTGRES_HOST"), ("PGPORT", "POSTGRES_PORT"),
                       ("APP_DB_USER", "POSTGRES_USER"), ("APP_DB_PASSWORD", "POSTGRES_PASSWORD")):
        assert env_source(db_role, libpq) == env_source(backend, var), libpq
    for var in ("POSTGRES_USER", "POSTGRES_PASSWORD"):
        assert env_source(backend, var) != env_source(postgres, var), var
    assert config_value("POSTGRES_APP_USER") != config_value("POSTGRES_USER")
    assert db_role["image"] == postgres["image"] and "ON_ERROR_STOP=1" in db_role["command"]
    script = db_role["command"][db_role["command"].index("-f") + 1]
    [mount] = [m for m in db_role["volumeMounts"] if script.startswith(m["mountPath"] + "/")]
    [volume] = [v for v in pod_spec("backend-api")["volumes"] if v["name"] == mount["name"]]
    shipped = by_name("ConfigMap", volume["configMap"]["name"])["data"][script[len(mount["mountPath"]) + 1:]]
    assert shipped == (ROOT / "db" / "app-role.sql").read_text(), "paste db/app-role.sql into kubernetes/configmap.yaml"


@pytest.mark.parametrize("svc", SERVICES)
def test_ports_agree_from_the_binary_to_the_service(svc):
    port, c = config_const(svc, "DEFAULT_PORT"), container(svc)
    assert [p["containerPort"] for p in c["ports"] if p["name"] != "metrics"] == [port]
    assert int(env_value(svc, "PORT")) == port
    target = by_name("Service", svc)["spec"]["ports"][0]["targetPort"]
    assert {p["name"]: p["containerPort"] for p in c["ports"]}.get(target, target) == port
    assert re.search(rf"^EXPOSE {port}\b", crate_source(svc, "Dockerfile"), re.M), f"crates/{svc}/Dockerfile: EXPOSE"


def test_the_frontend_reaches_the_backend_and_the_backend_reaches_postgres_by_service_name():
    backend, postgres = by_name("Service", "backend-api"), by_name("Service", "postgres")
    assert config_value("BACKEND_API_URL") == f"http://backend-api:{backend['spec']['ports'][0]['port']}"
    assert f'"{config_value("BACKEND_API_URL")}"' in crate_source("frontend", "src/config.rs"), "the default agrees"
    assert config_value("POSTGRES_HOST") == postgres["metadata"]["name"]
    assert int(config_value("POSTGRES_PORT")) == postgres["spec"]["ports"][0]["port"] == \
        container("postgres")["ports"][0]["containerPort"]


# Services whose config.rs reads METRICS_PORT serve /metrics on a port of their own.
METRICS_SERVICES = [svc for svc in SERVICES if "METRICS_PORT" in variables_read(svc)]


@pytest.mark.parametrize("svc", METRICS_SERVICES)
def test_metrics_are_served_only_inside_the_cluster(svc):
    """/metrics on config.rs's default port everywhere, not exposed by the Service, reachable only from the
    namespaces that opt in (a Prometheus's, labelled taskmgr.io/scrape-metrics=true)."""
    port = config_const(svc, "DEFAULT_METRICS_PORT")
    assert port != config_const(svc, "DEFAULT_PORT")
    assert {p["name"]: p["containerPort"] for p in container(svc)["ports"]}.get("metrics") == port
    assert int(env_value(svc, "METRICS_PORT")) == port
    annotations = by_name("Deployment", svc)["spec"]["template"]["metadata"].get("annotations", {})
    assert (annotations.get("prometheus.io/scrape"), annotations.get("prometheus.io/port")) == ("true", str(port))
    assert re.search(rf"^EXPOSE {port}\b", crate_source(svc, "Dockerfile"), re.M), f"{svc}: EXPOSE {port}"
    compose_env = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"][svc].get("environment", {})
    assert str(dict(compose_env).get("METRICS_PORT", port)) == str(port), f"docker-compose.yml: {svc}'s METRICS_PORT"
    assert all(p["targetPort"] not in ("metrics", port) and p["port"] != port
               for p in by_name("Service", svc)["spec"]["ports"]), f"the Service of {svc} exposes its metrics port"
    rules = [rule for p in objects_of("NetworkPolicy") if "Ingress" in p["spec"]["policyTypes"]
             and selects(p["spec"]["podSelector"], pods()[svc]) for rule in p["spec"].get("ingress", [])
             if rule_allows(rule, "from", OUTSIDE, port) or any(q.get("port") == port for q in rule.get("ports", []))]
    opted_in = {"namespaceSelector": {"matchLabels": {"taskmgr.io/scrape-metrics": "true"}}}
    assert rules and all(rule.get("from") and all(peer == opted_in for peer in rule["from"]) for rule in rules), \
        f"{svc}:{port} should be open to the namespaces labelled taskmgr.io/scrape-metrics=true only: {rules}"


def test_allowed_hosts_cover_every_way_the_ui_is_reached():
    """The Host check must not lock out the NodePort (localhost:30080) or the Service name; the frontend's
    default (compose and deploy.sh local rely on it) is the same list."""
    hosts, service = config_value("ALLOWED_HOSTS").split(","), by_name("Service", "frontend")["metadata"]
    names = {"localhost", "127.0.0.1", service["name"], f"{service['name']}.{service['namespace']}.svc.cluster.local"}
    assert names <= set(hosts), hosts
    routed = {h for route in objects_of("HTTPRoute") for rule in route["spec"]["rules"]
              if any(ref["name"] == service["name"] for ref in rule["backendRefs"]) for h in route["spec"]["hostnames"]}
    assert routed <= set(hosts), f"the Gateway routes {sorted(routed - set(hosts))} to the UI, which refuses them"
    default = re.search(r'DEFAULT_ALLOWED_HOSTS: &str = "([^"]*)"', crate_source("frontend", "src/config.rs"), re.S)
    assert default and set(hosts) == set(default.group(1).replace("\\\n", "").split(","))


@pytest.mark.parametrize("svc", SERVICES)
def test_probe_paths_are_routes_and_the_image_user_is_the_pods(svc):
    """runAsNonRoot needs a numeric USER in the image, and it must be the UID the pod asks for."""
    code = "\n".join(p.read_text().split("#[cfg(test)]")[0] for p in sorted((CRATES / svc / "src").rglob("*.rs")))
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        path = container(svc)[probe]["httpGet"]["path"]
        assert re.search(rf'(resource|route)\(\s*"{re.escape(path)}"', code), f"{svc} has no route {path}"
    users = re.findall(r"^USER\s+(\S+)", crate_source(svc, "Dockerfile"), re.M)
    assert users and users[-1].split(":")[0] == str(container(svc)["securityContext"]["runAsUser"]), users


def test_every_selector_selects_exactly_its_own_pods():
    for d in objects_of("Deployment"):
        assert selects(d["spec"]["selector"], pods()[d["metadata"]["name"]]), d["metadata"]["name"]
    for s in objects_of("Service"):  # a plain label map (matchLabels semantics)
        assert selected_pods({"matchLabels": s["spec"]["selector"]}) == {s["metadata"]["name"]}
    for pdb in objects_of("PodDisruptionBudget"):
        assert selected_pods(pdb["spec"]["selector"]) == {pdb["metadata"]["name"]}
    for hpa in objects_of("HorizontalPodAutoscaler"):
        by_name("Deployment", hpa["spec"]["scaleTargetRef"]["name"])


# ------------------------------------------------------------------ network policies

OUTSIDE = "outside"  # a browser, through the NodePort
DNS = "kube-dns"
# The NGINX pods that NGINX Gateway Fabric starts for the Gateway of --tls, in taskmgr's namespace, with the labels
# of the Gateway's spec.infrastructure.labels (and no Deployment in these files).
CONTROLLER = "the Gateway's NGINX pods"
# Pods of other namespaces: (namespace labels, pod labels). kube-dns, NGINX Gateway Fabric's control plane (labels
# of its manifest; the NGINX pods' agent connects to it), and any other pod.
GATEWAY_CONTROL = "NGINX Gateway Fabric's control plane"
OTHER_POD = "a pod of another namespace"
FOREIGN = {DNS: ({"kubernetes.io/metadata.name": "kube-system"}, {"k8s-app": "kube-dns"}),
           GATEWAY_CONTROL: ({"kubernetes.io/metadata.name": "nginx-gateway"},
                             {"app.kubernetes.io/name": "nginx-gateway", "app.kubernetes.io/instance": "nginx-gateway"}),
           OTHER_POD: ({"kubernetes.io/metadata.name": "elsewhere"}, {"app": "other"})}


def gateway_pod_labels():
    """The labels of the Gateway's NGINX pods, or None without a Gateway (no --tls)."""
    gateways = objects_of("Gateway")
    return gateways[0]["spec"]["infrastructure"]["labels"] if gateways else None


def labels_of(pod):
    return gateway_pod_labels() if pod == CONTROLLER else pods()[pod]


def pod_subnet():
    kind = yaml.safe_load((ROOT / "kind-config.yaml").read_text())
    return ipaddress.ip_network(kind["networking"]["podSubnet"])


def address_of(source):
    """Where a connection from `source` comes from: pods from the pod subnet, a browser through the NodePort from
    outside it (kind's Docker network; the NodePort keeps it only with externalTrafficPolicy Local, which the
    frontend's Service must then have: test_x_forwarded_proto_is_believed_only_from_the_gateway)."""
    return ipaddress.ip_address("172.18.0.1") if source == OUTSIDE else pod_subnet()[7]


def peer_matches(peer, source):
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        return address_of(source) in ipaddress.ip_network(block["cidr"]) and not any(
            address_of(source) in ipaddress.ip_network(e) for e in block.get("except", []))
    if source in FOREIGN:
        namespace_labels, labels = FOREIGN[source]
        return "namespaceSelector" in peer and selects(peer["namespaceSelector"], namespace_labels) and selects(
            peer.get("podSelector", {}), labels)
    if source == OUTSIDE or "namespaceSelector" in peer or (source == CONTROLLER and not gateway_pod_labels()):
        return False
    return selects(peer["podSelector"], labels_of(source))


def rule_allows(rule, peer_key, other, port, protocol="TCP"):
    peers_ok = peer_key not in rule or any(peer_matches(p, other) for p in rule[peer_key])
    ports_ok = "ports" not in rule or any(p.get("port") == port and p.get("protocol", "TCP") == protocol
                                          for p in rule["ports"])
    return peers_ok and ports_ok


def allowed(direction, pod, other, port, protocol="TCP"):
    """Whether the policies let `pod` receive from (Ingress) or send to (Egress) `other` on port."""
    peer_key = "from" if direction == "Ingress" else "to"
    policies = [p for p in objects_of("NetworkPolicy")
                if direction in p["spec"]["policyTypes"] and selects(p["spec"]["podSelector"], labels_of(pod))]
    assert policies, f"no {direction} policy selects {pod}: not deny-by-default"
    return any(rule_allows(rule, peer_key, other, port, protocol)
               for p in policies for rule in p["spec"].get(direction.lower(), []))


def flow(src, dst, port):
    """Whether a connection from src to the pod dst gets through; sources outside the namespace have no egress here."""
    local = src in pods() or (src == CONTROLLER and gateway_pod_labels())
    return (not local or allowed("Egress", src, dst, port)) and allowed("Ingress", dst, src, port)


def test_network_policies_allow_exactly_the_flows_the_services_use():
    """Between the pods, the browser and the Gateway, exactly the flows the services use: pgAdmin and the backend,
    and only those, reach PostgreSQL; behind TLS only the Gateway's NGINX pods among the cluster's pods reach the UI.
    Names resolve through kube-dns, but not from postgres."""
    ports = {"frontend": config_const("frontend", "DEFAULT_PORT"), "postgres": int(config_value("POSTGRES_PORT")),
             "backend-api": int(config_value("BACKEND_API_URL").rsplit(":", 1)[1]), "pgadmin": 8080}
    ports = {pod: port for pod, port in ports.items() if pod in pods()}
    wanted = {(OUTSIDE, "frontend"), (CONTROLLER, "frontend"), ("frontend", "backend-api"),
              ("backend-api", "postgres"), ("pgadmin", "postgres"), (CONTROLLER, "pgadmin")}
    if "TRUSTED_PROXIES" not in env_of("frontend"):
        wanted.add((OTHER_POD, "frontend"))  # without TLS, the UI's port is open to every client alike
    sources = [OUTSIDE, CONTROLLER, OTHER_POD, *ports]
    flows = {(src, dst) for src in sources for dst, port in ports.items() if src != dst and flow(src, dst, port)}
    assert flows == {(src, dst) for src, dst in wanted if src in sources and dst in ports}
    assert not allowed("Egress", "frontend", "postgres", ports["postgres"])
    resolvers = [*{"frontend", "backend-api", "pgadmin"} & set(ports), *([CONTROLLER] if gateway_pod_labels() else [])]
    for pod in resolvers:
        assert allowed("Egress", pod, DNS, 53, "UDP") and allowed("Egress", pod, DNS, 53, "TCP"), pod
    assert not allowed("Egress", "postgres", DNS, 53, "UDP"), "postgres resolves no names"
    if gateway_pod_labels():  # --tls: browsers reach the Gateway's port 443; its agent reaches the control plane
        assert flow(OUTSIDE, CONTROLLER, 443)
        assert allowed("Egress", CONTROLLER, GATEWAY_CONTROL, 8443)


def test_x_forwarded_proto_is_believed_only_from_the_gateway():
    """Behind TLS the frontend believes X-Forwarded-Proto from TRUSTED_PROXIES; of every client whose address is in
    that range, only the Gateway's NGINX pods may reach the UI's port (NGINX Gateway Fabric sets the header itself,
    overwriting a client's). Browsers through the NodePort
    keep their own address (externalTrafficPolicy Local), outside the range. Without TRUSTED_PROXIES nobody is
    believed, and the check holds with no one trusted."""
    raw = env_of("frontend").get("TRUSTED_PROXIES", {}).get("value", "")
    trusted = [ipaddress.ip_network(n.strip()) for n in raw.split(",") if n.strip()]
    if trusted:
        assert trusted == [pod_subnet()], "TRUSTED_PROXIES is kind-config.yaml's podSubnet"
        assert by_name("Service", "frontend")["spec"].get("externalTrafficPolicy") == "Local", \
            "kube-proxy would give NodePort clients a node address inside the pod subnet"
    port = config_const("frontend", "DEFAULT_PORT")
    believed = {src for src in [OUTSIDE, CONTROLLER, OTHER_POD, *pods()] if src != "frontend"
                and any(address_of(src) in net for net in trusted) and flow(src, "frontend", port)}
    assert believed <= {CONTROLLER}, f"also believed when they say https: {sorted(believed - {CONTROLLER})}"


def test_kind_publishes_the_ui_and_the_gateways_node_ports_on_localhost():
    """The frontend's NodePort 30080 and the Gateway's NGINX Service's 30443 (its NginxProxy), which kind-config.yaml
    publishes; the HTTPS listener ends TLS with deploy.sh's Secret, whose certificate names every route's host."""
    [node] = yaml.safe_load((ROOT / "kind-config.yaml").read_text())["nodes"]
    frontend = by_name("Service", "frontend")["spec"]
    assert frontend["type"] == "NodePort" and frontend["ports"][0]["nodePort"] == 30080
    assert all({"containerPort": port, "hostPort": port, "listenAddress": "127.0.0.1", "protocol": "TCP"} in
               node["extraPortMappings"] for port in (30080, 30443))
    certificate = (ROOT / "scripts" / "lib" / "tls-cert.sh").read_text()
    names = re.search(r'^TLS_CERT_NAMES="(.*)"$', certificate, re.M).group(1).split(",")
    for gateway in objects_of("Gateway"):  # with --tls
        [listener] = gateway["spec"]["listeners"]
        proxy = by_name("NginxProxy", gateway["spec"]["infrastructure"]["parametersRef"]["name"])
        service = proxy["spec"]["kubernetes"]["service"]
        assert service["type"] == "NodePort" and service["externalTrafficPolicy"] == "Local"
        assert service["nodePorts"] == [{"port": 30443, "listenerPort": listener["port"]}]
        assert listener["protocol"] == "HTTPS" and listener["tls"]["mode"] == "Terminate"
        assert listener["tls"]["certificateRefs"] == [{"kind": "Secret", "name": "taskmgr-tls"}]
        for route in objects_of("HTTPRoute"):
            for host in route["spec"]["hostnames"]:
                assert f"DNS:{host}" in names, f"the certificate does not name {host}"


def test_pgadmin_has_taskmgrs_database_registered_and_listens_where_its_service_points():
    """servers.json names the same host, port, database and superuser as app-config; pgAdmin listens above 1024
    on the port its Service targets."""
    [server] = json.loads(by_name("ConfigMap", "pgadmin")["data"]["servers.json"])["Servers"].values()
    assert (server["Host"], server["Port"], server["MaintenanceDB"], server["Username"]) == (
        config_value("POSTGRES_HOST"), int(config_value("POSTGRES_PORT")), config_value("POSTGRES_DB"),
        config_value("POSTGRES_USER"))
    c = container("pgadmin")
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert int(env["PGADMIN_LISTEN_PORT"]) > 1024
    assert [p["containerPort"] for p in c["ports"]] == [int(env["PGADMIN_LISTEN_PORT"])]
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    assert mounts[env["PGADMIN_SERVER_JSON_FILE"]]["subPath"] == "servers.json"
    assert by_name("Service", "pgadmin")["spec"]["type"] == "ClusterIP"
