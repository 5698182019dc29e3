"""A checker of Kubernetes' structural-schema rules, so the generated CRD is tested against the rules.

The rules (apiextensions.k8s.io/v1, "Specifying a structural schema"):
1. every node has a non-empty `type`, unless it is int-or-string or preserves unknown fields;
2. `anyOf`/`oneOf`/`allOf`/`not` carry no `type`, `default`, `description`, `nullable` or
   `additionalProperties`; the only anyOf we emit is the int-or-string one, exactly;
3. no `$ref`, `definitions`, `$defs`, `const`, `prefixItems` or JSON-schema-2020 numeric `exclusiveMinimum`;
4. an object has `properties` or `additionalProperties`, never both, unless it preserves unknown fields;
5. an array has `items` (a single schema);
6. `nullable` is a boolean; a `default` and every `enum` value match the node's type.
"""

from __future__ import annotations

from typing import Any

FORBIDDEN_KEYS = {"$ref", "$defs", "definitions", "const", "prefixItems", "title", "oneOf", "allOf", "not"}
INT_OR_STRING = [{"type": "integer"}, {"type": "string"}]
_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


def violations(node: Any, path: str = "") -> list[str]:
    """Every structural-schema rule the schema breaks, as `path: rule` strings (empty when structural)."""
    found: list[str] = []
    if not isinstance(node, dict):
        return [f"{path}: schema node is not a mapping"]
    found.extend(f"{path}: forbidden key {key}" for key in FORBIDDEN_KEYS & set(node))
    int_or_string = node.get("x-kubernetes-int-or-string") is True
    preserve = node.get("x-kubernetes-preserve-unknown-fields") is True
    kind = node.get("type")
    if not kind and not (int_or_string or preserve):
        found.append(f"{path}: no type")
    if isinstance(kind, list):
        found.append(f"{path}: type must be one string, not a list")
    if "anyOf" in node and not (int_or_string and node["anyOf"] == INT_OR_STRING):
        found.append(f"{path}: anyOf other than the int-or-string form")
    if int_or_string and kind:
        found.append(f"{path}: int-or-string with a type")
    if "nullable" in node and not isinstance(node["nullable"], bool):
        found.append(f"{path}: nullable is not a boolean")
    if isinstance(node.get("exclusiveMinimum"), int | float) and not isinstance(node.get("exclusiveMinimum"), bool):
        found.append(f"{path}: numeric exclusiveMinimum (draft 2020) instead of a boolean")
    if kind == "object" and "properties" in node and "additionalProperties" in node:
        found.append(f"{path}: both properties and additionalProperties")
    if kind == "array" and not isinstance(node.get("items"), dict):
        found.append(f"{path}: array without a single items schema")
    if kind in _PY_TYPES:
        expected = _PY_TYPES[kind]
        if "default" in node and not _matches(node["default"], expected):
            found.append(f"{path}: default {node['default']!r} is not a {kind}")
        found.extend(
            f"{path}: enum value {value!r} is not a {kind}"
            for value in node.get("enum", [])
            if not _matches(value, expected)
        )
    if int_or_string and "default" in node and not isinstance(node["default"], int | str):
        found.append(f"{path}: int-or-string default {node['default']!r}")
    for name, child in (node.get("properties") or {}).items():
        found.extend(violations(child, f"{path}.{name}"))
    if isinstance(node.get("items"), dict):
        found.extend(violations(node["items"], f"{path}[]"))
    if isinstance(node.get("additionalProperties"), dict):
        found.extend(violations(node["additionalProperties"], f"{path}{{}}"))
    return found


def _matches(value: Any, expected: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in expected:
        return False
    return isinstance(value, expected)
