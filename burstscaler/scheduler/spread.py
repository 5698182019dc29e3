"""PodTopologySpread (filter and score), as ``pkg/scheduler/framework/plugins/podtopologyspread``.

Filter (``whenUnsatisfiable: DoNotSchedule``): a node is *counted* for a constraint when it carries
the keys of all the pod's hard constraints and passes that constraint's inclusion policy
(``nodeAffinityPolicy`` Honor by default: the pod's nodeSelector/required affinity; ``nodeTaintsPolicy``
Ignore by default; Honor: the pod tolerates the node's NoSchedule/NoExecute taints). A domain's count
is the number of pods on its counted nodes in the pod's namespace that match the selector and are
not terminating. The global minimum is the smallest count over the existing domains, or 0 when there
are fewer than ``minDomains``. A node without the key is UnschedulableAndUnresolvable; one where
``count + (1 if the pod matches itself) - min > maxSkew`` is Unschedulable.

Score (``ScheduleAnyway``): for each soft constraint, ``count * log(domains + 2) + maxSkew - 1``
summed and rounded (hostname: the node's own count); nodes lacking a key of the pod's own
constraints are ignored (score 0); the rest normalised as ``100 * (max + min - s) // max``.
When the pod sets no constraints at all the system defaults apply (zone maxSkew 5, hostname maxSkew 3,
ScheduleAnyway). kube takes their selector from the Services/ReplicaSets selecting the pod; the model
has no controllers, so it uses the pod's own labels (a ReplicaSet's selector matches exactly the pods
of its template), and a pod without labels gets no default constraints.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from burstscaler.scheduler import labels, nodeaffinity, objects, state, status, taints

REASON_MISSING = "node(s) didn't match pod topology spread constraints (missing required label)"
REASON_SKEW = "node(s) didn't match pod topology spread constraints"

#: ``podtopologyspread`` system defaults (``defaultingType: System``).
SYSTEM_DEFAULTS = (
    {"topologyKey": objects.ZONE_LABEL, "maxSkew": 5, "whenUnsatisfiable": "ScheduleAnyway"},
    {"topologyKey": objects.HOSTNAME_LABEL, "maxSkew": 3, "whenUnsatisfiable": "ScheduleAnyway"},
)


@dataclasses.dataclass(frozen=True)
class Constraint:
    """One spread constraint, with its selector already extended by ``matchLabelKeys``."""

    key: str
    max_skew: int
    min_domains: int
    hard: bool
    selector: Mapping[str, Any] | None
    honor_affinity: bool
    honor_taints: bool
    valid: bool = True  # False: the selector does not parse, so it selects nothing
    selector_key: str = ""  # canonical JSON of ``selector``, the key of the state's selector cache
    namespace: str = ""  # the pod's namespace: only pods there count


def constraints_of(
    pod: objects.Pod, *, inclusion_policies: bool = True, system_defaults: bool = True
) -> tuple[list[Constraint], bool]:
    """The pod's constraints and whether they are the system defaults."""
    raw: list[Mapping[str, Any]] = list(pod.topology_spread_constraints)
    defaulted = False
    if not raw and system_defaults and pod.labels:
        own: dict[str, Any] = {"matchLabels": dict(pod.labels)}
        raw = [{**c, "labelSelector": own} for c in SYSTEM_DEFAULTS]
        defaulted = True
    found = []
    for item in raw:
        selector: Mapping[str, Any] | None = item.get("labelSelector")
        keys = [k for k in item.get("matchLabelKeys") or () if k in pod.labels]
        if selector is not None and keys:
            extra = [{"key": k, "operator": "In", "values": [pod.labels[k]]} for k in keys]
            selector = {**selector, "matchExpressions": [*(selector.get("matchExpressions") or ()), *extra]}
        if inclusion_policies:
            honor_affinity = (item.get("nodeAffinityPolicy") or "Honor") == "Honor"
            honor_taints = (item.get("nodeTaintsPolicy") or "Ignore") == "Honor"
        else:
            honor_affinity, honor_taints = True, False
        try:
            labels.validate_label_selector(selector)
            valid = True
        except labels.InvalidSelector:
            valid = False
        found.append(
            Constraint(
                valid=valid,
                selector_key=json.dumps(selector, sort_keys=True),
                namespace=pod.namespace,
                key=item.get("topologyKey", ""),
                max_skew=int(item.get("maxSkew", 1)),
                min_domains=int(item.get("minDomains") or 1),
                hard=(item.get("whenUnsatisfiable") or "DoNotSchedule") == "DoNotSchedule",
                selector=selector,
                honor_affinity=honor_affinity,
                honor_taints=honor_taints,
            )
        )
    return found, defaulted


