"""The cluster actor: kube-controller-manager, kube-scheduler and kubelet for an emulated API.

Nothing runs pods behind an API emulator, so this plays the three parts the way kwok does, through
the API only (it never touches the emulator's memory), and independently of ``burstscaler.core``
(the tests must not check the core against itself):

1. **Deployment controller**: one ReplicaSet ``<name>-<hash>`` per pod template (owned by the
   Deployment, labelled ``pod-template-hash``) with the Deployment's replicas; an older template's
   ReplicaSet is scaled to 0 and deleted once empty (a Recreate-like rollout, not a rolling one).
2. **ReplicaSet controller**: creates pods from the template (``generateName``, owned by the
   ReplicaSet) and, scaling in, deletes them in the ReplicaSet controller's order: unscheduled
   first, then Pending before Running, then not-ready before ready, then lower
   ``controller.kubernetes.io/pod-deletion-cost`` first, then newer first.
3. **StatefulSet controller**: pods ``<name>-<ordinal>`` owned by the StatefulSet; scaling in
   removes the highest ordinals (Parallel pod management: no waiting for readiness in between).
4. **Scheduler**: pending pods in creation order, each bound (``pods/binding``) to the first node
   that fits: ordinary nodes by name, then virtual nodes. Fit = not cordoned, ``nodeSelector`` and
   required node affinity match, every NoSchedule/NoExecute taint tolerated, and cpu, memory and
   pod count within allocatable minus the pods already bound there. A virtual node
   (``type=virtual-kubelet``) has no capacity limit. A pod that fits nowhere gets
   ``PodScheduled=False``, reason ``Unschedulable``, and kube-scheduler's style of message.
5. **Kubelet**: a bound pod turns Running and Ready once ``startup_delay[kind]`` seconds of the
   actor's clock have passed since binding (``kind`` is ``"virtual"`` or ``"ecs"``). A pod annotated
   ``e2e.burstscaler.io/never-ready: "true"`` runs but never becomes Ready.
6. **Status**: ReplicaSets, Deployments and StatefulSets get replicas, readyReplicas,
   availableReplicas, updatedReplicas and observedGeneration.

Deterministic and driven from tests: :meth:`ClusterActor.step` does one full pass (each phase reads
fresh state); :meth:`ClusterActor.start` runs passes in a background thread. Pass a
:class:`ManualClock` and ``advance()`` it to control start-up delays without sleeping.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs
from kubernetes.utils import quantity

from . import client

logger = logging.getLogger(__name__)

DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
NEVER_READY = "e2e.burstscaler.io/never-ready"
_HASH_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


@attrs.define
class ManualClock:
    """A clock that moves only when told to."""

    now: float = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@attrs.define(kw_only=True)
class ClusterActor:
    """Controllers, scheduler and kubelet in one loop (see the module docstring)."""

    api: client.RestClient
    startup_delay: dict[str, float] = attrs.field(factory=lambda: {"ecs": 0.0, "virtual": 0.0})
    clock: Callable[[], float] = time.monotonic
    interval: float = 0.05
    errors: list[Exception] = attrs.field(factory=list, init=False)

    _bound_at: dict[str, float] = attrs.field(factory=dict, init=False)
    _created: dict[str, int] = attrs.field(factory=dict, init=False)
    _lock: threading.RLock = attrs.field(factory=threading.RLock, init=False)
    _thread: threading.Thread | None = attrs.field(default=None, init=False)
    _stopping: threading.Event = attrs.field(factory=threading.Event, init=False)

    # -- driving -----------------------------------------------------------------------------

    def step(self) -> None:
        """One full pass: controllers, scheduler, kubelet, then workload statuses."""
        with self._lock:
            self._run_deployments()
            self._run_replicasets()
            self._run_statefulsets()
            self._schedule()
            self._run_kubelet()
            self._write_statuses()

    def start(self) -> ClusterActor:
        """Run `step()` every `interval` seconds in a daemon thread until `stop()`."""
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="cluster-actor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.step()
            except Exception as e:  # a race with another writer: the next pass sees fresh state
                logger.debug("cluster actor pass failed: %r", e)
                self.errors.append(e)
                del self.errors[:-100]
            self._stopping.wait(self.interval)

    # -- controllers -------------------------------------------------------------------------

    def _run_deployments(self) -> None:
        replicasets = self.api.list("ReplicaSet")
        for deploy in self.api.list("Deployment"):
            meta, spec = deploy["metadata"], deploy["spec"]
            if meta.get("deletionTimestamp"):
                continue
            template_hash = _template_hash(spec["template"])
            owned = [rs for rs in replicasets if _controller_uid(rs) == meta["uid"]]
            current = next(
                (rs for rs in owned if rs["metadata"]["labels"].get("pod-template-hash") == template_hash), None
            )
            if current is None:
                self.api.create(_replicaset_for(deploy, template_hash))
            elif current["spec"].get("replicas") != spec.get("replicas", 1):
                self.api.patch(
                    "ReplicaSet",
                    current["metadata"]["name"],
                    {"spec": {"replicas": spec.get("replicas", 1)}},
                    namespace=meta["namespace"],
                )
            for old in owned:
                if old is current:
                    continue
                if old["spec"].get("replicas"):
                    self.api.patch(
                        "ReplicaSet", old["metadata"]["name"], {"spec": {"replicas": 0}}, namespace=meta["namespace"]
                    )
                elif not old.get("status", {}).get("replicas"):
                    self._delete("ReplicaSet", old)

    def _run_replicasets(self) -> None:
        pods = self.api.list("Pod")
        for rs in self.api.list("ReplicaSet"):
            if rs["metadata"].get("deletionTimestamp"):
                continue
            owned = [
                pod
                for pod in pods
                if _controller_uid(pod) == rs["metadata"]["uid"] and not pod["metadata"].get("deletionTimestamp")
            ]
            missing = rs["spec"].get("replicas", 1) - len(owned)
            for _ in range(missing):
                self._create_pod(rs, generate_name=f"{rs['metadata']['name']}-")
            for pod in sorted(owned, key=self._deletion_rank)[: max(-missing, 0)]:
                self._delete("Pod", pod)

    def _run_statefulsets(self) -> None:
        pods = self.api.list("Pod")
        for sts in self.api.list("StatefulSet"):
            meta = sts["metadata"]
            if meta.get("deletionTimestamp"):
                continue
            owned = {pod["metadata"]["name"]: pod for pod in pods if _controller_uid(pod) == meta["uid"]}
            replicas = sts["spec"].get("replicas", 1)
            for ordinal in range(replicas):
                if f"{meta['name']}-{ordinal}" not in owned:
                    self._create_pod(sts, name=f"{meta['name']}-{ordinal}")
            extra = [pod for name, pod in owned.items() if _ordinal(name) >= replicas]
            for pod in sorted(extra, key=lambda pod: -_ordinal(pod["metadata"]["name"])):
                self._delete("Pod", pod)

    def _create_pod(self, owner: dict[str, Any], *, name: str | None = None, generate_name: str | None = None) -> None:
        template = owner["spec"]["template"]
        meta: dict[str, Any] = {
            "namespace": owner["metadata"]["namespace"],
            "labels": dict(template.get("metadata", {}).get("labels") or {}),
            "ownerReferences": [_owner_reference(owner)],
        }
        if template.get("metadata", {}).get("annotations"):
            meta["annotations"] = dict(template["metadata"]["annotations"])
        if name is not None:
            meta["name"] = name
            meta["labels"]["statefulset.kubernetes.io/pod-name"] = name
            meta["labels"]["apps.kubernetes.io/pod-index"] = str(_ordinal(name))
        else:
            meta["generateName"] = generate_name
        pod = self.api.create(
            {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": dict(template.get("spec") or {})}
        )
        self._created[pod["metadata"]["uid"]] = len(self._created)

    def _deletion_rank(self, pod: dict[str, Any]) -> tuple[Any, ...]:
        # kube-controller-manager's ActivePodsWithRanks, minus the co-location rank.
        status = pod.get("status", {})
        cost = int((pod["metadata"].get("annotations") or {}).get(DELETION_COST, "0"))
        created = _epoch(pod["metadata"]["creationTimestamp"])
        return (
            bool(pod["spec"].get("nodeName")),  # unscheduled first
            _PHASE_RANK.get(status.get("phase", "Pending"), 0),  # Pending, Unknown, then Running
            _is_ready(pod),  # not-ready first
            cost,  # cheaper first
            -created,  # newer first
            -self._created.get(pod["metadata"]["uid"], 0),
        )

    # -- scheduler ---------------------------------------------------------------------------

    def _schedule(self) -> None:
        nodes = sorted(self.api.list("Node"), key=lambda node: (_is_virtual(node), node["metadata"]["name"]))
        pods = self.api.list("Pod")
        used: dict[str, dict[str, Decimal]] = {node["metadata"]["name"]: _zero() for node in nodes}
        for pod in pods:
            node_name = pod["spec"].get("nodeName")
            if node_name in used and pod.get("status", {}).get("phase") not in ("Succeeded", "Failed"):
                _add(used[node_name], _requests(pod))
        pending = [
            pod for pod in pods if not pod["spec"].get("nodeName") and not pod["metadata"].get("deletionTimestamp")
        ]
        pending.sort(
            key=lambda pod: (_epoch(pod["metadata"]["creationTimestamp"]), self._created.get(pod["metadata"]["uid"], 0))
        )
        for pod in pending:
            reasons: dict[str, int] = {}
            for node in nodes:
                reason = _misfit(pod, node, used[node["metadata"]["name"]])
                if reason is None:
                    self._bind(pod, node)
                    _add(used[node["metadata"]["name"]], _requests(pod))
                    break
                reasons[reason] = reasons.get(reason, 0) + 1
            else:
                self._mark_unschedulable(pod, len(nodes), reasons)

    def _bind(self, pod: dict[str, Any], node: dict[str, Any]) -> None:
        meta = pod["metadata"]
        path = self.api.path("Pod", namespace=meta["namespace"], name=meta["name"], subresource="binding")
        body = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": meta["name"]},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node["metadata"]["name"]},
        }
        self.api.request("POST", path, body=body)
        self._bound_at[meta["uid"]] = self.clock()
        conditions = [_condition("PodScheduled", "True")]
        self.api.patch(
            "Pod",
            meta["name"],
            {"status": {"conditions": conditions, "hostIP": _ip(node["metadata"]["name"])}},
            namespace=meta["namespace"],
            subresource="status",
        )

    def _mark_unschedulable(self, pod: dict[str, Any], total: int, reasons: dict[str, int]) -> None:
        details = ", ".join(f"{count} {reason}" for reason, count in sorted(reasons.items()))
        message = f"0/{total} nodes are available: {details}." if total else "no nodes available to schedule pods"
        condition = _condition("PodScheduled", "False", reason="Unschedulable", message=message)
        current = next(
            (c for c in pod.get("status", {}).get("conditions") or [] if c.get("type") == "PodScheduled"), None
        )
        if current is not None and all(current.get(key) == condition[key] for key in ("status", "reason", "message")):
            return
        meta = pod["metadata"]
        self.api.patch(
            "Pod",
            meta["name"],
            {"status": {"conditions": [condition]}},
            namespace=meta["namespace"],
            subresource="status",
        )

    # -- kubelet -----------------------------------------------------------------------------

    def _run_kubelet(self) -> None:
        nodes = {node["metadata"]["name"]: node for node in self.api.list("Node")}
        for pod in self.api.list("Pod"):
            meta, status = pod["metadata"], pod.get("status", {})
            node = nodes.get(pod["spec"].get("nodeName") or "")
            if node is None or status.get("phase") not in (None, "Pending") or meta.get("deletionTimestamp"):
                continue
            bound_at = self._bound_at.setdefault(meta["uid"], self.clock())  # bound by someone else
            if self.clock() - bound_at < self.startup_delay.get("virtual" if _is_virtual(node) else "ecs", 0.0):
                continue
            ready = "False" if (meta.get("annotations") or {}).get(NEVER_READY) == "true" else "True"
            containers = pod["spec"].get("containers") or []
            running = {
                "phase": "Running",
                "podIP": _ip(meta["uid"]),
                "startTime": _now(),
                "conditions": [
                    _condition("PodScheduled", "True"),
                    _condition("Initialized", "True"),
                    _condition("ContainersReady", ready),
                    _condition("Ready", ready),
                ],
                "containerStatuses": [
                    {
                        "name": c["name"],
                        "image": c.get("image", ""),
                        "ready": ready == "True",
                        "started": True,
                        "restartCount": 0,
                        "state": {"running": {"startedAt": _now()}},
                    }
                    for c in containers
                ],
            }
            self.api.patch("Pod", meta["name"], {"status": running}, namespace=meta["namespace"], subresource="status")

    # -- workload status ---------------------------------------------------------------------

    def _write_statuses(self) -> None:
        pods = [pod for pod in self.api.list("Pod") if not pod["metadata"].get("deletionTimestamp")]
        by_owner: dict[str, list[dict[str, Any]]] = {}
        for pod in pods:
            by_owner.setdefault(_controller_uid(pod) or "", []).append(pod)
        replicasets = self.api.list("ReplicaSet")
        for rs in replicasets:
            owned = by_owner.get(rs["metadata"]["uid"], [])
            self._write_status("ReplicaSet", rs, {**_counts(owned), "fullyLabeledReplicas": len(owned)})
        for deploy in self.api.list("Deployment"):
            uid = deploy["metadata"]["uid"]
            template_hash = _template_hash(deploy["spec"]["template"])
            owned, updated = [], []
            for rs in replicasets:
                if _controller_uid(rs) == uid:
                    owned += by_owner.get(rs["metadata"]["uid"], [])
                    if rs["metadata"]["labels"].get("pod-template-hash") == template_hash:
                        updated += by_owner.get(rs["metadata"]["uid"], [])
            counts = _counts(owned)
            desired = deploy["spec"].get("replicas", 1)
            available = "True" if counts["availableReplicas"] >= desired else "False"
            self._write_status(
                "Deployment",
                deploy,
                {
                    **counts,
                    "updatedReplicas": len(updated),
                    "unavailableReplicas": max(desired - counts["availableReplicas"], 0),
                    "conditions": [
                        {
                            "type": "Available",
                            "status": available,
                            "reason": "MinimumReplicasAvailable"
                            if available == "True"
                            else "MinimumReplicasUnavailable",
                        }
                    ],
                },
            )
        for sts in self.api.list("StatefulSet"):
            counts = _counts(by_owner.get(sts["metadata"]["uid"], []))
            self._write_status(
                "StatefulSet",
                sts,
                {**counts, "currentReplicas": counts["replicas"], "updatedReplicas": counts["replicas"]},
            )

    def _write_status(self, kind: str, obj: dict[str, Any], status: dict[str, Any]) -> None:
        status = {**status, "observedGeneration": obj["metadata"].get("generation", 1)}
        current = obj.get("status") or {}
        if all(current.get(key) == value for key, value in status.items()):
            return
        meta = obj["metadata"]
        self.api.patch(kind, meta["name"], {"status": status}, namespace=meta["namespace"], subresource="status")

    def _delete(self, kind: str, obj: dict[str, Any]) -> None:
        try:
            self.api.delete(kind, obj["metadata"]["name"], namespace=obj["metadata"].get("namespace"))
        except client.ApiFailure as e:
            if e.status != 404:  # already gone: the garbage collector was faster
                raise


# -- pure helpers ------------------------------------------------------------------------------


def _misfit(pod: dict[str, Any], node: dict[str, Any], used: dict[str, Decimal]) -> str | None:
    """Why `pod` does not fit on `node` (kube-scheduler's wording), or None if it fits."""
    spec, node_spec = pod["spec"], node.get("spec", {})
    labels = node["metadata"].get("labels") or {}
    if node_spec.get("unschedulable"):
        return "node(s) were unschedulable"
    selector = spec.get("nodeSelector") or {}
    if any(labels.get(key) != value for key, value in selector.items()) or not _affinity_ok(spec, labels):
        return "node(s) didn't match Pod's node affinity/selector"
    for taint in node_spec.get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not _tolerated(taint, spec.get("tolerations") or []):
            return f"node(s) had untolerated taint {{{taint['key']}: {taint.get('value', '')}}}"
    if _is_virtual(node):
        return None  # the virtual node is bottomless
    allocatable = node.get("status", {}).get("allocatable") or {}
    wanted = _requests(pod)
    for resource, message in (
        ("cpu", "Insufficient cpu"),
        ("memory", "Insufficient memory"),
        ("pods", "Too many pods"),
    ):
        limit = quantity.parse_quantity(allocatable.get(resource, "0"))
        if used[resource] + wanted[resource] > limit:
            return message
    return None


def _affinity_ok(spec: dict[str, Any], labels: dict[str, str]) -> bool:
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    )
    if not required:
        return True
    for term in required.get("nodeSelectorTerms") or []:  # terms are ORed, expressions ANDed
        if all(_expression_ok(expression, labels) for expression in term.get("matchExpressions") or []):
            return True
    return False


