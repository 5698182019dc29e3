"""The CRD generated from the models: committed, structural, and accepted by Kubernetes' own schemas."""

from __future__ import annotations

import pathlib
from typing import Any

import kubernetes_validate
import pytest
import yaml

from burstscaler.api import crd
from tests.api import structural

COMMITTED = pathlib.Path(__file__).parents[2] / "crds" / "burstpolicy.yaml"


def _schema() -> dict[str, Any]:
    return crd.custom_resource_definition()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def test_committed_crd_matches_the_models() -> None:
    assert COMMITTED.read_text() == crd.render_yaml(), (
        "crds/burstpolicy.yaml is stale: run `burstscaler crd > crds/burstpolicy.yaml`"
    )


def test_schema_is_structural() -> None:
    assert structural.violations(_schema()) == []


@pytest.mark.parametrize(
    ("schema", "rule"),
    [
        pytest.param({"type": "object", "properties": {"a": {"$ref": "#/x"}}}, "forbidden key $ref", id="ref"),
        pytest.param(
            {"type": "object", "properties": {"a": {"anyOf": [{"type": "string"}, {"type": "null"}]}}},
            "anyOf",
            id="null-branch",
        ),
        pytest.param({"type": "object", "properties": {"a": {"description": "x"}}}, "no type", id="untyped"),
        pytest.param({"type": "object", "properties": {"a": {"type": "string", "const": "x"}}}, "const", id="const"),
        pytest.param(
            {"type": "object", "properties": {}, "additionalProperties": {"type": "string"}},
            "both",
            id="props+additional",
        ),
        pytest.param({"type": "array"}, "items", id="array-no-items"),
        pytest.param({"type": "integer", "default": "3"}, "default", id="bad-default"),
        pytest.param({"type": "integer", "exclusiveMinimum": 0}, "exclusiveMinimum", id="draft-2020-exclusive"),
    ],
)
def test_the_checker_catches_each_rule(schema: dict[str, Any], rule: str) -> None:
    assert any(rule in violation for violation in structural.violations(schema))


def test_no_null_branches_or_references_survive() -> None:
    text = yaml.safe_dump(_schema())
    assert "$ref" not in text and "$defs" not in text and "type: 'null'" not in text and "type: null" not in text


def test_free_form_only_where_it_belongs() -> None:
    preserved: list[str] = []

    def walk(node: dict[str, Any], path: str) -> None:
        if node.get("x-kubernetes-preserve-unknown-fields"):
            preserved.append(path)
        for name, child in (node.get("properties") or {}).items():
            walk(child, f"{path}.{name}")
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{path}[]")

    walk(_schema(), "")
    assert sorted(preserved) == [".status.lastDecision.inputs"]


def test_quantities_and_prices_are_int_or_string() -> None:
    pricing = _schema()["properties"]["spec"]["properties"]["pricing"]["properties"]
    assert pricing["eciPerVCPUSecond"]["x-kubernetes-int-or-string"] is True
    assert pricing["eciPerVCPUSecond"]["default"] == "0.0000077"
    assert pricing["eciPerGiBSecond"]["default"] == "0.00000096"


def test_min_max_rule_is_in_the_schema() -> None:
    rules = _schema()["properties"]["spec"]["x-kubernetes-validations"]
    assert {
        "rule": "self.minReplicas <= self.maxReplicas",
        "message": "minReplicas must not exceed maxReplicas",
    } in rules


def test_enums_are_in_the_schema() -> None:
    burst = _schema()["properties"]["spec"]["properties"]["burst"]["properties"]
    assert burst["provider"]["enum"] == ["alibaba-eci", "alibaba-vnode", "azure-aci", "aws-fargate", "generic"]


def test_printer_columns_and_names() -> None:
    version = crd.custom_resource_definition()["spec"]["versions"][0]
    columns = version["additionalPrinterColumns"]
    # DESIGN §3's columns for `kubectl get bp`; the bridge's and spot's only with `-o wide` (priority 1).
    assert [column["name"].upper() for column in columns if not column.get("priority")] == [
        "TARGET",
        "DESIRED",
        "BASE",
        "BURST",
        "BUDGET",
        "COST",
        "AGE",
    ]
    assert [column["name"].upper() for column in columns if column.get("priority") == 1] == ["PLACEHOLDERS", "SPOT"]
    assert version["subresources"] == {"status": {}}
    names = crd.custom_resource_definition()["spec"]["names"]
    assert names["shortNames"] == ["bp"] and names["kind"] == "BurstPolicy"


@pytest.mark.parametrize("version", ["1.25.0", kubernetes_validate.latest_version()])
def test_kubernetes_validate_strict(version: str) -> None:
    kubernetes_validate.validate(crd.custom_resource_definition(), version, strict=True)


def _at(schema: dict[str, Any], *path: str) -> dict[str, Any]:
    node = schema
    for part in path:
        node = node["items"] if part == "[]" else node["properties"][part]
    return node


def test_tenant_input_is_bounded_in_the_schema() -> None:
    # Issue 12: every free-form part of a policy has a size the API server enforces.
    spec = _schema()["properties"]["spec"]
    assert _at(spec, "metrics")["maxItems"] == 8
    assert _at(spec, "schedules")["maxItems"] == 32
    assert _at(spec, "metrics", "[]", "prometheus", "query")["maxLength"] == 4096
    assert _at(spec, "metrics", "[]", "prometheus", "serverUrl")["maxLength"] == 2048
    patch = _at(spec, "burst", "podTemplatePatch")
    assert not patch.get("x-kubernetes-preserve-unknown-fields")
    assert set(_at(patch, "spec")["properties"]) == {
        "nodeSelector",
        "tolerations",
        "affinity",
        "topologySpreadConstraints",
    }
    assert set(_at(patch, "metadata")["properties"]) == {"labels", "annotations"}
    assert _at(patch, "spec", "tolerations")["maxItems"] == 32
    assert _at(patch, "metadata", "labels")["maxProperties"] == 64
    assert _at(patch, "metadata", "labels")["additionalProperties"]["maxLength"] == 63
