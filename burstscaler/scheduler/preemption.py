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

from burstscaler.scheduler import objects, profile, state, status


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


def _fits_on(st: state.State, pod: objects.Pod, node: int, prof: profile.Profile) -> bool:
    return bool(profile.run_filters(st, pod, prof).feasible[node])


def _victims_on(st: state.State, pod: objects.Pod, node: int, prof: profile.Profile) -> Candidate | None:
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
        if not _fits_on(st, pod, node, prof):
            victims = list(lower)
            return None
        for record in lower:
            st.add_pod(record.pod, node=st.nodes[record.node].name, terminating=record.terminating)
            if not _fits_on(st, pod, node, prof):
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


def preempt(
    st: state.State, pod: objects.Pod, *, filtered: profile.Filtered, prof: profile.Profile
) -> Candidate | None:
    """The node and victims DefaultPreemption would pick, or None when no eviction helps."""
    limit = max(100, st.n // 10)
    found: list[Candidate] = []
    for node in range(st.n):
        which = int(filtered.first[node])
        if which < 0 or int(filtered.verdicts[which].codes[node]) != status.UNSCHEDULABLE:
            continue
        candidate = _victims_on(st, pod, node, prof)
        if candidate is not None:
            found.append(candidate)
            if len(found) >= limit:
                break
    if not found:
        return None
    return min(found, key=Candidate.rank)
