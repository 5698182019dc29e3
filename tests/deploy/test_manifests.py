"""Every manifest we ship is valid: built-in kinds by Kubernetes' own schemas, custom ones by their CRDs.

1. Built-in kinds validate with kubernetes-validate, strict (unknown fields are errors), for the oldest
   Kubernetes we support (1.25) and the newest kubernetes-validate ships.
2. Custom resources whose CRD we ship (BurstPolicy, ClusterKopfPeering), the example policies among
   them, validate against that CRD's openAPIV3Schema with jsonschema, after translating Kubernetes'
   extensions (``nullable``, ``x-kubernetes-int-or-string``, ``x-kubernetes-preserve-unknown-fields``)
   and closing objects as the API server's strict field validation does.
3. The Prometheus Operator's kinds (ServiceMonitor, PrometheusRule) have no schema here: their shape
   is checked by hand in test_monitoring.py.
4. Each overlay builds with kustomize (`kustomize` or `kubectl kustomize`), and what it renders passes
   1 and 2 too; without either tool those tests are skipped.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from burstscaler.api import crd
from tests.deploy import bundle

VERSIONS = ("1.25.0", kubernetes_validate.latest_version())
MONITORING_KINDS = {"ServiceMonitor", "PrometheusRule"}
IMPLICIT = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}}
needs_kustomize = pytest.mark.skipif(
    bundle.kustomize_command() is None, reason="neither kustomize nor kubectl (with kustomize built in) is installed"
)


def _crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    # (apiVersion, kind) -> the jsonschema of every CRD version we ship.
    schemas = {}
    for doc in bundle.objects():
        if doc["kind"] != "CustomResourceDefinition":
            continue
        for version in doc["spec"]["versions"]:
            api_version = f"{doc['spec']['group']}/{version['name']}"
            schema = to_jsonschema(version["schema"]["openAPIV3Schema"])
            # The API server accepts these on every object, whether the schema lists them or not.
            schema["properties"] = {**IMPLICIT, **schema.get("properties", {})}
            schemas[(api_version, doc["spec"]["names"]["kind"])] = schema
    return schemas


def to_jsonschema(node: Any) -> Any:
    """A CRD's structural OpenAPI schema as a JSON schema that validates like the API server would."""
    if isinstance(node, list):
        return [to_jsonschema(item) for item in node]
    if not isinstance(node, dict):
        return node
    schema = {key: to_jsonschema(value) for key, value in node.items() if not key.startswith("x-kubernetes-")}
    schema.pop("nullable", None)
    if node.get("x-kubernetes-int-or-string"):
        schema.pop("type", None)
        schema["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields"):
        schema.setdefault("additionalProperties", False)
    if node.get("nullable"):
        schema = {"anyOf": [{"type": "null"}, schema]}
    return schema


#: Kinds that exist only from a Kubernetes version on (shipped as opt-in components, never in the base).
MIN_VERSION = {"ValidatingAdmissionPolicy": (1, 30), "ValidatingAdmissionPolicyBinding": (1, 30)}


def _version_for(doc: dict[str, Any], version: str) -> str:
    # A kind newer than `version` is validated against the latest schema instead (it is opt-in there).
    minimum = MIN_VERSION.get(doc["kind"])
    major, minor = (int(part) for part in version.split(".")[:2])
    return kubernetes_validate.latest_version() if minimum and (major, minor) < minimum else version


def _validate_builtin(doc: dict[str, Any], version: str) -> None:
    kubernetes_validate.validate(copy.deepcopy(doc), _version_for(doc, version), strict=True)


def _validate_custom(doc: dict[str, Any], schemas: dict[tuple[str, str], dict[str, Any]]) -> None:
    schema = schemas[(doc["apiVersion"], doc["kind"])]
    jsonschema.validate(doc, schema)


def _check(docs: list[dict[str, Any]], version: str) -> None:
    schemas = _crd_schemas()
    for doc in docs:
        if doc["kind"] in MONITORING_KINDS:
            continue
        if (doc["apiVersion"], doc["kind"]) in schemas:
            _validate_custom(doc, schemas)
        else:
            _validate_builtin(doc, version)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", bundle.manifest_files(), ids=lambda p: p.relative_to(bundle.MANIFESTS).as_posix())
def test_manifest_file_validates(path: Any, version: str) -> None:
    _check(bundle.documents(path), version)