def _included(st: state.State, pod: objects.Pod, constraint: Constraint) -> np.ndarray:
    mask = np.ones(st.n, dtype=bool)
    if constraint.honor_affinity:
        mask &= nodeaffinity.affinity_mask(st, pod)
    if constraint.honor_taints:
        mask &= taints.tolerated_mask(st, pod)
    return mask


def _counts(st: state.State, pod: objects.Pod, constraint: Constraint) -> np.ndarray:
    if not constraint.valid:
        return np.zeros(st.n, dtype=np.int64)
    namespaces = state.NamespaceFilter(names=frozenset({constraint.namespace}), selector=None)
    groups = st.matching_groups(constraint.selector, namespaces=namespaces, key=constraint.selector_key)
    return st.count_matching(groups, live=True)


def filter_pod_topology_spread(
    st: state.State,
    pod: objects.Pod,
    *,
    inclusion_policies: bool = True,
    system_defaults: bool = True,
    constraints: tuple[list[Constraint], bool] | None = None,
) -> status.Verdict:
    """PodTopologySpread's Filter for every node (``constraints``: ``constraints_of(pod, ...)`` if known)."""
    n = st.n
    if constraints is None:
        constraints = constraints_of(pod, inclusion_policies=inclusion_policies, system_defaults=system_defaults)
    hard = [c for c in constraints[0] if c.hard]
    if not hard:
        return status.passing(n, prefilter="Skip")
    has_all = np.ones(n, dtype=bool)
    for constraint in hard:
        has_all &= st.domains(constraint.key)[0] >= 0
    codes = np.zeros(n, dtype=np.int8)
    reasons = np.zeros(n, dtype=np.int8)
    for constraint in hard:
        ids, size = st.domains(constraint.key)
        if size == 0:
            fresh = codes == status.SUCCESS
            codes[fresh], reasons[fresh] = status.UNRESOLVABLE, 1
            continue
        counted = has_all & _included(st, pod, constraint)
        counts = _counts(st, pod, constraint)
        totals = np.bincount(ids[counted], weights=counts[counted], minlength=size).astype(np.int64)
        existing = np.zeros(size, dtype=bool)
        existing[ids[counted]] = True
        domains = int(existing.sum())
        minimum = int(totals[existing].min()) if domains and domains >= constraint.min_domains else 0
        self_match = 1 if labels.label_selector_matches(constraint.selector, pod.labels) else 0
        node_count = np.where(ids >= 0, totals[np.maximum(ids, 0)], 0)
        missing = ids < 0
        skewed = ~missing & (node_count + self_match - minimum > constraint.max_skew)
        for mask, code, reason in ((missing, status.UNRESOLVABLE, 1), (skewed, status.UNSCHEDULABLE, 2)):
            fresh = mask & (codes == status.SUCCESS)
            codes[fresh] = code
            reasons[fresh] = reason
    texts = {1: REASON_MISSING, 2: REASON_SKEW}
    return status.coded(codes, reasons, texts)


