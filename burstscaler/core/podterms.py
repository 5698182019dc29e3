"""Inter-pod scheduling constraints of a pod template, as plain data: label selectors and terms.

Why here: kube-scheduler filters nodes by the pods already running near them (required pod affinity
and anti-affinity, topology spread with ``whenUnsatisfiable: DoNotSchedule``), so how many replicas
fit depends on which pods match a term's selector in which topology domain. This module says what a
term is and whether a pod's labels match it; ``core.topology`` turns terms into per-domain counts and
limits the allocation by them. Pure: plain values in, booleans out.

Simplifications, stated: a term's ``namespaceSelector`` is not evaluated (the term's ``namespaces``
list, else the pod's own namespace, is what counts); ``matchLabelKeys`` are merged into the selector
from the template's labels when parsed (as kube merges them at admission).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

ANTI = "anti"  # required pod anti-affinity
AFFINITY = "affinity"  # required pod affinity
SPREAD = "spread"  # topologySpreadConstraints, whenUnsatisfiable: DoNotSchedule


@dataclasses.dataclass(frozen=True)
class Expression:
    """One label-selector match expression (``In``, ``NotIn``, ``Exists``, ``DoesNotExist``)."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Kubernetes' LabelSelectorRequirement rule (an unknown operator matches nothing)."""
        present = self.key in labels
        if self.operator == "In":
            return present and labels[self.key] in self.values
        if self.operator == "NotIn":
            return not present or labels[self.key] not in self.values
        if self.operator == "Exists":
            return present
        if self.operator == "DoesNotExist":
            return not present
        return False


@dataclasses.dataclass(frozen=True)
class Selector:
    """A label selector: every ``match_labels`` pair and every expression must hold.

    An empty selector matches every pod; a missing one (``None`` where a term has no selector)
    matches none, as in Kubernetes.
    """

    match_labels: tuple[tuple[str, str], ...] = ()
    expressions: tuple[Expression, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether a pod with ``labels`` is selected."""
        return all(labels.get(key) == value for key, value in self.match_labels) and all(
            expression.matches(labels) for expression in self.expressions
        )


@dataclasses.dataclass(frozen=True)
class PodTerm:
    """One required inter-pod term of a template (anti-affinity, affinity or a hard spread constraint)."""

    kind: str  # ANTI | AFFINITY | SPREAD
    topology_key: str
    selector: Selector | None
    namespaces: tuple[str, ...] = ()  # empty: the pod's own namespace
    max_skew: int = 1  # SPREAD only
    min_domains: int = 1  # SPREAD only
    honor_affinity: bool = True  # SPREAD nodeAffinityPolicy (Honor by default)
    honor_taints: bool = False  # SPREAD nodeTaintsPolicy (Ignore by default)

    def selects(self, *, namespace: str, labels: Mapping[str, str], own_namespace: str) -> bool:
        """Whether a pod in ``namespace`` with ``labels`` counts for this term of a pod in ``own_namespace``."""
        if self.selector is None:
            return False
        if namespace not in (self.namespaces or (own_namespace,)):
            return False
        return self.selector.matches(labels)


@dataclasses.dataclass(frozen=True)
class PodConstraints:
    """A template's labels (what its own pods will carry) and its required inter-pod terms."""

    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    terms: tuple[PodTerm, ...] = ()
    #: the template sets topologySpreadConstraints of any kind (ScheduleAnyway too): then kube-scheduler's
    #: system default constraints do not apply to its pods (``core.scoring``)
    sets_spread: bool = False
