"""Preemption in the spirit of DefaultPreemption (``pkg/scheduler/framework/plugins/defaultpreemption``).

When a pod fits nowhere, each node that rejected it only as Unschedulable (not Unresolvable: evicting
cannot fix a taint or a missing label) is tried: remove every lower-priority pod, check the pod fits,
then give back ("reprieve") the victims one by one, most important first (higher priority, then the
one bound earlier), keeping each one that still lets the pod fit. Among the nodes where it works the
one chosen has, in turn, the lowest highest-victim priority, the lowest sum of victim priorities,
the fewest victims, then comes first in node order. PodDisruptionBudgets are not modelled. Terminating
pods are never victims: they are leaving already and hold their room until gone, as in kube. As kube,
at most ``max(100, 10% of nodes)`` candidate nodes are evaluated.

The search mutates the state (removes the candidates, then restores them exactly), so a pure
caller sees no change.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from burstscaler.scheduler import objects, profile, requests, state, status


@dataclasses.dataclass(frozen=True)
class Candidate:
    """A node where evicting ``victims`` (pod keys) lets the pod fit."""

    node: int
    victims: tuple[str, ...]
    priorities: tuple[int, ...]

    def rank(self) -> tuple[int, int, int, int]:
        """Sort key: lowest highest priority, lowest sum (each offset so fewer victims win ties), fewest, first."""
        offset = 2**31
        return (max(self.priorities), sum(p + offset for p in self.priorities), len(self.victims), self.node)


Fits = Callable[[int], bool]


def _victims_on(st: state.State, pod: objects.Pod, node: int, fits: Fits) -> Candidate | None:
    lower = [r for r in st.node_pods[node].values() if r.pod.priority < pod.priority and not r.terminating]
    if not lower:
        return None
    # Most important first: higher priority, then bound earlier (insertion order stands for start time).
    order = {r.pod.key: i for i, r in enumerate(lower)}
    lower.sort(key=lambda r: (-r.pod.priority, order[r.pod.key]))
    original = list(st.node_pods[node])
    for record in lower:
        st.remove_pod(record.pod.key)
    victims: list[state.PodRecord] = []
    try:
        if not fits(node):
            victims = list(lower)
            return None
        for record in lower:
            st.add_pod(record.pod, node=st.nodes[record.node].name, terminating=record.terminating)
            if not fits(node):
                st.remove_pod(record.pod.key)
                victims.append(record)
        return Candidate(
            node=node,
            victims=tuple(r.pod.key for r in victims),
            priorities=tuple(r.pod.priority for r in victims),
        )
    finally:
        for record in victims:
            st.add_pod(record.pod, node=st.nodes[record.node].name, terminating=record.terminating)
        # Put the node's pods back in their binding order: it stands for their start times.
        pods = st.node_pods[node]
        st.node_pods[node] = {key: pods[key] for key in original}


def _arithmetic_victims(
    st: state.State, pod: objects.Pod, node: int, *, needs: list[tuple[str, int, int]], lower_used: np.ndarray
) -> Candidate | None:
    """Victims on one node by sums alone, for a pod only resources can keep off it (no state change).

    ``needs`` are (name, amount, column) of the pod's checked requests.
    """
    lower = [r for r in st.node_pods[node].values() if r.pod.priority < pod.priority and not r.terminating]
    order = {r.pod.key: i for i, r in enumerate(lower)}
    lower.sort(key=lambda r: (-r.pod.priority, order[r.pod.key]))
    free = {
        name: int(st.alloc[node, column] - st.used[node, column] + lower_used[node, column])
        for name, _a, column in needs
    }
    pods_free = int(st.alloc_pods[node] - st.pod_count[node]) + len(lower)
    if pods_free < 1 or any(amount > free[name] for name, amount, _column in needs):
        return None
    victims = []
    for record in lower:
        trial = {name: free[name] - record.request.get(name, 0) for name in free}
        if pods_free - 1 >= 1 and all(amount <= trial[name] for name, amount, _column in needs):
            free, pods_free = trial, pods_free - 1  # reprieved: it stays
        else:
            victims.append(record)
    return Candidate(
        node=node, victims=tuple(r.pod.key for r in victims), priorities=tuple(r.pod.priority for r in victims)
    )


def preempt(
    st: state.State,
    pod: objects.Pod,
    *,
    filtered: profile.Filtered,
    fits: Fits,
    needs: list[tuple[str, int, int]] | None,
    memo: dict[int, tuple[int, Candidate | None]] | None = None,
) -> Candidate | None:
    """The node and victims DefaultPreemption would pick, or None when no eviction helps.

    ``fits(node)`` answers whether every filter passes the pod on that node of the current state
    (the cluster's cached evaluator: after an eviction only the changed node is recomputed).
    ``needs`` (name, amount, column of each checked request) is given when only node-local resources
    can keep the pod off a node that otherwise passed: victims are then found by sums alone.
    Candidates are first narrowed with whole-array sums: a node is tried only if evicting every
    lower-priority pod there would leave room for the pod's requests. ``memo`` (per pod class and
    priority, owned by the caller) keeps the sums-alone answer of each node until its pods change.
    """
    n = st.n
    evictable = np.zeros(n, dtype=bool)
    for position, verdict in enumerate(filtered.verdicts):
        mask = filtered.first == position
        evictable[mask] = verdict.codes[mask] == status.UNSCHEDULABLE
    lower_used, lower_count = st.lower_priority(pod.priority)
    candidates = evictable & (lower_count > 0)
    candidates &= st.pod_count[:n] - lower_count + 1 <= st.alloc_pods[:n]
    request = requests.pod_request(pod, pod_level_resources=st.pod_level_resources)
    for name, amount in request.items():
        column = st.columns.get(name)
        if name == "pods" or amount <= 0:
            continue
        if column is None:
            candidates[:] = False
            break
        candidates &= amount <= st.alloc[:n, column] - st.used[:n, column] + lower_used[:, column]
    limit = max(100, n // 10)
    found: list[Candidate] = []
    for node in np.flatnonzero(candidates).tolist():
        if needs is not None:
            epoch = int(st.epoch[node])
            hit = memo.get(node) if memo is not None else None
            if hit is not None and hit[0] == epoch:
                candidate = hit[1]
            else:
                candidate = _arithmetic_victims(st, pod, node, needs=needs, lower_used=lower_used)
                if memo is not None:
                    memo[node] = (epoch, candidate)
        else:
            candidate = _victims_on(st, pod, node, fits)
        if candidate is not None:
            found.append(candidate)
            if len(found) >= limit:
                break
    if not found:
        return None
    return min(found, key=Candidate.rank)