def score_pod_topology_spread(
    st: state.State,
    pod: objects.Pod,
    *,
    feasible: np.ndarray,
    inclusion_policies: bool = True,
    system_defaults: bool = True,
    constraints: tuple[list[Constraint], bool] | None = None,
) -> np.ndarray:
    """PodTopologySpread's Score, already normalised, per node (0 where not feasible or ignored).

    ``constraints`` is ``constraints_of(pod, ...)`` when the caller has it already.
    """
    n = st.n
    if constraints is None:
        constraints = constraints_of(pod, inclusion_policies=inclusion_policies, system_defaults=system_defaults)
    found, defaulted = constraints
    soft = [c for c in found if not c.hard]
    result = np.zeros(n, dtype=np.int64)
    if not soft:
        return result
    scored = feasible
    if not defaulted:
        # The pod's own constraints: a feasible node lacking one of their keys is ignored (score 0).
        for constraint in soft:
            scored = scored & (st.domains(constraint.key)[0] >= 0)
    everywhere = bool(scored.all())
    # Fancy indexing costs more than the arithmetic: when every node is scored, work on whole arrays.
    idx: np.ndarray | None = None if everywhere else np.flatnonzero(scored)
    size_scored = n if idx is None else int(idx.size)
    if size_scored == 0:
        return result
    raw = np.zeros(size_scored, dtype=np.float64)
    counted: dict[tuple[str, bool], np.ndarray] = {}  # constraints sharing a selector share the counts
    for constraint in soft:
        ids, size = st.domains(constraint.key)
        if size == 0:
            continue
        selector_key = (constraint.selector_key, constraint.valid)
        if selector_key not in counted:
            counted[selector_key] = _counts(st, pod, constraint)
        counts = counted[selector_key]
        keyed_everywhere = st.keyed_everywhere(constraint.key)
        at = ids if idx is None else ids[idx]
        all_keyed = keyed_everywhere if idx is None else bool((at >= 0).all())
        if constraint.key == objects.HOSTNAME_LABEL:
            weight = math.log(size_scored + 2)
            node_part = counts * weight if idx is None else counts[idx] * weight
        else:
            if idx is None and all_keyed:
                present = None
                domains = size
            else:
                keyed_at = at if all_keyed else at[at >= 0]
                present = np.bincount(keyed_at, minlength=size) > 0
                domains = int(present.sum())
                if defaulted and not all_keyed:
                    # kube's PreScore reads a missing label as the value "": one more domain to weigh.
                    domains += 1
            contributes = _contributing(st, pod, constraint, soft=soft, defaulted=defaulted)
            if present is not None:
                contributes = (contributes if contributes is not None else ids >= 0) & present[np.maximum(ids, 0)]
            if contributes is None:
                totals = np.bincount(ids, weights=counts, minlength=size)
            else:
                totals = np.bincount(ids[contributes], weights=counts[contributes], minlength=size)
            weight = math.log(domains + 2)
            # Weigh the few domain totals, then spread them over the nodes: one pass over nodes.
            node_part = (totals * weight)[at if all_keyed else np.maximum(at, 0)]
        # kube adds cnt * weight + (maxSkew - 1) per constraint, in this order: same floats here.
        node_part += constraint.max_skew - 1
        raw += node_part if all_keyed else np.where(at >= 0, node_part, 0.0)
    # Go's math.Round (half away from zero) of a non-negative score, exactly: the fraction is exact.
    rounded = raw.astype(np.int64)
    rounded += (raw - rounded) >= 0.5
    low, high = int(rounded.min()), int(rounded.max())
    if high == 0:
        normalised: np.ndarray | int = 100
    else:
        normalised = np.subtract(high + low, rounded, out=rounded)
        normalised *= 100
        normalised //= high
    if idx is None:
        result[:] = normalised
    else:
        result[idx] = normalised
    return result


def _contributing(
    st: state.State, pod: objects.Pod, constraint: Constraint, *, soft: list[Constraint], defaulted: bool
) -> np.ndarray | None:
    """Per node, whether its pods count for the constraint's domains (None: every node carrying the key).

    A node counts when it carries the key, passes the constraint's inclusion policy and, for the
    pod's own constraints, carries the keys of all of them. Node-static: cached per placement shape.
    """

    def compute() -> np.ndarray | None:
        mask = st.domains(constraint.key)[0] >= 0
        if not defaulted:
            mask &= scored_keys(st, soft)
        mask &= _included(st, pod, constraint)
        return None if bool((mask == (st.domains(constraint.key)[0] >= 0)).all()) else mask

    what = f"spread-contrib:{constraint.key}:{constraint.honor_affinity}:{constraint.honor_taints}:{defaulted}:"
    what += ",".join(c.key for c in soft)
    result: np.ndarray | None = st.shape_cached(pod, what, compute)
    return result


def scored_keys(st: state.State, constraints: list[Constraint]) -> np.ndarray:
    """Per node, whether it carries the topology keys of all ``constraints``."""
    mask = np.ones(st.n, dtype=bool)
    for constraint in constraints:
        mask &= st.domains(constraint.key)[0] >= 0
    return mask