@pytest.mark.parametrize("path", sorted(bundle.EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_example_policy_validates_against_the_generated_crd(path: Any) -> None:
    schemas = _crd_schemas()
    for doc in bundle.documents(path):
        _validate_custom(doc, schemas)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        pytest.param({"minReplicas": -1}, "minimum", id="negative-min"),
        pytest.param({"surprise": 1}, "Additional properties", id="unknown-field"),
        pytest.param({"burst": {"provider": "gcp"}}, "is not one of", id="unknown-provider"),
        pytest.param({"targetRef": None}, "None", id="required-null"),
    ],
)
def test_the_translated_schema_rejects_what_the_api_server_would(change: dict[str, Any], error: str) -> None:
    policy = bundle.documents(bundle.EXAMPLES / "ack-hybrid-eci.yaml")[0]
    policy["spec"].update(change)
    with pytest.raises(jsonschema.ValidationError, match=error):
        _validate_custom(policy, _crd_schemas())


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        pytest.param("20", True, id="string"),
        pytest.param(20, True, id="int"),
        pytest.param(None, True, id="nullable"),
        pytest.param([20], False, id="list"),
    ],
)
def test_int_or_string_and_nullable_translate(value: Any, valid: bool) -> None:
    schema = to_jsonschema(
        {"type": "object", "properties": {"q": {"x-kubernetes-int-or-string": True, "nullable": True}}}
    )
    assert jsonschema.Draft202012Validator(schema).is_valid({"q": value}) is valid


def test_every_kind_is_validated_somehow() -> None:
    schemas = _crd_schemas()
    for doc in bundle.objects():
        if doc["kind"] in MONITORING_KINDS or (doc["apiVersion"], doc["kind"]) in schemas:
            continue
        _validate_builtin(doc, VERSIONS[0])  # never SchemaNotFoundError


def test_the_crd_copy_in_manifests_is_the_generated_crd() -> None:
    # kustomize cannot reach crds/ from manifests/, so manifests/base/crd holds a copy; it may not drift.
    copy_path = bundle.BASE / "crd" / "burstpolicy.yaml"
    assert copy_path.read_text() == crd.render_yaml(), (
        "manifests/base/crd/burstpolicy.yaml is stale: run `burstscaler crd > manifests/base/crd/burstpolicy.yaml`"
    )


def test_every_shipped_file_is_in_a_kustomization() -> None:
    listed = set()
    for kustomization in bundle.MANIFESTS.rglob("kustomization.yaml"):
        for resource in bundle.documents(kustomization)[0].get("resources", []):
            listed.add((kustomization.parent / resource).resolve())
    assert {path.resolve() for path in bundle.manifest_files()} <= listed


@needs_kustomize
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("directory", [".", *(f"overlays/{o}" for o in (*bundle.OVERLAYS, bundle.NAMESPACED))])
def test_kustomization_builds_and_validates(directory: str, version: str) -> None:
    docs = list(bundle.build(directory))
    kinds = {doc["kind"] for doc in docs}
    assert {"Namespace", "CustomResourceDefinition", "ClusterRole", "Deployment", "Service", "ConfigMap"} <= kinds
    if directory != ".":
        assert kinds >= MONITORING_KINDS
    _check(docs, version)


@needs_kustomize
@pytest.mark.parametrize(
    ("overlay", "node_affinity", "requests"),
    [
        pytest.param("ack", [("type", ["virtual-kubelet"])], {"cpu": "200m", "memory": "256Mi"}, id="ack"),
        pytest.param("ask", None, {"cpu": "500m", "memory": "1Gi"}, id="ask-all-virtual"),
        pytest.param(
            "self-built",
            [("type", ["virtual-kubelet"]), ("node.example.com/kind", ["vnode"])],
            {"cpu": "200m", "memory": "256Mi"},
            id="self-built",
        ),
    ],
)
def test_overlay_places_the_operator_for_its_shape(
    overlay: str, node_affinity: list[tuple[str, list[str]]] | None, requests: dict[str, str]
) -> None:
    deployment = bundle.find(list(bundle.build(f"overlays/{overlay}")), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    affinity = pod["affinity"].get("nodeAffinity")
    if node_affinity is None:
        assert affinity is None
    else:
        terms = affinity["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        assert [(e["key"], e["values"]) for e in terms[0]["matchExpressions"]] == node_affinity
        assert all(e["operator"] == "NotIn" for e in terms[0]["matchExpressions"])
    assert pod["containers"][0]["resources"]["requests"] == requests
