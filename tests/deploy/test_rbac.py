"""RBAC is least privilege, and derived from the code: every call has a rule, every rule has a call.

Where the calls come from:
1. burstscaler/cluster/kube.py, the only module that imports the Kubernetes client (checked below):
   each ``self._call(METHOD, path)`` in ``Workloads`` and in ``Policies`` (the status writes) is
   parsed; the path's API group comes from the f-string in ``Workloads.path``, the resources from
   ``_PLURALS``, a ``+ "/scale"`` suffix names the subresource, and a path without a name is the
   collection (GET on it is ``list``, POST ``create``).
2. burstscaler/operator/handlers.py: every ``kopf.index``/``kopf.timer``/``kopf.daemon``/``kopf.on.*``
   decorator names a watched resource (``list``, ``watch``). Change handlers (``on.create``,
   ``on.update``, ``on.delete``, ``on.resume``, ``on.field``) make Kopf write a finalizer and its
   progress annotations (``patch``); a handler taking ``patch`` may write status (``patch`` on the
   status subresource when the CRD has one). ``kopf.event`` posts core v1 Events (``create``).
3. burstscaler/cluster/twin.py: an owner reference with ``blockOwnerDeletion: True`` on the twin needs
   ``update`` on the owner's ``finalizers`` subresource where OwnerReferencesPermissionEnforcement is on.
4. Kopf's own needs, listed in ``KOPF`` with the reason for each.
"""

from __future__ import annotations

import ast
import pathlib
import textwrap
from typing import Any

import pytest

from burstscaler.api import spec as api_spec
from burstscaler.cluster import twin
from burstscaler.operator import handlers
from tests.deploy import bundle

Permission = tuple[str, str, str]  # (apiGroup, resource, verb)

PACKAGE = bundle.ROOT / "burstscaler"
KUBE = PACKAGE / "cluster" / "kube.py"
HANDLERS = PACKAGE / "operator" / "handlers.py"
TWIN = PACKAGE / "cluster" / "twin.py"

#: API groups of the built-in resources handlers name by plural alone (Kopf resolves them by discovery).
BUILTIN_GROUPS = {"nodes": "", "pods": "", "services": "", "deployments": "apps", "statefulsets": "apps"}
BUILTIN_GROUPS |= {"horizontalpodautoscalers": "autoscaling"}

#: What Kopf itself calls, running cluster-wide with peering, as the manifests deploy it.
KOPF: dict[Permission, str] = {
    ("kopf.dev", "clusterkopfpeerings", "list"): "peering: watches the peers of ClusterKopfPeering burstscaler",
    ("kopf.dev", "clusterkopfpeerings", "watch"): "peering: watches the peers of ClusterKopfPeering burstscaler",
    ("kopf.dev", "clusterkopfpeerings", "patch"): "peering: keep-alives in the object's status (no subresource)",
    ("apiextensions.k8s.io", "customresourcedefinitions", "list"): "observes CRDs added or removed at runtime",
    ("apiextensions.k8s.io", "customresourcedefinitions", "watch"): "observes CRDs added or removed at runtime",
    ("", "events", "create"): "posts handler errors as Events (settings.posting.level = ERROR)",
}
# Not needed, deliberately: namespaces (list, watch) and kopfpeerings are used by Kopf only when the
# operator is restricted to namespaces (BURSTSCALER_NAMESPACES), which the manifests do not do (checked
# below); Kopf's discovery reads /api, /apis and /version, non-resource URLs every account may read.

CHANGE_HANDLERS = {"create", "update", "delete", "resume", "field"}
WATCH_ONLY_HANDLERS = {"event"}
ACTIVITIES = {"login", "startup", "cleanup", "probe"}
VERBS = {("GET", True): "get", ("GET", False): "list", ("POST", False): "create", ("PUT", True): "update"}
VERBS |= {("PATCH", True): "patch", ("DELETE", True): "delete", ("DELETE", False): "deletecollection"}


# -- deriving the calls ------------------------------------------------------------------------------


def _api_group(path_template: str) -> str:
    # "/apis/apps/v1/namespaces/..." -> "apps"; "/api/v1/..." -> "" (the core group).
    parts = path_template.strip("/").split("/")
    return "" if parts[0] == "api" else parts[1]


