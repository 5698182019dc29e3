"""TaintToleration (filter and score) and NodeUnschedulable, as kube-scheduler's plugins of those names.

- Filter: only ``NoSchedule`` and ``NoExecute`` taints count; the first taint no toleration
  matches rejects the node as UnschedulableAndUnresolvable, "node(s) had untolerated taint {k: v}".
- Score: the number of ``PreferNoSchedule`` taints not tolerated by the pod's tolerations whose
  effect is empty or PreferNoSchedule; normalised reversed (fewest is 100).
- NodeUnschedulable: a cordoned node rejects pods that do not tolerate
  ``node.kubernetes.io/unschedulable:NoSchedule``.

Toleration matching is ``v1.Toleration.ToleratesTaint``: the effect must be empty or equal, the key
empty or equal, and the value equal unless the operator is ``Exists``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from burstscaler.scheduler import objects, state, status

UNSCHEDULABLE_TAINT = objects.Taint(key="node.kubernetes.io/unschedulable", effect="NoSchedule")


def tolerates(toleration: Mapping[str, Any], taint: objects.Taint) -> bool:
    """Whether one toleration tolerates one taint."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.effect:
        return False
    key = toleration.get("key") or ""
    if key and key != taint.key:
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    if operator == "Equal":
        return (toleration.get("value") or "") == taint.value
    return False


def untolerated(
    taints: Iterable[objects.Taint], tolerations: Iterable[Mapping[str, Any]], *, effects: tuple[str, ...]
) -> list[objects.Taint]:
    """The taints with one of ``effects`` that no toleration tolerates, in node order."""
    tolerations = list(tolerations)
    return [t for t in taints if t.effect in effects and not any(tolerates(x, t) for x in tolerations)]


def _filter_taints(st: state.State, pod: objects.Pod) -> list[objects.Taint | None]:
    first: list[objects.Taint | None] = [None] * st.n
    tainted, _cordoned = st.special_nodes()
    for index in tainted:
        bad = untolerated(st.nodes[index].taints, pod.tolerations, effects=("NoSchedule", "NoExecute"))
        first[index] = bad[0] if bad else None
    return first


def filter_taint_toleration(st: state.State, pod: objects.Pod) -> status.Verdict:
    """TaintToleration's Filter for every node."""

    def compute() -> tuple[np.ndarray, list[objects.Taint | None]]:
        first = _filter_taints(st, pod)
        codes = np.zeros(st.n, dtype=np.int8)
        codes[[i for i, taint in enumerate(first) if taint is not None]] = status.UNRESOLVABLE
        return codes, first

    codes, first = st.shape_cached(pod, "taints", compute)

    def reason_of(index: int) -> tuple[str, ...]:
        taint = first[index]
        return () if taint is None else (f"node(s) had untolerated taint {{{taint.key}: {taint.value}}}",)

    return status.Verdict(codes=codes, reason_of=reason_of)


def tolerated_mask(st: state.State, pod: objects.Pod) -> np.ndarray:
    """Per node, whether the pod tolerates all its NoSchedule/NoExecute taints (nodeTaintsPolicy: Honor)."""
    return filter_taint_toleration(st, pod).codes == status.SUCCESS


def score_taint_toleration(st: state.State, pod: objects.Pod) -> np.ndarray:
    """Raw TaintToleration score per node: how many PreferNoSchedule taints the pod does not tolerate."""

    def compute() -> np.ndarray:
        prefer = [t for t in pod.tolerations if (t.get("effect") or "") in ("", "PreferNoSchedule")]
        counts = np.zeros(st.n, dtype=np.int64)
        for index in st.special_nodes()[0]:
            counts[index] = len(untolerated(st.nodes[index].taints, prefer, effects=("PreferNoSchedule",)))
        return counts

    result: np.ndarray = st.shape_cached(pod, "taint-score", compute)
    return result


def filter_node_unschedulable(st: state.State, pod: objects.Pod) -> status.Verdict:
    """NodeUnschedulable's Filter: cordoned nodes only for pods tolerating the unschedulable taint."""

    def compute() -> np.ndarray:
        codes = np.zeros(st.n, dtype=np.int8)
        if not any(tolerates(t, UNSCHEDULABLE_TAINT) for t in pod.tolerations):
            codes[st.special_nodes()[1]] = status.UNRESOLVABLE
        return codes

    return status.uniform(st.shape_cached(pod, "unschedulable", compute), "node(s) were unschedulable")
