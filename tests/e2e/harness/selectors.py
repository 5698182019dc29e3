"""Label and field selectors as the API server parses them from query strings.

Pure: no I/O. KMock 0.8 ignores `labelSelector` and `fieldSelector`, so every watch and list
returned everything; Kopf, kubectl and the official client all rely on the server filtering.

Label selectors: ``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``, ``a notin (x,y)``, ``a``, ``!a``,
comma-separated (all must hold). Field selectors: ``path=value``, ``path==value``,
``path!=value`` over any dotted path (``metadata.name``, ``metadata.namespace``,
``spec.nodeName``, ``status.phase``, ...); a missing field compares as the empty string, so
``spec.nodeName=`` selects unscheduled pods as on a real server.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Predicate = Callable[[Mapping[str, Any]], bool]

_SET_TERM = re.compile(r"^\s*(!?)([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


class SelectorError(ValueError):
    """An unparseable selector (the API answers 400)."""


def parse_labels(text: str | None) -> Predicate:
    """Return a predicate over a label dict."""
    terms = [_label_term(term) for term in _split(text or "")]
    return lambda labels: all(term(labels) for term in terms)


def parse_fields(text: str | None) -> Predicate:
    """Return a predicate over a whole object."""
    terms = [_field_term(term) for term in _split(text or "")]
    return lambda obj: all(term(obj) for term in terms)


def field_value(obj: Mapping[str, Any], path: str) -> str:
    """The string form of a dotted field; missing fields are the empty string."""
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return ""
        value = value[part]
    if isinstance(value, bool):
        return str(value).lower()
    return "" if value is None else str(value)


def _split(text: str) -> list[str]:
    # Commas inside `in (a,b)` belong to the term, not to the conjunction.
    terms, depth, current = [], 0, ""
    for char in text:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    return [term.strip() for term in terms if term.strip()]


def _label_term(term: str) -> Predicate:
    if match := _SET_TERM.match(term):
        _, key, op, values_text = match.groups()
        values = {value.strip() for value in values_text.split(",") if value.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    for op in ("!=", "==", "="):
        if op in term:
            key, value = (part.strip() for part in term.split(op, 1))
            if op == "!=":
                return lambda labels: labels.get(key) != value
            return lambda labels: labels.get(key) == value
    if term.startswith("!"):
        key = term[1:].strip()
        return lambda labels: key not in labels
    if re.fullmatch(r"[\w./-]+", term):
        return lambda labels: term in labels
    raise SelectorError(f"unable to parse requirement: {term!r}")


def _field_term(term: str) -> Predicate:
    for op in ("!=", "==", "="):
        if op in term:
            path, value = (part.strip() for part in term.split(op, 1))
            if op == "!=":
                return lambda obj: field_value(obj, path) != value
            return lambda obj: field_value(obj, path) == value
    raise SelectorError(f"invalid field selector: {term!r}")