def workload_calls(source: str) -> set[Permission]:
    """The permissions the ``Workloads`` class in `source` (kube.py's text) needs."""
    tree = ast.parse(source)
    plurals: list[str] = []
    group: str | None = None
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "_PLURALS" for t in node.targets):
            plurals = list(ast.literal_eval(node.value).values())
        if isinstance(node, ast.FunctionDef) and node.name == "path":
            template = next(n for n in ast.walk(node) if isinstance(n, ast.JoinedStr))
            group = _api_group(str(next(v.value for v in template.values if isinstance(v, ast.Constant))))
    assert plurals and group is not None, "kube.py no longer has _PLURALS and Workloads.path: update this test"
    workloads = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Workloads")
    found: set[Permission] = set()
    for call in ast.walk(workloads):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "_call"):
            continue
        method, path = call.args[0], call.args[1]
        assert isinstance(method, ast.Constant), f"line {call.lineno}: the HTTP method must be a literal"
        subresource = ""
        if isinstance(path, ast.BinOp) and isinstance(path.right, ast.Constant):
            subresource, path = str(path.right.value), path.left
        assert isinstance(path, ast.Call) and getattr(path.func, "attr", "") == "path", (
            f"line {call.lineno}: a path not built by self.path(...): teach this test what it calls"
        )
        named = len(path.args) >= 3
        verb = VERBS[(str(method.value), named)]
        found |= {(group, plural + subresource, verb) for plural in plurals}
    return found


def policy_status_calls(source: str) -> set[Permission]:
    """The permissions the ``Policies`` class in `source` needs: its calls on ``self.status_path(...)``."""
    tree = ast.parse(source)
    clients = [
        n for n in tree.body if isinstance(n, ast.ClassDef) and any(ast.unparse(b) == "_Client" for b in n.bases)
    ]
    unknown = {client.name for client in clients} - {"Workloads", "Policies"}
    assert not unknown, f"kube.py has new API clients {sorted(unknown)}: teach this test what they call"
    policies = next(client for client in clients if client.name == "Policies")
    found: set[Permission] = set()
    for call in ast.walk(policies):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "_call"):
            continue
        method, path = call.args[0], call.args[1]
        assert isinstance(method, ast.Constant), f"line {call.lineno}: the HTTP method must be a literal"
        assert isinstance(path, ast.Call) and getattr(path.func, "attr", "") == "status_path", (
            f"line {call.lineno}: a path not built by self.status_path(...): teach this test what it calls"
        )
        found.add((api_spec.API_GROUP, f"{api_spec.PLURAL}/status", VERBS[(str(method.value), True)]))
    return found


def owner_reference_calls(source: str) -> set[Permission]:
    """``update`` on burstpolicies/finalizers when `source` (twin.py) sets ``blockOwnerDeletion: True``."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Dict):
            pairs = {ast.unparse(k): ast.unparse(v) for k, v in zip(node.keys, node.values, strict=True) if k}
            if pairs.get("'blockOwnerDeletion'") == "True":
                return {(api_spec.API_GROUP, f"{api_spec.PLURAL}/finalizers", "update")}
    return set()


def _decorator(node: ast.expr) -> tuple[str, list[ast.expr]] | None:
    # kopf.index(...) -> ("index", args); kopf.on.delete(...) -> ("on.delete", args).
    if not isinstance(node, ast.Call):
        return None
    name = ast.unparse(node.func)
    if not name.startswith("kopf."):
        return None
    return name.removeprefix("kopf."), list(node.args)


def handler_calls(source: str, *, names: dict[str, Any], status_subresources: set[str]) -> set[Permission]:
    """The permissions the Kopf handlers in `source` need (`names` resolves constants like PLURAL)."""
    found: set[Permission] = set()
    tree = ast.parse(source)
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        arguments = {arg.arg for arg in function.args.args + function.args.kwonlyargs}
        for decorator in map(_decorator, function.decorator_list):
            if decorator is None:
                continue
            kind, args = decorator
            if kind.removeprefix("on.") in ACTIVITIES:
                continue
            values = [arg.value if isinstance(arg, ast.Constant) else names[ast.unparse(arg)] for arg in args]
            if len(values) == 1:
                plural = str(values[0])
                assert plural in BUILTIN_GROUPS, f"{plural}: add its API group to BUILTIN_GROUPS"
                group = BUILTIN_GROUPS[plural]
            else:
                group, plural = str(values[0]), str(values[-1])
            assert kind in {"index", "timer", "daemon"} or kind.startswith("on."), f"unknown Kopf decorator {kind}"
            found |= {(group, plural, "list"), (group, plural, "watch")}
            if kind.removeprefix("on.") in CHANGE_HANDLERS or "patch" in arguments:
                found.add((group, plural, "patch"))
            if "patch" in arguments and plural in status_subresources:
                found.add((group, f"{plural}/status", "patch"))
    if any(ast.unparse(n.func) in {"kopf.event", "kopf.info", "kopf.warn", "kopf.exception"} for n in _calls(tree)):
        found.add(("", "events", "create"))
    return found


def _calls(tree: ast.AST) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def _status_subresources() -> set[str]:
    crd = bundle.documents(bundle.BASE / "crd" / "burstpolicy.yaml")[0]
    return {crd["spec"]["names"]["plural"]} if "status" in crd["spec"]["versions"][0]["subresources"] else set()


def required() -> set[Permission]:
    """Everything the operator calls: workloads, handlers, Kopf."""
    names = {name: getattr(handlers, name) for name in ("GROUP", "VERSION", "PLURAL")}
    from_handlers = handler_calls(HANDLERS.read_text(), names=names, status_subresources=_status_subresources())
    source = KUBE.read_text()
    owners = owner_reference_calls(TWIN.read_text())
    return workload_calls(source) | policy_status_calls(source) | from_handlers | owners | set(KOPF)


def granted() -> set[Permission]:
    """Everything the ClusterRole grants."""
    role = bundle.find(bundle.documents(bundle.BASE / "rbac.yaml"), "ClusterRole")
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


# -- the derivation, on small sources ----------------------------------------------------------------

KUBE_PREAMBLE = """
_PLURALS = {"Deployment": "deployments"}
class Workloads:
    def path(self, kind, namespace, name=""):
        base = f"/apis/apps/v1/namespaces/{namespace}/{_PLURALS[kind]}"
