"""The whole-scheduler model: a mutable cluster that places one pod at a time as kube-scheduler would.

``schedule`` runs the default profile's filters (``profile.FILTERS``) on every node, scores the
feasible ones with the default weights, and picks the highest total (through ``podclass``, which
caches per-node answers per pod template and gives the same result). kube-scheduler picks at random
among equal totals (``selectHost``'s reservoir sampling); the model picks the tie that comes first
in the cluster's node order (the order nodes were added), so a run is reproducible. When no node
passes, DefaultPreemption's choice is returned (``preemption``) with the victims to evict; the
decision then carries kube's failure message too (the pod did not fit before the eviction).

Other choices where kube's behaviour depends on things the model does not have:
- every node is evaluated (``percentageOfNodesToScore`` sampling is left out: it makes kube's choice
  depend on the order it happens to walk nodes in, which no model can reproduce);
- pods arriving already bound (``bind``) are recorded wherever they are told, fit or not, as the
  kubelet admits what the API says is bound;
- ``schedulerName`` is not checked: a caller asking is asking about the default scheduler;
- system-default spreading (pods without constraints) uses the pod's own labels as the selector
  kube would take from its Service/ReplicaSet (``spread``); a pod without labels gets none;
- ``preemptionPolicy: Never`` and PodDisruptionBudgets are not modelled.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from burstscaler.scheduler import objects, podclass, preemption, profile, state


@dataclasses.dataclass(frozen=True)
class Decision:
    """Where the pod goes: ``node`` (None: nowhere), the pod keys to evict first, kube's failure message."""

    node: str | None
    victims: tuple[str, ...] = ()
    message: str = ""


class Cluster:
    """Nodes and the pods bound to them, with kube-scheduler's placement of the next pod."""

    def __init__(
        self,
        nodes: Iterable[objects.Node] = (),
        *,
        namespaces: Mapping[str, Mapping[str, str]] | None = None,
        scheduling_profile: profile.Profile | None = None,
    ) -> None:
        self.profile = scheduling_profile or profile.Profile()
        self.state = state.State(namespaces=namespaces or {}, pod_level_resources=self.profile.pod_level_resources)
        self._evaluator = podclass.Evaluator(self.state, self.profile)
        # Preemption's per-node answers by (pod class, priority, node version); see ``preemption.preempt``.
        self._victim_memo: dict[tuple[str, int, int], dict[int, tuple[int, preemption.Candidate | None]]] = {}
        for node in nodes:
            self.add_node(node)

    # ------------------------------------------------------------------ nodes

    def add_node(self, node: objects.Node) -> None:
        """Add a node (no pods yet)."""
        self.state.add_node(node)

    def update_node(self, node: objects.Node) -> None:
        """Replace a node's labels, taints, cordon flag or allocatable; its pods stay bound."""
        self.state.update_node(node)

    def remove_node(self, name: str) -> None:
        """Remove a node; its pods are forgotten."""
        self.state.remove_node(name)

    def nodes(self) -> tuple[objects.Node, ...]:
        """The nodes, in the order they were added."""
        return tuple(self.state.nodes)

    # ------------------------------------------------------------------ pods

    def schedule(self, pod: objects.Pod) -> Decision:
        """Where kube-scheduler would bind ``pod`` now (a pure query: nothing changes)."""
        st = self.state
        chosen = self._evaluator.choose(pod)
        if chosen is not None:
            return Decision(node=st.nodes[chosen].name)
        filtered = profile.run_filters(st, pod, self.profile)
        message = profile.failure_message(st, filtered)
        candidate = preemption.preempt(
            st,
            pod,
            filtered=filtered,
            fits=lambda node: self._evaluator.fits_on(pod, node),
            needs=self._evaluator.local_needs(pod),
            memo=self._memo(pod),
        )
        if candidate is None:
            return Decision(node=None, message=message)
        return Decision(node=st.nodes[candidate.node].name, victims=candidate.victims, message=message)

    def _memo(self, pod: objects.Pod) -> dict[int, tuple[int, preemption.Candidate | None]]:
        key = (pod.scheduling_signature, pod.priority, self.state.node_version)
        if key not in self._victim_memo:
            if len(self._victim_memo) >= 16:
                self._victim_memo.pop(next(iter(self._victim_memo)))
            self._victim_memo[key] = {}
        return self._victim_memo[key]

    def bind(self, pod: objects.Pod, node_name: str) -> None:
        """Record ``pod`` as running on ``node_name`` (replacing an earlier record of the same key)."""
        self.state.add_pod(pod, node=node_name)

    def schedule_and_bind(self, pod: objects.Pod) -> Decision:
        """Schedule, evict the victims if any, bind; returns the decision."""
        decision = self.schedule(pod)
        if decision.node is not None:
            for key in decision.victims:
                self.state.remove_pod(key)
            self.state.add_pod(pod, node=decision.node)
        return decision

    def mark_terminating(self, pod_key: str) -> None:
        """The pod has a deletionTimestamp: it holds its room until deleted, but spreading no longer counts it."""
        self.state.mark_terminating(pod_key)

    def delete_pod(self, pod_key: str) -> None:
        """Forget a pod (unknown keys are ignored)."""
        self.state.remove_pod(pod_key)

    def pods_on(self, node_name: str) -> tuple[objects.Pod, ...]:
        """The pods bound to a node, in the order they were bound."""
        return tuple(r.pod for r in self.state.node_pods[self.state.index[node_name]].values())

    def node_of(self, pod_key: str) -> str | None:
        """The node a pod is bound to, or None."""
        record = self.state.pods.get(pod_key)
        return None if record is None else self.state.nodes[record.node].name

    def is_terminating(self, pod_key: str) -> bool:
        """Whether a bound pod was marked terminating."""
        record = self.state.pods.get(pod_key)
        return record is not None and record.terminating
