"""Placing many pods of one template fast: per-class answers, refreshed only on the nodes that changed.

Replicas of one template ask every node the same questions, and binding one pod changes the
answers of one node. So for each *pod class* (pods with the same ``scheduling_signature``) the
node-local parts of the profile are kept as arrays:
- static per node until nodes change (``State.node_version``): NodeUnschedulable, NodeName,
  TaintToleration, NodeAffinity, and the raw TaintToleration / NodeAffinity scores;
- dynamic per node, recomputed only where ``State.epoch`` moved since the last look: NodePorts,
  NodeResourcesFit, LeastAllocated and BalancedAllocation.
The cluster-wide parts (PodTopologySpread, InterPodAffinity, and the normalisations that look at all
feasible nodes) are computed fresh each time, and only when the pod or the bound pods' terms make
them matter. A score that is the same on every node is not added: it cannot change the choice.

The answer is the same as ``profile.run_filters`` followed by ``profile.score``
(``tests/scheduler/test_podclass.py`` checks that on random clusters).
"""

from __future__ import annotations

import collections
import dataclasses

import numpy as np

from burstscaler.scheduler import (
    fit,
    interpod,
    nodeaffinity,
    objects,
    ports,
    profile,
    requests,
    spread,
    state,
    status,
    taints,
)

#: How many pod classes keep their arrays (least recently used go first).
CACHE_SIZE = 64


@dataclasses.dataclass
class ClassCache:
    """The node-local answers for one pod class, valid for ``node_version`` and the nodes' ``epoch``."""

    node_version: int = -1
    epoch: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    static_ok: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=bool))
    dynamic_ok: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=bool))
    resource_score: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    taint_raw: np.ndarray | None = None  # None when equal on every node
    affinity_raw: np.ndarray | None = None
    # What the class asks, worked out once (rule R, spread constraints, which global parts matter).
    request: dict[str, int] = dataclasses.field(default_factory=dict)
    non_zero: tuple[int, int] = (0, 0)
    has_ports: bool = False
    constraints: tuple[list[spread.Constraint], bool] = ([], False)
    hard_spread: bool = False
    soft_spread: bool = False
    required_terms: bool = False
    preferred_terms: bool = False