"""


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param('self._call("GET", self.path(k, ns, n))', ("apps", "deployments", "get"), id="get"),
        pytest.param('self._call("GET", self.path(k, ns))', ("apps", "deployments", "list"), id="list"),
        pytest.param('self._call("POST", self.path(k, ns), body=b)', ("apps", "deployments", "create"), id="create"),
        pytest.param('self._call("PATCH", self.path(k, ns, n))', ("apps", "deployments", "patch"), id="patch"),
        pytest.param(
            'self._call("PATCH", self.path(k, ns, n) + "/scale")', ("apps", "deployments/scale", "patch"), id="scale"
        ),
        pytest.param('self._call("DELETE", self.path(k, ns, n))', ("apps", "deployments", "delete"), id="delete"),
    ],
)
def test_workload_calls_are_read_from_the_source(body: str, expected: Permission) -> None:
    source = KUBE_PREAMBLE + textwrap.indent(f"def f(self):\n    {body}\n", "    ")
    assert workload_calls(source) == {expected}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param(
            '{"uid": u, "blockOwnerDeletion": True}', {("burstscaler.io", "burstpolicies/finalizers", "update")}
        ),
        pytest.param('{"uid": u, "blockOwnerDeletion": False}', set()),
        pytest.param('{"uid": u}', set()),
    ],
)
def test_blocking_owner_deletion_needs_update_on_finalizers(source: str, expected: set[Permission]) -> None:
    assert owner_reference_calls(f"ref = {source}\n") == expected


def test_a_call_the_parser_does_not_understand_fails_loudly() -> None:
    source = KUBE_PREAMBLE + textwrap.indent('def f(self):\n    self._call("GET", "/api/v1/secrets")\n', "    ")
    with pytest.raises(AssertionError, match="teach this test"):
        workload_calls(source)


@pytest.mark.parametrize(
    ("decorator", "arguments", "expected"),
    [
        pytest.param('kopf.index("pods")', "body", {("", "pods", "list"), ("", "pods", "watch")}, id="index"),
        pytest.param(
            "kopf.timer(GROUP, VERSION, PLURAL)",
            "body",
            {("g.io", "things", "list"), ("g.io", "things", "watch")},
            id="timer-reading",
        ),
        pytest.param(
            "kopf.timer(GROUP, VERSION, PLURAL)",
            "body, patch",
            {("g.io", "things", v) for v in ("list", "watch", "patch")} | {("g.io", "things/status", "patch")},
            id="timer-patching",
        ),
        pytest.param(
            "kopf.on.delete(GROUP, VERSION, PLURAL)",
            "spec",
            {("g.io", "things", v) for v in ("list", "watch", "patch")},
            id="on-delete-finalizer",
        ),
        pytest.param("kopf.on.startup()", "settings", set(), id="activity"),
    ],
)
def test_handler_calls_are_read_from_the_source(decorator: str, arguments: str, expected: set[Permission]) -> None:
    source = f"@{decorator}\ndef handler({arguments}):\n    pass\n"
    names = {"GROUP": "g.io", "VERSION": "v1", "PLURAL": "things"}
    assert handler_calls(source, names=names, status_subresources={"things"}) == expected


# -- the manifests against the code ------------------------------------------------------------------


def test_every_call_has_a_rule() -> None:
    missing = required() - granted()
    assert not missing, f"calls without an RBAC rule in manifests/base/rbac.yaml: {sorted(missing)}"


def test_no_rule_grants_more_than_the_calls_need() -> None:
    extra = granted() - required()
    assert not extra, f"RBAC grants what no call needs (least privilege): {sorted(extra)}"


def test_only_kube_py_imports_the_kubernetes_client() -> None:
    importers = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            modules += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(module == "kubernetes" or module.startswith("kubernetes.") for module in modules):
                importers.add(path.relative_to(bundle.ROOT).as_posix())
    assert importers == {"burstscaler/cluster/kube.py"}, "a new module calls the API: derive its calls here"


def test_rules_name_no_wildcards_and_no_secrets() -> None:
    role = bundle.find(bundle.documents(bundle.BASE / "rbac.yaml"), "ClusterRole")
    for rule in role["rules"]:
        assert "*" not in rule["apiGroups"] + rule["resources"] + rule["verbs"]
    assert not {resource for _, resource, _ in granted()} & {"secrets", "configmaps", "serviceaccounts/token"}


def test_the_binding_gives_the_role_to_the_operators_service_account() -> None:
    docs = bundle.documents(bundle.BASE / "rbac.yaml")
    binding = bundle.find(docs, "ClusterRoleBinding")
    account = bundle.find(docs, "ServiceAccount")
    deployment = bundle.find(bundle.documents(bundle.BASE / "deployment.yaml"), "Deployment")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": bundle.find(docs, "ClusterRole")["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account["metadata"]["name"], "namespace": account["metadata"]["namespace"]}
    ]
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == account["metadata"]["name"]


def test_the_operator_runs_cluster_wide_as_the_kopf_rules_assume() -> None:
    # Restricted to namespaces, Kopf would need kopfpeerings in each and namespaces list/watch.
    literals = bundle.documents(bundle.BASE / "kustomization.yaml")[0]["configMapGenerator"][0]["literals"]
    deployment = bundle.find(bundle.documents(bundle.BASE / "deployment.yaml"), "Deployment")
    env = {e["name"] for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "BURSTSCALER_NAMESPACES" not in env
    assert not any(str(literal).startswith("BURSTSCALER_NAMESPACES=") for literal in literals)
    for overlay in bundle.OVERLAYS:
        text = (bundle.MANIFESTS / "overlays" / overlay / "kustomization.yaml").read_text()
        assert "BURSTSCALER_NAMESPACES" not in text, overlay


def test_kopf_needs_are_explained() -> None:
    assert all(reason for reason in KOPF.values())
    assert pathlib.Path(bundle.BASE / "rbac.yaml").read_text().count("# Kopf:") >= 2


# -- the namespaced install, the admission policy, the network policy ----------------------------------------

NAMESPACED_RBAC = bundle.MANIFESTS / "overlays" / bundle.NAMESPACED / "rbac-namespaced.yaml"
#: Read cluster-wide even when namespaced: planning counts every pod on a node, nodes are cluster-scoped.
CLUSTER_READS = {("", "nodes"), ("", "pods"), ("apiextensions.k8s.io", "customresourcedefinitions")}


def _rules(role: dict[str, Any]) -> set[Permission]:
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def test_the_namespaced_install_grants_what_the_calls_need_and_no_more() -> None:
    docs = bundle.documents(NAMESPACED_RBAC)
    cluster = _rules(bundle.find(docs, "ClusterRole"))
    namespaced = _rules(bundle.find(docs, "Role"))
    # Kopf restricted to namespaces elects its leader in a KopfPeering of each namespace.
    peering = {("kopf.dev", "clusterkopfpeerings", verb) for verb in ("list", "watch", "patch")}
    expected = (required() - peering) | {("kopf.dev", "kopfpeerings", verb) for verb in ("list", "watch", "patch")}
    assert cluster | namespaced == expected
    assert {verb for _, _, verb in cluster} <= {"list", "watch"}, "the cluster-wide part must be read-only"
    assert {(group, resource) for group, resource, _ in cluster} <= CLUSTER_READS


def test_the_namespaced_install_watches_exactly_the_namespaces_it_has_roles_in() -> None:
    docs = bundle.documents(NAMESPACED_RBAC)
    roles = {doc["metadata"]["namespace"] for doc in docs if doc["kind"] in ("Role", "RoleBinding", "KopfPeering")}
    built = list(bundle.build(f"overlays/{bundle.NAMESPACED}")) if bundle.kustomize_command() else []
    if not built:
        pytest.skip("kustomize is not installed")
    config = next(doc for doc in built if doc["kind"] == "ConfigMap" and "BURSTSCALER_NAMESPACES" in doc["data"])
    assert set(config["data"]["BURSTSCALER_NAMESPACES"].split()) == roles
    assert not [doc for doc in built if doc["kind"] == "ClusterRoleBinding" and doc["roleRef"]["name"] == "burstscaler"]


def _admission_policy() -> dict[str, Any]:
    return bundle.find(
        bundle.documents(bundle.ADMISSION_POLICY / "validating-admission-policy.yaml"), "ValidatingAdmissionPolicy"
    )


def test_the_admission_policy_matches_the_operators_workload_writes() -> None:
    policy = _admission_policy()
    account = bundle.find(bundle.documents(bundle.BASE / "rbac.yaml"), "ServiceAccount")["metadata"]
    expected_user = f"system:serviceaccount:{account['namespace']}:{account['name']}"
    assert [c["expression"] for c in policy["spec"]["matchConditions"]] == [
        f"request.userInfo.username == '{expected_user}'"
    ]
    # The writes on whole workloads (not /scale) that the code makes, as admission operations.
    writes = {(g, r, v) for g, r, v in workload_calls(KUBE.read_text()) if v in ("create", "patch") and "/" not in r}
    operations = {"create": "CREATE", "patch": "UPDATE"}
    matched = {
        (group, resource, operation)
        for rule in policy["spec"]["matchConstraints"]["resourceRules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for operation in rule["operations"]
    }
    assert {(g, r, operations[v]) for g, r, v in writes} == matched
    # The CEL names the twin's label and owner kind as the renderer writes them.
    cel = " ".join(v["expression"] for v in policy["spec"]["variables"] + policy["spec"]["validations"])
    assert f"'{twin.TIER_LABEL}'" in cel and "r.kind == 'BurstPolicy'" in cel


def test_the_admission_policy_is_bound_and_denies() -> None:
    docs = bundle.documents(bundle.ADMISSION_POLICY / "validating-admission-policy.yaml")
    binding = bundle.find(docs, "ValidatingAdmissionPolicyBinding")
    assert binding["spec"]["policyName"] == _admission_policy()["metadata"]["name"]
    assert binding["spec"]["validationActions"] == ["Deny"]
    assert _admission_policy()["spec"]["failurePolicy"] == "Fail"


def test_the_network_policy_lets_the_operator_reach_only_the_api_server_prometheus_and_dns() -> None:
    policy = bundle.find(bundle.documents(bundle.BASE / "network-policy.yaml"), "NetworkPolicy")
    deployment = bundle.find(bundle.documents(bundle.BASE / "deployment.yaml"), "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert all(pod_labels.get(k) == v for k, v in policy["spec"]["podSelector"]["matchLabels"].items())
    assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    egress = {(port["port"], port["protocol"]) for rule in policy["spec"]["egress"] for port in rule["ports"]}
    literals = bundle.documents(bundle.BASE / "kustomization.yaml")[0]["configMapGenerator"][0]["literals"]
    url = next(lit.split("=", 1)[1] for lit in literals if lit.startswith("BURSTSCALER_PROMETHEUS_URL="))
    prometheus_port = int(url.rsplit(":", 1)[1].split("/")[0])
    assert egress == {(443, "TCP"), (6443, "TCP"), (prometheus_port, "TCP"), (53, "UDP"), (53, "TCP")}
    ports = {p["containerPort"] for p in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]}
    ingress = {port["port"] for rule in policy["spec"]["ingress"] for port in rule["ports"]}
    assert ingress == ports
