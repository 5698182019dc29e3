"""Label and node selectors, matched as ``apimachinery/pkg/labels`` and ``component-helpers/.../nodeaffinity`` do.

Two selector flavours:
- ``metav1.LabelSelector`` (pod affinity terms, topology spread, namespaceSelector): ``matchLabels``
  plus ``matchExpressions`` with In/NotIn/Exists/DoesNotExist; ``None`` matches nothing, ``{}``
  matches everything; an invalid selector raises :class:`InvalidSelector` (callers decide what an
  error means: InterPodAffinity's PreFilter fails the pod);
- ``v1.NodeSelector`` (required node affinity, ``addedAffinity``): terms ORed, each term's
  ``matchExpressions`` (labels, also Gt/Lt) and ``matchFields`` (only ``metadata.name``) ANDed; a term
  with no requirement or an invalid one matches nothing, like the lazy-error selector kube uses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


class InvalidSelector(ValueError):
    """A selector kube's parser would refuse (bad operator, bad value, wrong number of values)."""


def valid_label_value(value: str) -> bool:
    """Whether ``value`` is a legal label value (at most 63 characters, alphanumeric ends)."""
    return len(value) <= 63 and _LABEL_VALUE.match(value) is not None


def valid_label_key(key: str) -> bool:
    """Whether ``key`` is a legal qualified label key (optional DNS-subdomain prefix, then a name)."""
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return False
    return 0 < len(name) <= 63 and _NAME_PART.match(name) is not None


def _requirement_ok(*, key: str, operator: str, values: Sequence[str]) -> None:
    if not valid_label_key(key):
        raise InvalidSelector(f"invalid label key {key!r}")
    if operator in ("In", "NotIn"):
        if not values:
            raise InvalidSelector(f"for 'in', 'notin' operators, values set can't be empty (key {key!r})")
    elif operator in ("Exists", "DoesNotExist"):
        if values:
            raise InvalidSelector(f"values set must be empty for exists and does not exist (key {key!r})")
    else:
        raise InvalidSelector(f"{operator!r} is not a valid label selector operator")
    for value in values:
        if not valid_label_value(value):
            raise InvalidSelector(f"invalid label value {value!r}")


def validate_label_selector(selector: Mapping[str, Any] | None) -> None:
    """Raise :class:`InvalidSelector` when ``LabelSelectorAsSelector`` would return an error."""
    if selector is None:
        return
    for key, value in (selector.get("matchLabels") or {}).items():
        if not valid_label_key(key) or not valid_label_value(str(value)):
            raise InvalidSelector(f"invalid label value {value!r}" if valid_label_key(key) else f"invalid key {key!r}")
    for expr in selector.get("matchExpressions") or ():
        _requirement_ok(key=expr.get("key", ""), operator=expr.get("operator", ""), values=expr.get("values") or ())


def label_selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Whether a (valid) ``metav1.LabelSelector`` selects ``labels``; ``None`` selects nothing."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or ():
        key, operator, values = expr.get("key", ""), expr.get("operator", ""), expr.get("values") or ()
        present = key in labels
        if operator == "In":
            ok = present and labels[key] in values
        elif operator == "NotIn":
            ok = not present or labels[key] not in values
        elif operator == "Exists":
            ok = present
        elif operator == "DoesNotExist":
            ok = not present
        else:
            ok = False
        if not ok:
            return False
    return True


def _node_expression_matches(expr: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """One ``matchExpressions`` requirement of a node selector term; an invalid one is False."""
    key, operator, values = expr.get("key", ""), expr.get("operator", ""), list(expr.get("values") or ())
    if not valid_label_key(key):
        return False
    if operator in ("Gt", "Lt"):
        if len(values) != 1:
            return False
        try:
            bound = int(values[0])
        except ValueError:
            return False
        if key not in labels:
            return False
        try:
            have = int(labels[key])
        except ValueError:
            return False
        return have > bound if operator == "Gt" else have < bound
    try:
        _requirement_ok(key=key, operator=operator, values=values)
    except InvalidSelector:
        return False
    return label_selector_matches({"matchExpressions": [expr]}, labels)


def _node_field_matches(expr: Mapping[str, Any], node_name: str) -> bool:
    """One ``matchFields`` requirement: only ``metadata.name`` with In/NotIn and exactly one value."""
    values = list(expr.get("values") or ())
    if expr.get("key") != "metadata.name" or len(values) != 1:
        return False
    operator = expr.get("operator")
    if operator == "In":
        return node_name == values[0]
    if operator == "NotIn":
        return node_name != values[0]
    return False


def node_selector_term_matches(term: Mapping[str, Any], *, node_name: str, labels: Mapping[str, str]) -> bool:
    """Whether one ``nodeSelectorTerm`` matches; an empty term matches nothing."""
    expressions = term.get("matchExpressions") or ()
    fields = term.get("matchFields") or ()
    if not expressions and not fields:
        return False
    return all(_node_expression_matches(e, labels) for e in expressions) and all(
        _node_field_matches(f, node_name) for f in fields
    )


def node_selector_matches(selector: Mapping[str, Any] | None, *, node_name: str, labels: Mapping[str, str]) -> bool:
    """Whether a ``v1.NodeSelector`` matches (terms ORed); ``None`` means no constraint."""
    if selector is None:
        return True
    terms = selector.get("nodeSelectorTerms") or ()
    return any(node_selector_term_matches(t, node_name=node_name, labels=labels) for t in terms)
