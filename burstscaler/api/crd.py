"""Generate the BurstPolicy CustomResourceDefinition from the pydantic models.

pydantic writes JSON Schema (draft 2020-12); Kubernetes accepts only *structural* OpenAPI v3 schemas.
The translation, rule by rule:
- ``$ref``/``$defs`` are inlined (Kubernetes resolves no references);
- ``anyOf: [X, {type: null}]`` of an optional field becomes X with ``nullable: true``;
- ``const`` (a one-value Literal) becomes a one-value ``enum``;
- ``additionalProperties: false`` (extra="forbid") is dropped: the API server prunes unknown fields, and
  ``properties`` and ``additionalProperties`` may not be combined;
- free-form objects (``dict[str, Any]``) become ``x-kubernetes-preserve-unknown-fields: true``;
- ``title`` is dropped, and ``default: null`` with it (defaults must validate against the schema);
- ``propertyNames`` (the key constraints of a typed mapping) is dropped: Kubernetes' schema has no such
  keyword; the models still check keys (``lint`` and the operator).
"""

from __future__ import annotations

import copy
from typing import Any

import pydantic

from burstscaler.api import spec, status

#: The API server's printer columns, in the order `kubectl get bp` shows them.
PRINTER_COLUMNS: list[dict[str, Any]] = [
    {"name": "Target", "type": "string", "jsonPath": ".spec.targetRef.name", "description": "The base workload."},
    {"name": "Desired", "type": "integer", "jsonPath": ".status.desiredReplicas"},
    {"name": "Base", "type": "integer", "jsonPath": ".status.baseReplicas", "description": "Replicas on ECS."},
    {"name": "Burst", "type": "integer", "jsonPath": ".status.burstReplicas", "description": "Replicas on ECI."},
    {
        "name": "Budget",
        "type": "string",
        "jsonPath": ".spec.burst.budget.maxCostPerHour",
        "description": "Burst spend cap per hour.",
    },
    {
        "name": "Cost",
        "type": "string",
        "jsonPath": ".status.cost.eciCost",
        "description": "Burst spend since status.cost.since.",
    },
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    # priority 1: shown by `kubectl get bp -o wide` only.
    {
        "name": "Placeholders",
        "type": "integer",
        "jsonPath": ".status.placeholderReplicas",
        "priority": 1,
        "description": "Pending placeholder pods asking the node autoscaler for ECS capacity.",
    },
    {
        "name": "Spot",
        "type": "integer",
        "jsonPath": ".status.spotBurstReplicas",
        "priority": 1,
        "description": "Burst replicas on spot instances.",
    },
]


def openapi_schema(model: type[pydantic.BaseModel]) -> dict[str, Any]:
    """Return the structural OpenAPI v3 schema of a model, ready for a CRD."""
    generated = model.model_json_schema(by_alias=True, mode="validation")
    definitions = generated.pop("$defs", {})
    return _structural(generated, definitions)


def _structural(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_structural(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        # Sibling keys of a $ref (pydantic puts `default` and `description` there) override the target's.
        target = copy.deepcopy(definitions[node["$ref"].rsplit("/", 1)[-1]])
        target.update({key: value for key, value in node.items() if key != "$ref"})
        return _structural(target, definitions)
    node = dict(node)
    branches = node.get("anyOf")
    if branches is not None and not node.get("x-kubernetes-int-or-string"):
        others = [branch for branch in branches if branch.get("type") != "null"]
        if len(others) == 1 and len(others) < len(branches):
            del node["anyOf"]
            merged = {**others[0], **{key: value for key, value in node.items()}}
            merged["nullable"] = True
            node = merged
        if "$ref" in node:
            return _structural(node, definitions)
    if "const" in node:
        node["enum"] = [node.pop("const")]
    node.pop("title", None)
    node.pop("propertyNames", None)
    if "default" in node and node["default"] is None:
        del node["default"]
    if node.get("additionalProperties") is False:
        del node["additionalProperties"]
    if node.get("type") == "object" and node.get("additionalProperties") is True:
        del node["additionalProperties"]
        node["x-kubernetes-preserve-unknown-fields"] = True
    if node.get("type") == "object" and not node.get("properties") and "additionalProperties" not in node:
        node["x-kubernetes-preserve-unknown-fields"] = True
    if "enum" in node and "type" not in node:
        node["type"] = _enum_type(node["enum"])
    return {key: _structural(value, definitions) for key, value in node.items()}


def _enum_type(values: list[Any]) -> str:
    kinds = {type(value) for value in values}
    if kinds == {str}:
        return "string"
    if kinds <= {int}:
        return "integer"
    raise ValueError(f"enum of mixed types {values!r} has no structural type")


def custom_resource_definition() -> dict[str, Any]:
    """Return the BurstPolicy CRD (apiextensions.k8s.io/v1) as a plain dict."""
    spec_schema = openapi_schema(spec.BurstPolicySpec)
    status_schema = openapi_schema(status.BurstPolicyStatus)
    status_schema.pop("default", None)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{spec.PLURAL}.{spec.API_GROUP}"},
        "spec": {
            "group": spec.API_GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": spec.KIND,
                "listKind": f"{spec.KIND}List",
                "plural": spec.PLURAL,
                "singular": spec.KIND.lower(),
                "shortNames": [spec.SHORT_NAME],
                "categories": ["all", "autoscaling"],
            },
            "versions": [
                {
                    "name": spec.API_VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": PRINTER_COLUMNS,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": "BurstPolicy scales a workload on ECS nodes and bursts the overflow "
                            "onto a serverless virtual node.",
                            "required": ["spec"],
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": spec_schema,
                                "status": status_schema,
                            },
                        }
                    },
                }
            ],
        },
    }


def render_yaml() -> str:
    """Return the CRD as the YAML committed at crds/burstpolicy.yaml."""
    import yaml  # local: only the CLI and tests render YAML

    header = "# Generated by `burstscaler crd` from burstscaler/api; do not edit by hand.\n"
    return header + yaml.safe_dump(custom_resource_definition(), sort_keys=False, width=100)
