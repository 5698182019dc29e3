"""The default scheduling profile: which filters run in which order, and the score weights.

kube-scheduler's default profile (``pkg/scheduler/apis/config/v1/default_plugins.go``, v1.3x) runs the
filters NodeUnschedulable, NodeName, TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit,
(volume plugins, not modelled), PodTopologySpread, InterPodAffinity, in that order, and stops at
the first one that rejects a node: that plugin's reasons are the node's. Score weights:
TaintToleration 3, NodeAffinity 2, NodeResourcesFit 1 (LeastAllocated, cpu and memory weight 1),
NodeResourcesBalancedAllocation 1, InterPodAffinity 2, PodTopologySpread 2; ImageLocality (weight 1)
is left out because the model knows no images (it would add the same 0 to every node).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from burstscaler.scheduler import fit, interpod, nodeaffinity, objects, ports, spread, state, status, taints

DEFAULT_WEIGHTS: Mapping[str, int] = {
    "TaintToleration": 3,
    "NodeAffinity": 2,
    "NodeResourcesFit": 1,
    "NodeResourcesBalancedAllocation": 1,
    "InterPodAffinity": 2,
    "PodTopologySpread": 2,
}


@dataclasses.dataclass(frozen=True)
class Profile:
    """Plugin arguments of one scheduler profile (defaults: kube-scheduler's default profile)."""

    fit_args: fit.FitArgs = dataclasses.field(default_factory=fit.FitArgs)
    scoring_resources: tuple[tuple[str, int], ...] = fit.DEFAULT_RESOURCES
    weights: Mapping[str, int] = dataclasses.field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    inclusion_policies: bool = True
    system_default_spread: bool = True
    pod_level_resources: bool = True
    added_affinity: Mapping[str, Any] | None = None  # NodeAffinityArgs.addedAffinity, applied to every pod


FilterFn = Callable[[state.State, objects.Pod, Profile], status.Verdict]

#: The default profile's filters, in kube's order.
FILTERS: tuple[tuple[str, FilterFn], ...] = (
    ("NodeUnschedulable", lambda st, pod, _p: taints.filter_node_unschedulable(st, pod)),
    ("NodeName", lambda st, pod, _p: nodeaffinity.filter_node_name(st, pod)),
    ("TaintToleration", lambda st, pod, _p: taints.filter_taint_toleration(st, pod)),
    ("NodeAffinity", lambda st, pod, p: nodeaffinity.filter_node_affinity(st, pod, added_affinity=p.added_affinity)),
    ("NodePorts", lambda st, pod, _p: ports.filter_node_ports(st, pod)),
    ("NodeResourcesFit", lambda st, pod, p: fit.filter_node_resources_fit(st, pod, args=p.fit_args)),
    (
        "PodTopologySpread",
        lambda st, pod, p: spread.filter_pod_topology_spread(
            st, pod, inclusion_policies=p.inclusion_policies, system_defaults=p.system_default_spread
        ),
    ),
    ("InterPodAffinity", lambda st, pod, _p: interpod.filter_inter_pod_affinity(st, pod)),
)


@dataclasses.dataclass(frozen=True)
class Filtered:
    """All filters' outcome for one pod: which nodes pass, and for the others the first rejecting verdict."""

    feasible: np.ndarray
    first: np.ndarray  # per node, the index into ``verdicts`` of the first filter that rejected it (-1: none)
    verdicts: tuple[status.Verdict, ...]

    def status(self, index: int) -> status.Status:
        """The Status the node got from the first filter that rejected it."""
        which = int(self.first[index])
        return status.Status() if which < 0 else self.verdicts[which].status(index)


def run_filters(st: state.State, pod: objects.Pod, profile: Profile) -> Filtered:
    """Every filter of the profile on every node, in order; a node keeps its first rejection."""
    first = np.full(st.n, -1, dtype=np.int64)
    verdicts = []
    for position, (_name, run) in enumerate(FILTERS):
        verdict = run(st, pod, profile)
        verdicts.append(verdict)
        first[(verdict.codes != status.SUCCESS) & (first < 0)] = position
    return Filtered(feasible=first < 0, first=first, verdicts=tuple(verdicts))


def default_normalize(scores: np.ndarray, *, reverse: bool) -> np.ndarray:
    """``helper.DefaultNormalizeScore``: scale onto 0..100 by the maximum (reversed: 100 minus that)."""
    if scores.size == 0:
        return scores
    high = int(scores.max())
    if high == 0:
        return np.full_like(scores, 100) if reverse else np.zeros_like(scores)
    scaled = 100 * scores // high
    return 100 - scaled if reverse else scaled


def score(st: state.State, pod: objects.Pod, *, feasible: np.ndarray, profile: Profile) -> np.ndarray:
    """The weighted total score of the feasible nodes (in node order, only those)."""
    w = profile.weights
    idx = np.flatnonzero(feasible)
    total = np.zeros(idx.size, dtype=np.int64)
    if idx.size <= 1:
        return total  # one candidate: kube skips scoring
    total += w["TaintToleration"] * default_normalize(taints.score_taint_toleration(st, pod)[idx], reverse=True)
    total += w["NodeAffinity"] * default_normalize(nodeaffinity.score_node_affinity(st, pod)[idx], reverse=False)
    resources = profile.scoring_resources
    total += w["NodeResourcesFit"] * fit.score_least_allocated(st, pod, resources=resources)[idx]
    total += w["NodeResourcesBalancedAllocation"] * fit.score_balanced_allocation(st, pod, resources=resources)[idx]
    total += w["InterPodAffinity"] * interpod.normalize(interpod.score_inter_pod_affinity(st, pod)[idx])
    spread_scores = spread.score_pod_topology_spread(
        st,
        pod,
        feasible=feasible,
        inclusion_policies=profile.inclusion_policies,
        system_defaults=profile.system_default_spread,
    )
    total += w["PodTopologySpread"] * spread_scores[idx]
    return total


def failure_message(st: state.State, filtered: Filtered) -> str:
    """kube's FitError text: ``0/N nodes are available: <count> <reason>, ...``, sorted as kube sorts the strings."""
    if st.n == 0:
        return "no nodes available to schedule pods"
    histogram: dict[str, int] = {}
    for position, verdict in enumerate(filtered.verdicts):
        mask = filtered.first == position
        if mask.any():
            for reason, count in verdict.reason_counts(mask).items():
                histogram[reason] = histogram.get(reason, 0) + count
    parts = sorted(f"{count} {reason}" for reason, count in histogram.items())
    return f"0/{st.n} nodes are available: " + ", ".join(parts) + "."