def _expression_ok(expression: dict[str, Any], labels: dict[str, str]) -> bool:
    key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
    if operator == "In":
        return labels.get(key) in values
    if operator == "NotIn":
        return labels.get(key) not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    return False


def _tolerated(taint: dict[str, Any], tolerations: list[dict[str, Any]]) -> bool:
    for toleration in tolerations:
        if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
            continue
        if toleration.get("operator") == "Exists":
            if not toleration.get("key") or toleration["key"] == taint["key"]:
                return True
        elif toleration.get("key") == taint["key"] and toleration.get("value", "") == taint.get("value", ""):
            return True
    return False


def _requests(pod: dict[str, Any]) -> dict[str, Decimal]:
    total = _zero()
    total["pods"] = Decimal(1)
    for container in pod["spec"].get("containers") or []:
        resources = container.get("resources") or {}
        for resource in ("cpu", "memory"):
            value = (resources.get("requests") or {}).get(resource) or (resources.get("limits") or {}).get(resource)
            if value is not None:
                total[resource] += quantity.parse_quantity(value)
    return total


def _zero() -> dict[str, Decimal]:
    return {"cpu": Decimal(0), "memory": Decimal(0), "pods": Decimal(0)}


def _add(total: dict[str, Decimal], more: dict[str, Decimal]) -> None:
    for key, value in more.items():
        total[key] += value


