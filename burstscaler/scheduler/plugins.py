"""Each plugin on its own, as kube-scheduler's plugin unit tests run them.

The acceptance cases (``tests/scheduler/test_sched_cases.py``) check one plugin at a time against
a cluster of nodes and bound pods; these functions give that view of the very functions
:class:`~burstscaler.scheduler.cluster.Cluster` composes (``profile.FILTERS`` and ``profile.score``),
answering per node name. Scores come normalised the way the plugin's NormalizeScore does it, over
all nodes of the cluster (as if every node were feasible).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from burstscaler.scheduler import cluster, fit, interpod, nodeaffinity, objects, ports, profile, spread, status, taints


@dataclasses.dataclass(frozen=True)
class FilterResult:
    """One filter plugin's outcome: every node's Status and the PreFilter outcome when not plain success."""

    statuses: Mapping[str, status.Status]
    prefilter: str | None = None

    @property
    def feasible(self) -> tuple[str, ...]:
        """The nodes that passed, in node order."""
        return tuple(name for name, s in self.statuses.items() if s.ok)


def _result(c: cluster.Cluster, verdict: status.Verdict) -> FilterResult:
    names = [node.name for node in c.state.nodes]
    return FilterResult(statuses={name: verdict.status(i) for i, name in enumerate(names)}, prefilter=verdict.prefilter)


def _scores(c: cluster.Cluster, values: np.ndarray) -> dict[str, int]:
    return {node.name: int(values[i]) for i, node in enumerate(c.state.nodes)}


def filter_node_resources_fit(
    c: cluster.Cluster, pod: objects.Pod, *, ignored_resources: Iterable[str] = (), ignored_groups: Iterable[str] = ()
) -> FilterResult:
    """NodeResourcesFit's Filter (``ignoredResources`` / ``ignoredResourceGroups`` as arguments)."""
    args = fit.FitArgs(
        ignored_resources=frozenset(ignored_resources), ignored_resource_groups=frozenset(ignored_groups)
    )
    return _result(c, fit.filter_node_resources_fit(c.state, pod, args=args))


def filter_node_unschedulable(c: cluster.Cluster, pod: objects.Pod) -> FilterResult:
    """NodeUnschedulable's Filter."""
    return _result(c, taints.filter_node_unschedulable(c.state, pod))


def filter_node_name(c: cluster.Cluster, pod: objects.Pod) -> FilterResult:
    """NodeName's Filter."""
    return _result(c, nodeaffinity.filter_node_name(c.state, pod))


def filter_taint_toleration(c: cluster.Cluster, pod: objects.Pod) -> FilterResult:
    """TaintToleration's Filter."""
    return _result(c, taints.filter_taint_toleration(c.state, pod))


def filter_node_affinity(
    c: cluster.Cluster, pod: objects.Pod, *, added_affinity: Mapping[str, Any] | None = None
) -> FilterResult:
    """NodeAffinity's PreFilter and Filter (``addedAffinity`` as the plugin argument)."""
    return _result(c, nodeaffinity.filter_node_affinity(c.state, pod, added_affinity=added_affinity))


def filter_node_ports(c: cluster.Cluster, pod: objects.Pod) -> FilterResult:
    """NodePorts' Filter."""
    return _result(c, ports.filter_node_ports(c.state, pod))


def filter_pod_topology_spread(
    c: cluster.Cluster, pod: objects.Pod, *, inclusion_policies: bool = True, system_defaults: bool = True
) -> FilterResult:
    """PodTopologySpread's Filter (``inclusion_policies``: the NodeInclusionPolicyInPodTopologySpread gate)."""
    verdict = spread.filter_pod_topology_spread(
        c.state, pod, inclusion_policies=inclusion_policies, system_defaults=system_defaults
    )
    return _result(c, verdict)


def filter_inter_pod_affinity(c: cluster.Cluster, pod: objects.Pod) -> FilterResult:
    """InterPodAffinity's PreFilter and Filter."""
    return _result(c, interpod.filter_inter_pod_affinity(c.state, pod))


def score_least_allocated(
    c: cluster.Cluster, pod: objects.Pod, *, resources: Sequence[tuple[str, int]] = fit.DEFAULT_RESOURCES
) -> dict[str, int]:
    """NodeResourcesFit's LeastAllocated score per node."""
    return _scores(c, fit.score_least_allocated(c.state, pod, resources=resources))


def score_balanced_allocation(
    c: cluster.Cluster, pod: objects.Pod, *, resources: Sequence[tuple[str, int]] = fit.DEFAULT_RESOURCES
) -> dict[str, int]:
    """NodeResourcesBalancedAllocation's score per node."""
    return _scores(c, fit.score_balanced_allocation(c.state, pod, resources=resources))


def score_taint_toleration(c: cluster.Cluster, pod: objects.Pod) -> dict[str, int]:
    """TaintToleration's normalised score per node."""
    raw = taints.score_taint_toleration(c.state, pod)
    return _scores(c, profile.default_normalize(raw, reverse=True))


def score_node_affinity(c: cluster.Cluster, pod: objects.Pod) -> dict[str, int]:
    """NodeAffinity's normalised score per node."""
    raw = nodeaffinity.score_node_affinity(c.state, pod)
    return _scores(c, profile.default_normalize(raw, reverse=False))


def score_inter_pod_affinity(c: cluster.Cluster, pod: objects.Pod) -> dict[str, int]:
    """InterPodAffinity's normalised score per node."""
    return _scores(c, interpod.normalize(interpod.score_inter_pod_affinity(c.state, pod)))


def score_pod_topology_spread(c: cluster.Cluster, pod: objects.Pod, *, system_defaults: bool = True) -> dict[str, int]:
    """PodTopologySpread's normalised score per node (every node taken as feasible)."""
    feasible = np.ones(c.state.n, dtype=bool)
    return _scores(
        c, spread.score_pod_topology_spread(c.state, pod, feasible=feasible, system_defaults=system_defaults)
    )
