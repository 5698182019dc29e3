"""The actor's kube-scheduler: pending pods placed by ``burstscaler.scheduler`` (the judge).

Each scheduling pass mirrors the API into a fresh :class:`burstscaler.scheduler.Cluster`: every
node (a virtual node is an ordinary node whose allocatable is large), every pod bound to an
existing node and not finished (a pod being deleted is marked terminating: it holds its room until
gone), and the namespaces' labels (for namespaceSelector). Pending pods of the default scheduler
are then taken one at a time in the default queue's order (higher ``spec.priority`` first, then
older first), each :meth:`~burstscaler.scheduler.Cluster.schedule`\\ d:

- a node: bound through ``pods/binding`` and recorded in the mirror, so the next pod sees it;
- victims (DefaultPreemption): deleted through the API (graceful: they keep their room while they
  terminate), the pod's ``status.nominatedNodeName`` set, and the pod left Pending until the room
  is free; while lower-priority pods on its nominated node are still terminating it does not
  preempt again (upstream's ``PodEligibleToPreemptOthers``);
- nowhere: ``PodScheduled=False``, reason ``Unschedulable``, with the model's message.

Nominated pods do not reserve their room against other pending pods (upstream's
``AddNominatedPods`` is not played). The model is the only place where scheduling is decided: this
module only translates, and it never imports ``burstscaler.core``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from burstscaler import scheduler

DEFAULT_SCHEDULER = "default-scheduler"
_TERMINAL = ("Succeeded", "Failed")


@attrs.frozen(kw_only=True)
class Outcome:
    """What the scheduler decided for one pending pod (API JSON in, decisions out)."""

    pod: dict[str, Any]
    node: str | None = None
    victims: tuple[dict[str, Any], ...] = ()
    nominated: str | None = None
    message: str = ""


def mirror(
    nodes: Iterable[dict[str, Any]], pods: Iterable[dict[str, Any]], namespaces: Iterable[dict[str, Any]] = ()
) -> scheduler.Cluster:
    """A scheduler model of the API's nodes and bound pods."""
    labels = {ns["metadata"]["name"]: dict(ns["metadata"].get("labels") or {}) for ns in namespaces}
    cluster = scheduler.Cluster([scheduler.Node.from_manifest(node) for node in nodes], namespaces=labels)
    names = {node.name for node in cluster.nodes()}
    for pod in pods:
        node_name = pod["spec"].get("nodeName")
        if node_name in names and _phase(pod) not in _TERMINAL:
            model = scheduler.Pod.from_manifest(pod)
            cluster.bind(model, node_name)
            if pod["metadata"].get("deletionTimestamp"):
                cluster.mark_terminating(model.key)
    return cluster


def needs_namespaces(pods: Iterable[dict[str, Any]]) -> bool:
    """Whether any pod's affinity selects namespaces by label (only then are their labels needed)."""
    return any("namespaceSelector" in str(pod["spec"].get("affinity") or "") for pod in pods)


def pending(pods: Iterable[dict[str, Any]], *, order: dict[str, int]) -> list[dict[str, Any]]:
    """Pods waiting for the default scheduler, in its queue's order (`order`: the actor's creation counter)."""
    waiting = [
        pod
        for pod in pods
        if not pod["spec"].get("nodeName")
        and not pod["metadata"].get("deletionTimestamp")
        and (pod["spec"].get("schedulerName") or DEFAULT_SCHEDULER) == DEFAULT_SCHEDULER
    ]
    return sorted(
        waiting,
        key=lambda pod: (
            -int(pod["spec"].get("priority") or 0),
            pod["metadata"]["creationTimestamp"],
            order.get(pod["metadata"]["uid"], 0),
        ),
    )


def place(cluster: scheduler.Cluster, pods: list[dict[str, Any]], by_key: dict[str, dict[str, Any]]) -> list[Outcome]:
    """Decide every pod of `pods` in turn, updating `cluster` as kube-scheduler's cache would."""
    outcomes = []
    for pod in pods:
        model = scheduler.Pod.from_manifest(pod)
        decision = cluster.schedule(model)
        nominated = (pod.get("status") or {}).get("nominatedNodeName")
        if decision.node is not None and not decision.victims:
            cluster.bind(model, decision.node)
            outcomes.append(Outcome(pod=pod, node=decision.node))
        elif decision.node is not None and not _waiting_for_victims(cluster, model, nominated, by_key):
            victims = tuple(by_key[key] for key in decision.victims if key in by_key)
            for key in decision.victims:
                cluster.mark_terminating(key)
            outcomes.append(Outcome(pod=pod, victims=victims, nominated=decision.node, message=decision.message))
        else:
            outcomes.append(Outcome(pod=pod, nominated=nominated, message=decision.message))
    return outcomes


def _waiting_for_victims(
    cluster: scheduler.Cluster, pod: scheduler.Pod, nominated: str | None, by_key: dict[str, dict[str, Any]]
) -> bool:
    if not nominated:
        return False
    for other in cluster.pods_on(nominated):
        obj = by_key.get(other.key)
        if obj is not None and obj["metadata"].get("deletionTimestamp") and other.priority < pod.priority:
            return True
    return False


def _phase(pod: dict[str, Any]) -> str:
    return str((pod.get("status") or {}).get("phase") or "Pending")
