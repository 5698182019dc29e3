"""A node autoscaler for the cluster actor: cluster-autoscaler's two loops, on one node template.

The bridge (issue 16) keeps placeholder pods Pending on ECS so that a node autoscaler buys
capacity; the e2e tests need something that plays that autoscaler through the API, as
cluster-autoscaler (or an ACK node pool with auto scaling) does it, and independently of
``burstscaler.core``. One node group, built from ``node(name)`` (a Node manifest), holds at most
``max_nodes`` nodes (its maximum size; the cluster's other nodes are not in it).

**Scale-up** (cluster-autoscaler's ``ScaleUp`` with the binpacking estimator):

1. Candidates: pods with no node, not being deleted, of the default scheduler, that have stayed
   Pending for ``pending_seconds`` on the actor's clock, whose priority is at least
   ``expendable_priority_cutoff`` (CA's ``--expendable-pods-priority-cutoff``, -10: lower pods
   never trigger growth; placeholders, as CA's overprovisioning pods, must sit above it) and that
   are not nominated to a node (a preemption in progress will place them).
2. The simulation: the scheduler model (``burstscaler.scheduler``, through :mod:`.binding`) on the
   cluster as it is, with every node of the group that is still booting replaced by its template
   (CA counts upcoming nodes as if they were Ready, so it does not buy twice for the same pods).
   Candidates are placed one at a time in the scheduler queue's order: a pod the model places on
   a node that exists or is upcoming takes its room there; one that can preempt lower priorities
   is left to the scheduler (it will be nominated, and CA counts nominated pods as schedulable);
   otherwise a fresh template node is added to the simulation and kept only if the model places
   the pod on it without preemption (the template's filters: resources, taints, node affinity,
   inter-pod constraints against the cluster's pods). The number of kept template nodes, capped by
   the group's room, is created.
3. A created node is ``NotReady`` (``Ready=False``, the ``node.kubernetes.io/not-ready``
   NoSchedule taint a registering kubelet carries) for ``boot_seconds``, then ``Ready``; the actor's
   node lifecycle controller manages the taints from then on. With ``boot_seconds`` 0 it is Ready
   when created.

**Scale-down** (CA's unneeded-node logic, for empty nodes only): a node of the group whose pods are
all DaemonSet pods, mirror pods or expendable pods (below the cutoff), terminating or not, for
``idle_seconds`` is cordoned (``spec.unschedulable`` and CA's ``ToBeDeletedByClusterAutoscaler``
NoSchedule taint) and deleted at the next pass if still empty (else uncordoned: CA cancels the
deletion). Nodes the group did not create are never removed. Under-utilised but non-empty nodes
are not drained (CA would move their pods; no test needs it yet).

Every decision is appended to :attr:`NodeAutoscaler.events` (``("scale-up" | "cordon" |
"delete" | "uncordon", node, time)``) so tests can check when and what happened.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection
from typing import Any

import attrs

from burstscaler import scheduler

from . import binding, client

TO_BE_DELETED_TAINT = "ToBeDeletedByClusterAutoscaler"
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
CA_EXPENDABLE_CUTOFF = -10  # cluster-autoscaler's --expendable-pods-priority-cutoff default
_TERMINAL = ("Succeeded", "Failed")


@attrs.define(kw_only=True)
class NodeAutoscaler:
    """One growable node group (see the module docstring); driven by :meth:`run` from the actor's pass.

    `node`: the group's template, ``node(name) -> Node manifest`` (a Ready node; its labels and
    allocatable are what the simulation and the created node get). `pending_seconds`: how long a
    pod must stay Pending before it counts (CA's loop interval plus ``--new-pod-scale-up-delay``).
    `idle_seconds`: CA's ``--scale-down-unneeded-time``. `max_nodes`: the group's maximum size.
    `boot_seconds`: from creation to Ready. `prefix`: the created nodes' names (``prefix`` + n).
    """

    node: Callable[[str], dict[str, Any]]
    pending_seconds: float = 5.0
    idle_seconds: float = 30.0
    max_nodes: int = 10
    boot_seconds: float = 0.0
    expendable_priority_cutoff: int = CA_EXPENDABLE_CUTOFF
    prefix: str = "autoscaled-"
    events: list[tuple[str, str, float]] = attrs.field(factory=list, init=False)

    _created_at: dict[str, float] = attrs.field(factory=dict, init=False)
    _booting: set[str] = attrs.field(factory=set, init=False)
    _pending_since: dict[str, float] = attrs.field(factory=dict, init=False)
    _idle_since: dict[str, float] = attrs.field(factory=dict, init=False)
    _cordoned: set[str] = attrs.field(factory=set, init=False)
    _serial: int = attrs.field(default=0, init=False)

    def __attrs_post_init__(self) -> None:
        if self.max_nodes < 0:
            raise ValueError(f"max_nodes must be >= 0, got {self.max_nodes}")
        for field in ("pending_seconds", "idle_seconds", "boot_seconds"):
            if getattr(self, field) < 0:
                raise ValueError(f"{field} must be >= 0, got {getattr(self, field)}")

    @property
    def nodes(self) -> tuple[str, ...]:
        """The group's nodes that exist now (created by this autoscaler and not deleted), oldest first."""
        return tuple(self._created_at)

    def run(
        self,
        api: client.RestClient,
        *,
        now: float,
        nodes: list[dict[str, Any]],
        pods: list[dict[str, Any]],
        order: dict[str, int],
    ) -> None:
        """One autoscaler pass on the cluster as the actor's scheduler left it (`order`: creation counter)."""
        existing = {node["metadata"]["name"] for node in nodes}
        for name in [n for n in self._created_at if n not in existing]:  # deleted by someone else
            self._forget(name)
        upcoming = set(self._booting)  # `nodes` was listed before this pass marked any of them Ready
        self._finish_booting(api, now=now)
        self._scale_down(api, now=now, nodes=nodes, pods=pods)
        self._scale_up(api, now=now, nodes=nodes, pods=pods, order=order, upcoming=upcoming)

    # -- scale-up ------------------------------------------------------------------------------

    def _scale_up(
        self,
        api: client.RestClient,
        *,
        now: float,
        nodes: list[dict[str, Any]],
        pods: list[dict[str, Any]],
        order: dict[str, int],
        upcoming: set[str],
    ) -> None:
        waiting = binding.pending(pods, order=order)
        alive = {pod["metadata"]["uid"] for pod in waiting}
        self._pending_since = {uid: t for uid, t in self._pending_since.items() if uid in alive}
        for pod in waiting:
            self._pending_since.setdefault(pod["metadata"]["uid"], now)
        candidates = [pod for pod in waiting if self._triggers(pod, now=now)]
        room = self.max_nodes - len(self._created_at)
        if not candidates or room <= 0:
            return
        namespaces = api.list("Namespace") if binding.needs_namespaces(pods) else []
        wanted = self.estimate(
            nodes=nodes, pods=pods, candidates=candidates, limit=room, upcoming=upcoming, namespaces=namespaces
        )
        for _ in range(wanted):
            self._create(api, now=now)

    def _triggers(self, pod: dict[str, Any], *, now: float) -> bool:
        if int(pod["spec"].get("priority") or 0) < self.expendable_priority_cutoff:
            return False
        if (pod.get("status") or {}).get("nominatedNodeName"):
            return False
        return now - self._pending_since[pod["metadata"]["uid"]] >= self.pending_seconds

    def estimate(
        self,
        *,
        nodes: list[dict[str, Any]],
        pods: list[dict[str, Any]],
        candidates: list[dict[str, Any]],
        limit: int,
        upcoming: Collection[str] = (),
        namespaces: list[dict[str, Any]] | None = None,
    ) -> int:
        """How many template nodes `candidates` need (binpacking in the scheduler model), at most `limit`.

        `upcoming`: names of `nodes` still booting, simulated as their Ready template.
        """
        simulated = [self._template(_name(node)) if _name(node) in upcoming else node for node in nodes]
        sim = binding.mirror(simulated, pods, namespaces or [])
        added = 0
        for pod in candidates:
            model = scheduler.Pod.from_manifest(pod)
            decision = sim.schedule(model)
            if decision.node is not None:  # fits where it is, on an upcoming node, or by preemption
                if not decision.victims:
                    sim.bind(model, decision.node)
                continue
            if added >= limit:
                continue
            name = f"{self.prefix}simulated-{added}"
            sim.add_node(scheduler.Node.from_manifest(self._template(name)))
            decision = sim.schedule(model)
            if decision.node == name and not decision.victims:
                sim.bind(model, name)
                added += 1
            else:  # the template cannot take it either: CA leaves such pods alone
                sim.remove_node(name)
        return added

    def _template(self, name: str) -> dict[str, Any]:
        manifest = copy.deepcopy(self.node(name))
        manifest["metadata"]["name"] = name
        return manifest

    def _create(self, api: client.RestClient, *, now: float) -> None:
        name = f"{self.prefix}{self._serial}"
        self._serial += 1
        manifest = self._template(name)
        if self.boot_seconds > 0:
            spec = manifest.setdefault("spec", {})
            spec["taints"] = [*(spec.get("taints") or []), {"key": NOT_READY_TAINT, "effect": "NoSchedule"}]
            status = manifest.setdefault("status", {})
            status["conditions"] = [
                {"type": "Ready", "status": "False", "reason": "KubeletNotReady", "message": "booting"},
                *[c for c in status.get("conditions") or [] if c.get("type") != "Ready"],
            ]
            self._booting.add(name)
        api.create(manifest)
        self._created_at[name] = now
        self.events.append(("scale-up", name, now))

    def _finish_booting(self, api: client.RestClient, *, now: float) -> None:
        for name in sorted(self._booting):
            if now - self._created_at[name] < self.boot_seconds:
                continue
            ready = self._template(name).get("status", {}).get("conditions") or []
            conditions = [
                {"type": "Ready", "status": "True", "reason": "KubeletReady"},
                *[c for c in ready if c.get("type") != "Ready"],
            ]
            api.patch("Node", name, {"status": {"conditions": conditions}}, namespace=None, subresource="status")
            self._booting.discard(name)

    # -- scale-down ----------------------------------------------------------------------------

    def _scale_down(
        self, api: client.RestClient, *, now: float, nodes: list[dict[str, Any]], pods: list[dict[str, Any]]
    ) -> None:
        busy = {
            pod["spec"]["nodeName"]
            for pod in pods
            if pod["spec"].get("nodeName") and not self._ignored_by_scale_down(pod)
        }
        by_name = {_name(node): node for node in nodes}
        for name in list(self._created_at):
            node = by_name.get(name)
            if node is None or name in self._booting:
                continue
            if name in self._cordoned:
                if name in busy:  # something landed (or was bound) meanwhile: cancel, as CA does
                    self._uncordon(api, node, now=now)
                else:
                    api.delete("Node", name, namespace=None)
                    self.events.append(("delete", name, now))
                    self._forget(name)
                continue
            if name in busy:
                self._idle_since.pop(name, None)
                continue
            since = self._idle_since.setdefault(name, now)
            if now - since >= self.idle_seconds:
                self._cordon(api, node, now=now)

    def _ignored_by_scale_down(self, pod: dict[str, Any]) -> bool:
        """DaemonSet pods, mirror pods, expendable and finished pods do not keep a node (CA's drain rules)."""
        if str((pod.get("status") or {}).get("phase") or "Pending") in _TERMINAL:
            return True
        meta = pod["metadata"]
        if MIRROR_ANNOTATION in (meta.get("annotations") or {}):
            return True
        if any(ref.get("kind") == "DaemonSet" for ref in meta.get("ownerReferences") or []):
            return True
        return int(pod["spec"].get("priority") or 0) < self.expendable_priority_cutoff

    def _cordon(self, api: client.RestClient, node: dict[str, Any], *, now: float) -> None:
        name = _name(node)
        taints = [t for t in node.get("spec", {}).get("taints") or [] if t.get("key") != TO_BE_DELETED_TAINT]
        taints.append({"key": TO_BE_DELETED_TAINT, "value": str(int(now)), "effect": "NoSchedule"})
        api.patch("Node", name, {"spec": {"unschedulable": True, "taints": taints}}, namespace=None)
        self._cordoned.add(name)
        self.events.append(("cordon", name, now))

    def _uncordon(self, api: client.RestClient, node: dict[str, Any], *, now: float) -> None:
        name = _name(node)
        taints = [t for t in node.get("spec", {}).get("taints") or [] if t.get("key") != TO_BE_DELETED_TAINT]
        api.patch("Node", name, {"spec": {"unschedulable": None, "taints": taints or None}}, namespace=None)
        self._cordoned.discard(name)
        self._idle_since.pop(name, None)
        self.events.append(("uncordon", name, now))

    def _forget(self, name: str) -> None:
        self._created_at.pop(name, None)
        self._booting.discard(name)
        self._idle_since.pop(name, None)
        self._cordoned.discard(name)


def _name(node: dict[str, Any]) -> str:
    return str(node["metadata"]["name"])
