"""The API server's structural-schema rules for custom resources: prune, default, validate.

What ``kube-apiserver`` does with a custom resource written against a CRD's ``openAPIV3Schema``
(apiextensions ``pkg/apiserver/schema``), in its order:

1. **prune unknown fields**: an object field the schema does not declare is dropped, silently,
   unless the schema (at that level) says ``x-kubernetes-preserve-unknown-fields: true``; maps
   (``additionalProperties``) and array items are walked with their own schema;
2. **prune nulls**: a field set to ``null`` whose schema is not ``nullable: true`` is dropped;
3. **default**: a declared field with a ``default``, absent from an object that is present, gets it;
4. **validate**: types (``integer`` does not take 1.5 or true; ``number`` takes integers),
   ``nullable``, ``enum``, ``minimum``/``maximum``, ``minLength``/``maxLength``, ``pattern``,
   ``required``, ``anyOf``/``oneOf``/``allOf``/``not``, ``format: date-time``,
   ``x-kubernetes-int-or-string``; each failure is one cause of a 422 ``Invalid``, worded as the
   server words it (``status.desiredReplicas: Invalid value: "seven": status.desiredReplicas in
   body must be of type integer: "string"``).

Validation uses ``jsonschema`` (Draft 4, whose integer excludes 1.0 as Go's decoder does) on the
schema translated by :func:`json_schema`; CEL rules (``x-kubernetes-validations``) are not run.
"""

from __future__ import annotations

import copy
import datetime
import json
from typing import Any

import jsonschema

_TYPE_NAMES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}
_FORMATS = jsonschema.FormatChecker(formats=())
# Keywords copied as they are (the others are translated above, or are Kubernetes extensions).
_KEYWORDS = frozenset(
    (
        "type",
        "enum",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "format",
        "minLength",
        "maxLength",
        "pattern",
        "required",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minProperties",
        "maxProperties",
        "multipleOf",
        "additionalProperties",
    )
)


@_FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    datetime.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    return "T" in value.upper()


class Invalid(Exception):
    """The write breaks the schema; `causes` are (field path, message) pairs."""

    def __init__(self, causes: list[tuple[str, str]]) -> None:
        super().__init__(", ".join(message for _, message in causes))
        self.causes = causes


def normalize(value: Any, schema: dict[str, Any], *, path: str) -> Any:
    """`value` pruned and defaulted as the server stores it; :class:`Invalid` if it breaks `schema`."""
    value = prune(copy.deepcopy(value), schema)
    value = apply_defaults(value, schema)
    causes = validate(value, schema, path=path)
    if causes:
        raise Invalid(causes)
    return value


def prune(value: Any, schema: dict[str, Any]) -> Any:
    """Unknown fields and non-nullable nulls removed (in place where possible)."""
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        keep_unknown = schema.get("x-kubernetes-preserve-unknown-fields") is True
        for key in list(value):
            sub = properties.get(key)
            if sub is None and isinstance(extra, dict):
                sub = extra
            if sub is None:
                if not (keep_unknown or extra is True):
                    del value[key]
                continue
            if value[key] is None and not sub.get("nullable"):
                del value[key]
                continue
            value[key] = prune(value[key], sub)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [prune(item, schema["items"]) for item in value]
    return value


def apply_defaults(value: Any, schema: dict[str, Any]) -> Any:
    """Absent fields with a ``default`` set, in every object that is present."""
    if isinstance(value, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                value[key] = apply_defaults(value[key], sub)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key in value:
                if key not in (schema.get("properties") or {}):
                    value[key] = apply_defaults(value[key], extra)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [apply_defaults(item, schema["items"]) for item in value]
    return value


def validate(value: Any, schema: dict[str, Any], *, path: str) -> list[tuple[str, str]]:
    """The (field, message) causes of every rule `value` breaks, in the server's wording."""
    validator = jsonschema.Draft4Validator(json_schema(schema), format_checker=_FORMATS)
    causes = []
    for error in sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path))):
        field = ".".join([path, *(str(part) if isinstance(part, str) else f"[{part}]" for part in error.absolute_path)])
        field = field.replace(".[", "[")
        causes.append((field, _message(field, error)))
    return causes


def json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI v3 (Kubernetes structural) schema as Draft 4 JSON Schema."""
    out: dict[str, Any] = {}
    for key, sub in schema.items():
        if key in ("properties", "patternProperties"):
            out[key] = {name: json_schema(s) for name, s in sub.items()}
        elif key in ("items", "not") or (key == "additionalProperties" and isinstance(sub, dict)):
            out[key] = json_schema(sub)
        elif key in ("anyOf", "oneOf", "allOf"):
            out[key] = [json_schema(s) for s in sub]
        elif key in _KEYWORDS:
            out[key] = sub
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if schema.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        if "anyOf" in out:
            out["anyOf"] = [*out["anyOf"], {"type": "null"}]
    return out


def _message(field: str, error: jsonschema.ValidationError) -> str:
    shown = json.dumps(error.instance)
    if error.validator == "type":
        expected = error.validator_value
        expected = next(t for t in expected if t != "null") if isinstance(expected, list) else expected
        actual = "null" if error.instance is None else _TYPE_NAMES.get(type(error.instance), "unknown")
        return f'{field}: Invalid value: "{actual}": {field} in body must be of type {expected}: "{actual}"'
    if error.validator == "enum":
        allowed = ", ".join(json.dumps(v) for v in error.validator_value if v is not None)
        return f"{field}: Unsupported value: {shown}: supported values: {allowed}"
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return f"{field}.{missing}: Required value"
    return f"{field}: Invalid value: {shown}: {error.message}"