def _is_virtual(node: dict[str, Any]) -> bool:
    return (node["metadata"].get("labels") or {}).get("type") == "virtual-kubelet"


def _is_ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _counts(pods: list[dict[str, Any]]) -> dict[str, int]:
    ready = sum(1 for pod in pods if _is_ready(pod))
    return {"replicas": len(pods), "readyReplicas": ready, "availableReplicas": ready}


def _controller_uid(obj: dict[str, Any]) -> str | None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return str(ref["uid"])
    return None


def _owner_reference(owner: dict[str, Any]) -> dict[str, Any]:
    meta = owner["metadata"]
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _replicaset_for(deploy: dict[str, Any], template_hash: str) -> dict[str, Any]:
    meta, spec = deploy["metadata"], deploy["spec"]
    template = json.loads(json.dumps(spec["template"]))
    template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = template_hash
    selector = json.loads(json.dumps(spec["selector"]))
    selector.setdefault("matchLabels", {})["pod-template-hash"] = template_hash
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{meta['name']}-{template_hash}",
            "namespace": meta["namespace"],
            "labels": dict(template["metadata"]["labels"]),
            "ownerReferences": [_owner_reference(deploy)],
        },
        "spec": {"replicas": spec.get("replicas", 1), "selector": selector, "template": template},
    }


def _template_hash(template: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    return "".join(_HASH_ALPHABET[byte % len(_HASH_ALPHABET)] for byte in digest[:10])


def _ordinal(name: str) -> int:
    suffix = name.rsplit("-", 1)[-1]
    return int(suffix) if suffix.isdigit() else -1


def _condition(kind: str, status: str, *, reason: str | None = None, message: str | None = None) -> dict[str, Any]:
    condition = {"type": kind, "status": status, "lastTransitionTime": _now()}
    if reason:
        condition["reason"] = reason
    if message:
        condition["message"] = message
    return condition


def _ip(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return f"10.{digest[0]}.{digest[1]}.{digest[2] or 1}"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _epoch(timestamp: str) -> int:
    return calendar.timegm(time.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ"))