class Evaluator:
    """kube-scheduler's choice for a pod, with per-class caches over one cluster state."""

    def __init__(self, st: state.State, prof: profile.Profile) -> None:
        self.state = st
        self.profile = prof
        self._caches: collections.OrderedDict[str, ClassCache] = collections.OrderedDict()

    def _cache(self, pod: objects.Pod) -> ClassCache:
        key = pod.scheduling_signature
        cache = self._caches.get(key)
        if cache is None:
            st, prof = self.state, self.profile
            constraints = spread.constraints_of(
                pod, inclusion_policies=prof.inclusion_policies, system_defaults=prof.system_default_spread
            )
            cache = self._caches[key] = ClassCache(
                request=requests.pod_request(pod, pod_level_resources=st.pod_level_resources),
                non_zero=requests.non_zero_request(pod, pod_level_resources=st.pod_level_resources),
                has_ports=bool(requests.host_ports(pod)),
                constraints=constraints,
                hard_spread=any(c.hard for c in constraints[0]),
                soft_spread=any(not c.hard for c in constraints[0]),
                required_terms=bool(interpod.required_affinity(pod) or interpod.required_anti_affinity(pod)),
                preferred_terms=interpod.has_preferred(pod),
            )
            if len(self._caches) > CACHE_SIZE:
                self._caches.popitem(last=False)
        else:
            self._caches.move_to_end(key)
        return cache

    def _dynamic(self, pod: objects.Pod, cache: ClassCache, rows: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        st, prof = self.state, self.profile
        request = cache.request
        ok = fit.filter_node_resources_fit(st, pod, args=prof.fit_args, request=request, rows=rows).codes == 0
        if cache.has_ports:
            port_ok = ports.filter_node_ports(st, pod).codes == 0
            ok &= port_ok if rows is None else port_ok[rows]
        w = prof.weights
        resources = prof.scoring_resources
        scores = w["NodeResourcesFit"] * fit.score_least_allocated(
            st, pod, resources=resources, rows=rows, request=request, non_zero=cache.non_zero
        )
        scores += w["NodeResourcesBalancedAllocation"] * fit.score_balanced_allocation(
            st, pod, resources=resources, rows=rows, request=request
        )
        return ok, scores

    def _dynamic_rows(self, pod: objects.Pod, cache: ClassCache, rows: np.ndarray) -> None:
        st, prof = self.state, self.profile
        w = prof.weights
        wanted_ports = requests.host_ports(pod) if cache.has_ports else ()
        for index in rows.tolist():
            ok, least, balanced = fit.node_answers(
                st,
                index,
                request=cache.request,
                non_zero=cache.non_zero,
                args=prof.fit_args,
                resources=prof.scoring_resources,
            )
            used_ports = st.node_ports[index]
            if ok and wanted_ports and used_ports:
                ok = not any(ports.conflicts(a, b) for a in wanted_ports for b in used_ports)
            cache.dynamic_ok[index] = ok
            score = w["NodeResourcesFit"] * least + w["NodeResourcesBalancedAllocation"] * balanced
            cache.resource_score[index] = score

    def _refresh(self, pod: objects.Pod, cache: ClassCache) -> None:
        st = self.state
        n = st.n
        if cache.node_version != st.node_version or cache.epoch.size != n:
            static = taints.filter_node_unschedulable(st, pod).codes == 0
            static &= nodeaffinity.filter_node_name(st, pod).codes == 0
            static &= taints.filter_taint_toleration(st, pod).codes == 0
            static &= nodeaffinity.filter_node_affinity(st, pod, added_affinity=self.profile.added_affinity).codes == 0
            cache.static_ok = static
            taint_raw = taints.score_taint_toleration(st, pod)
            affinity_raw = nodeaffinity.score_node_affinity(st, pod)
            varies = n > 0
            cache.taint_raw = taint_raw if varies and taint_raw.min() != taint_raw.max() else None
            cache.affinity_raw = affinity_raw if varies and affinity_raw.min() != affinity_raw.max() else None
            cache.dynamic_ok, cache.resource_score = self._dynamic(pod, cache, None)
            cache.epoch = st.epoch[:n].copy()
            cache.node_version = st.node_version
            return
        dirty = np.flatnonzero(st.epoch[:n] != cache.epoch)
        if dirty.size == 0:
            return
        if dirty.size > n // 8:
            cache.dynamic_ok, cache.resource_score = self._dynamic(pod, cache, None)
        elif dirty.size <= 4:
            self._dynamic_rows(pod, cache, dirty)
        else:
            ok, scores = self._dynamic(pod, cache, dirty)
            cache.dynamic_ok[dirty] = ok
            cache.resource_score[dirty] = scores
        cache.epoch[dirty] = st.epoch[:n][dirty]

    def feasible(self, pod: objects.Pod) -> np.ndarray:
        """Per node, whether every filter of the profile lets the pod through."""
        st = self.state
        cache = self._cache(pod)
        self._refresh(pod, cache)
        ok = cache.static_ok & cache.dynamic_ok
        if not ok.any():
            return ok
        if cache.hard_spread:
            verdict = spread.filter_pod_topology_spread(st, pod, constraints=cache.constraints)
            ok &= verdict.codes == status.SUCCESS
        if cache.required_terms or st.has_terms("anti"):
            ok &= interpod.filter_inter_pod_affinity(st, pod).codes == status.SUCCESS
        return ok

    def local_needs(self, pod: objects.Pod) -> list[tuple[str, int, int]] | None:
        """(name, amount, column) of the requests NodeResourcesFit checks, when nothing else can change.

        None when a node's answer for this pod depends on more than its own resources (host ports,
        hard spread, required pod terms, bound pods' anti-affinity) or a request has no column.
        """
        cache = self._cache(pod)
        if cache.has_ports or cache.hard_spread or cache.required_terms or self.state.has_terms("anti"):
            return None
        needs = []
        for name in fit.checked_resources(cache.request, self.profile.fit_args):
            column = self.state.columns.get(name)
            if column is None:
                return None
            needs.append((name, cache.request[name], column))
        return needs

    def fits_on(self, pod: objects.Pod, node: int) -> bool:
        """Whether every filter passes the pod on one node of the current state.

        When nothing cluster-wide applies (no hard spread, no required pod terms, no bound pod's
        anti-affinity), only that node's row is computed: preemption asks this for each candidate
        after each trial eviction.
        """
        cache = self._cache(pod)
        local_only = not cache.hard_spread and not cache.required_terms and not self.state.has_terms("anti")
        if not local_only or cache.node_version != self.state.node_version or cache.epoch.size != self.state.n:
            return bool(self.feasible(pod)[node])
        if not cache.static_ok[node]:
            return False
        ok, _least, _balanced = fit.node_answers(
            self.state,
            node,
            request=cache.request,
            non_zero=cache.non_zero,
            args=self.profile.fit_args,
            resources=self.profile.scoring_resources,
        )
        if ok and cache.has_ports and self.state.node_ports[node]:
            wanted = requests.host_ports(pod)
            ok = not any(ports.conflicts(a, b) for a in wanted for b in self.state.node_ports[node])
        return ok

    def choose(self, pod: objects.Pod) -> int | None:
        """The index of the node kube-scheduler would pick (first of equal totals), or None when none fits."""
        st = self.state
        feasible = self.feasible(pod)
        everywhere = bool(feasible.all())
        if everywhere:
            if st.n <= 1:
                return 0 if st.n else None
            # Every node feasible (the common case while a cluster has room): whole arrays, no indexing.
            return self._best(pod, feasible, rows=None)
        idx = np.flatnonzero(feasible)
        if idx.size <= 1:
            return int(idx[0]) if idx.size else None
        return int(idx[self._best(pod, feasible, rows=idx)])

    def _best(self, pod: objects.Pod, feasible: np.ndarray, *, rows: np.ndarray | None) -> int:
        """Position (in ``rows``, or node index when None) of the highest weighted total."""
        st, w = self.state, self.profile.weights
        cache = self._caches[pod.scheduling_signature]

        def on(values: np.ndarray) -> np.ndarray:
            return values if rows is None else values[rows]

        total = on(cache.resource_score).copy()
        if cache.taint_raw is not None:
            total += w["TaintToleration"] * profile.default_normalize(on(cache.taint_raw), reverse=True)
        if cache.affinity_raw is not None:
            total += w["NodeAffinity"] * profile.default_normalize(on(cache.affinity_raw), reverse=False)
        if cache.preferred_terms or st.has_terms("aff", "pref_aff", "pref_anti"):
            raw = on(interpod.score_inter_pod_affinity(st, pod))
            total += w["InterPodAffinity"] * interpod.normalize(raw)
        if cache.soft_spread:
            scores = spread.score_pod_topology_spread(st, pod, feasible=feasible, constraints=cache.constraints)
            total += w["PodTopologySpread"] * on(scores)
        return int(np.argmax(total))
