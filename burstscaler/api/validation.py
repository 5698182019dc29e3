"""Validate BurstPolicy documents and explain every problem with its field path and a fix.

Used by ``burstscaler lint`` offline and by the operator, which shows the same messages in a
``Ready=False`` condition. pydantic finds the problems; this module turns each into a sentence an SRE
can act on: the path as written in YAML (``spec.metrics[0].prometheus.target``), what is wrong, and what
to write instead.
"""

from __future__ import annotations

import dataclasses
import difflib
import types as pytypes
import typing
from typing import Any

import pydantic

from burstscaler.api import podpatch, spec


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with a document: where (a YAML path) and what to do about it."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def validate_policy(document: Any) -> tuple[spec.BurstPolicy | None, list[Problem]]:
    """Validate one BurstPolicy document (a parsed YAML mapping).

    Returns the model and no problems, or None and every problem found (never raises for bad input).
    """
    if not isinstance(document, dict):
        return None, [Problem("", f"expected a mapping (a BurstPolicy object), got {type(document).__name__}")]
    try:
        return spec.BurstPolicy.model_validate(document), []
    except pydantic.ValidationError as error:
        return None, [_explain(item, spec.BurstPolicy) for item in error.errors(include_url=False)]


def validate_spec(document: Any) -> tuple[spec.BurstPolicySpec | None, list[Problem]]:
    """Validate a bare spec mapping, as the operator receives it; paths start at ``spec``."""
    policy, problems = validate_policy(
        {"apiVersion": "burstscaler.io/v1alpha1", "kind": "BurstPolicy", "metadata": {"name": "x"}, "spec": document}
    )
    return (policy.spec if policy else None), problems


def _path(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.startswith(("function-", "lax-", "json-", "str", "int", "decimal")) or "[" in part:
            continue  # pydantic's internal validator step names, not fields
        else:
            text += f".{part}" if text else part
    return text


def _explain(error: Any, root: type[pydantic.BaseModel]) -> Problem:
    loc = tuple(error["loc"])
    path = _path(loc)
    kind = error["type"]
    given = error.get("input")
    context = error.get("ctx") or {}
    message = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind == "extra_forbidden":
        field = path.rsplit(".", 1)[-1]
        if "podTemplatePatch" in loc:
            # An allowlist, not a typo check: say why the field is refused and where it belongs instead.
            return Problem(path, podpatch.advice(field))
        known = _fields_at(root, loc[:-1])
        close = difflib.get_close_matches(field, known, n=1, cutoff=0.6)
        hint = f"did you mean `{close[0]}`?" if close else f"known fields here: {', '.join(sorted(known))}"
        return Problem(path, f"unknown field `{field}`; {hint}")
    if kind == "missing":
        return Problem(path, f"required field `{path.rsplit('.', 1)[-1]}` is missing; add it")
    if kind == "literal_error":
        return Problem(path, f"{given!r} is not allowed; write one of {context.get('expected', '')}")
    if kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        return Problem(path, f"{message} (got {given!r})")
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return Problem(path, f"expected a whole number, got {given!r}")
    if kind in {"bool_parsing", "bool_type"}:
        return Problem(path, f"expected true or false, got {given!r}")
    if kind == "string_pattern_mismatch":
        return Problem(path, f"{given!r} does not match the pattern {context.get('pattern')}")
    if kind in {"model_type", "dict_type"}:
        return Problem(path, f"expected a mapping of fields, got {type(given).__name__} {given!r}")
    if kind == "list_type":
        return Problem(path, f"expected a list (YAML `- item` entries), got {type(given).__name__}")
    return Problem(path, message)


def _fields_at(model: Any, loc: tuple[int | str, ...]) -> list[str]:
    """The camelCase field names accepted at ``loc`` inside ``model`` (for did-you-mean hints)."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int) or not _is_model(current):
            continue
        field = next(
            (info for name, info in current.model_fields.items() if part in (name, info.alias)),
            None,
        )
        if field is None:
            return []
        current = field.annotation
    current = _unwrap(current)
    if not _is_model(current):
        return []
    return [info.alias or name for name, info in current.model_fields.items()]


def _unwrap(annotation: Any) -> Any:
    """Strip Optional[...] and list[...] down to the model they hold."""
    while True:
        origin = typing.get_origin(annotation)
        if origin in (typing.Union, pytypes.UnionType):
            members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            annotation = members[0] if len(members) == 1 else annotation
            if len(members) != 1:
                return annotation
        elif origin is list:
            annotation = typing.get_args(annotation)[0]
        else:
            return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel)
