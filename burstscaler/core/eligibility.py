"""Which nodes a policy's base pods may use: the boolean policies x nodes mask.

The scheduler filters nodes before it counts resources; this module applies the same filters to
labels and taints so that ``placement`` only counts room the pods could really get:
- ``nodeSelector``: every key must be present with exactly that value;
- required node affinity (``requiredDuringSchedulingIgnoredDuringExecution``): the node must match
  at least one term, and a term matches when all its match expressions hold (``In``, ``NotIn``,
  ``Exists``, ``DoesNotExist``, ``Gt``, ``Lt``). A term with no expressions matches nothing, as in
  Kubernetes; an empty list of terms means no affinity;
- taints: every ``NoSchedule`` or ``NoExecute`` taint must be tolerated (``PreferNoSchedule`` is a
  preference, not a filter);
- ``matchFields`` requirements (``field=True``) read the node's name (``metadata.name``, the only
  field kube supports; any other field matches no node);
- cordoned nodes admit only pods tolerating ``node.kubernetes.io/unschedulable:NoSchedule``, as
  kube's NodeUnschedulable filter does.
Pure: plain data in, a numpy mask out. Work is vectorized per distinct label key and taint.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

from burstscaler.core import snapshot

HARD_EFFECTS = frozenset({"NoSchedule", "NoExecute"})


@dataclasses.dataclass(frozen=True)
class Taint:
    key: str
    value: str = ""
    effect: str = "NoSchedule"


#: The taint kube's NodeUnschedulable filter checks on cordoned nodes.
UNSCHEDULABLE_TAINT = Taint(key="node.kubernetes.io/unschedulable", effect="NoSchedule")


@dataclasses.dataclass(frozen=True)
class Toleration:
    """A pod toleration; ``key=None`` with ``Exists`` tolerates everything, ``effect=None`` any effect."""

    key: str | None = None
    operator: str = "Equal"  # Equal | Exists
    value: str = ""
    effect: str | None = None

    def tolerates(self, taint: Taint) -> bool:
        """Kubernetes' ToleratesTaint rule."""
        if self.effect is not None and self.effect != taint.effect:
            return False
        if self.key is None:
            return self.operator == "Exists"
        if self.key != taint.key:
            return False
        if self.operator == "Exists":
            return True
        return self.value == taint.value


@dataclasses.dataclass(frozen=True)
class Requirement:
    """One node-affinity match expression on labels."""

    key: str
    operator: str  # In | NotIn | Exists | DoesNotExist | Gt | Lt
    values: tuple[str, ...] = ()
    field: bool = False  # a matchFields requirement: on the node's metadata.name, not a label


@dataclasses.dataclass(frozen=True)
class PodPlacement:
    """The scheduling constraints of a policy's base pod template that concern nodes."""

    node_selector: Mapping[str, str] = dataclasses.field(default_factory=dict)
    affinity_terms: tuple[tuple[Requirement, ...], ...] = ()  # ORed terms of ANDed expressions
    tolerations: tuple[Toleration, ...] = ()


@dataclasses.dataclass(frozen=True)
class NodeView:
    """The parts of a node the filters read."""

    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    taints: tuple[Taint, ...] = ()
    unschedulable: bool = False
    name: str = ""  # metadata.name, for matchFields


def mask(*, nodes: Sequence[NodeView], policies: Sequence[PodPlacement]) -> snapshot.BoolArray:
    """``[P, N]`` booleans: may policy p's base pods be scheduled on node n (ignoring resources)."""
    index = _NodeIndex(nodes)
    result = np.zeros((len(policies), len(nodes)), dtype=bool)
    cache: dict[PodPlacement, snapshot.BoolArray] = {}
    for row, placement in enumerate(policies):
        key = hashable(placement)
        if key not in cache:
            cache[key] = index.matches(placement)
        result[row] = cache[key]
    return result


class _NodeIndex:
    """Label values and hard taints of all nodes, as arrays, built once per ``mask`` call."""

    def __init__(self, nodes: Sequence[NodeView]) -> None:
        self.count = len(nodes)
        keys = sorted({key for node in nodes for key in node.labels})
        self.labels = {key: np.array([node.labels.get(key) for node in nodes], dtype=object) for key in keys}
        self.taints = sorted(
            {taint for node in nodes for taint in node.taints if taint.effect in HARD_EFFECTS},
            key=lambda taint: (taint.key, taint.value, taint.effect),
        )
        self.has_taint = np.zeros((len(self.taints), self.count), dtype=bool)
        position = {taint: i for i, taint in enumerate(self.taints)}
        for column, node in enumerate(nodes):
            for taint in node.taints:
                if taint in position:
                    self.has_taint[position[taint], column] = True
        self.schedulable = np.array([not node.unschedulable for node in nodes], dtype=bool)
        self.names = np.array([node.name for node in nodes], dtype=object)

    def matches(self, placement: PodPlacement) -> snapshot.BoolArray:
        ok = self.schedulable.copy()
        if any(toleration.tolerates(UNSCHEDULABLE_TAINT) for toleration in placement.tolerations):
            ok[:] = True
        for key, value in placement.node_selector.items():
            ok &= self._values(key) == value
        if placement.affinity_terms:
            any_term = np.zeros(self.count, dtype=bool)
            for term in placement.affinity_terms:
                term_ok = np.full(self.count, bool(term))
                for requirement in term:
                    term_ok &= self._requirement(requirement)
                any_term |= term_ok
            ok &= any_term
        untolerated = [
            i
            for i, taint in enumerate(self.taints)
            if not any(toleration.tolerates(taint) for toleration in placement.tolerations)
        ]
        if untolerated:
            ok &= ~self.has_taint[untolerated].any(axis=0)
        return ok

    def _values(self, key: str) -> snapshot.npt.NDArray[np.object_]:
        values = self.labels.get(key)
        return np.full(self.count, None, dtype=object) if values is None else values

    def _requirement(self, requirement: Requirement) -> snapshot.BoolArray:
        if requirement.field:
            if requirement.key != "metadata.name" or requirement.operator not in ("In", "NotIn"):
                return np.zeros(self.count, dtype=bool)
            named = np.isin(self.names, list(requirement.values))
            return named if requirement.operator == "In" else ~named
        values = self._values(requirement.key)
        present = np.array([value is not None for value in values], dtype=bool)
        operator = requirement.operator
        if operator == "Exists":
            return present
        if operator == "DoesNotExist":
            return ~present
        if operator == "In":
            return np.isin(values, list(requirement.values)) & present
        if operator == "NotIn":
            # Kubernetes: NotIn also matches nodes without the label.
            return ~np.isin(values, list(requirement.values)) | ~present
        if operator in ("Gt", "Lt"):
            bound = _as_int(requirement.values[0]) if len(requirement.values) == 1 else None
            numbers = [_as_int(value) if value is not None else None for value in values]
            if bound is None:
                return np.zeros(self.count, dtype=bool)
            if operator == "Gt":
                return np.array([n is not None and n > bound for n in numbers], dtype=bool)
            return np.array([n is not None and n < bound for n in numbers], dtype=bool)
        raise ValueError(f"unknown node selector operator {operator!r}")


def _as_int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def hashable(placement: PodPlacement) -> PodPlacement:
    """The same placement with its selector frozen, so equal placements can key a dict or a set."""
    return dataclasses.replace(placement, node_selector=_FrozenDict(placement.node_selector))


class _FrozenDict(dict[str, str]):
    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items())))
