"""The cluster actor: kube-controller-manager, kube-scheduler and kubelet for an emulated API.

Nothing runs pods behind an API emulator, so this plays the parts the way kwok does, through the
API only (it never touches the emulator's memory), and independently of ``burstscaler.core`` (the
tests must not check the core against itself). Every duration is on the actor's ``clock`` (a
:class:`ManualClock` in tests: ``advance()`` it instead of sleeping).

1. **Node lifecycle controller**: a node whose ``Ready`` condition is ``False`` gets the
   ``node.kubernetes.io/not-ready`` taints (NoSchedule and NoExecute), ``Unknown`` the
   ``node.kubernetes.io/unreachable`` ones; its pods are marked not Ready; each is evicted
   (deleted through the API) once it has been on the tainted node for its toleration's
   ``tolerationSeconds`` (the emulator's admission gives every pod 300 s, as the
   DefaultTolerationSeconds plugin does; a pod without a toleration goes at once, one tolerating
   without seconds stays). A node without any ``Ready`` condition is left alone. The taints go
   when the node is Ready again. Pods bound to a node that no longer exists are force-deleted
   (the pod garbage collector, without its 40 s quarantine).
2. **Deployment controller** (:mod:`.rollout`): one ReplicaSet ``<name>-<hash>`` per pod template
   (owned by the Deployment, labelled ``pod-template-hash``, annotated with the
   ``desired-replicas``/``max-replicas`` the controller sized it for); scaling events, RollingUpdate
   with maxSurge/maxUnavailable (25%/25% by default) and Recreate; old ReplicaSets kept up to
   ``revisionHistoryLimit`` (10).
3. **ReplicaSet controller**: creates pods from the template (``generateName``, owned by the
   ReplicaSet); terminating pods do not count, so replacements come at once; scaling in deletes
   in the upstream victim order (:mod:`.ranking`).
4. **StatefulSet controller**: pods ``<name>-<ordinal>``. ``OrderedReady`` (the default): ordinal
   n is created only when 0..n-1 are Running and Ready; scale-in deletes the highest ordinal, one
   at a time, each only once the previous is gone. ``Parallel``: all at once. A name held by a
   terminating pod is re-created only once that pod is gone.
5. **Scheduler** (:mod:`.binding`: the kube-scheduler model decides): pending pods that have been
   queued for ``scheduling_delay``, in the scheduling queue's order, each bound (``pods/binding``)
   where the model places it (terminating pods hold their room until gone; a virtual node is an
   ordinary node with a large allocatable), or its victims evicted for preemption, or marked
   ``PodScheduled=False``, reason ``Unschedulable``, with kube-scheduler's message.
6. **Kubelet** (of Ready nodes only: a NotReady node's kubelet is gone): a bound pod turns Running
   and Ready once ``startup_delay[kind]`` seconds have passed since binding (``kind`` is
   ``"virtual"`` or ``"ecs"``); a pod annotated ``e2e.burstscaler.io/never-ready: "true"`` runs but
   never becomes Ready. A pod being deleted (``deletionTimestamp``, set by the emulator's graceful
   deletion) turns not Ready at once and is removed (``DELETE`` with grace 0) after its grace
   period: ``termination_seconds`` if set (a process that exits promptly on SIGTERM), else the
   ``deletionGracePeriodSeconds`` the API server recorded (the pod's
   ``terminationGracePeriodSeconds``, 30 s by default).
7. **Status**: ReplicaSets, Deployments and StatefulSets get replicas, readyReplicas,
   availableReplicas (Ready for ``minReadySeconds``), updatedReplicas and observedGeneration;
   Deployments also ``unavailableReplicas`` and the ``Available`` condition (available >= replicas -
   maxUnavailable), as upstream. Terminating pods are not counted.
8. **Node autoscaler** (optional, :mod:`.autoscaler`): after the other phases, one
   cluster-autoscaler pass: a node group grown from a template for pods that stay Pending and
   shrunk by its empty nodes.

Not modelled: Services' Endpoints/EndpointSlices (the operator reads Services only, never their
endpoints, so a terminating pod's removal from them is not observable here), DaemonSets, Jobs.

Deterministic and driven from tests: :meth:`ClusterActor.step` does one full pass (each phase reads
fresh state); :meth:`ClusterActor.start` runs passes in a background thread. The actor's requests
carry the User-Agent :data:`.faults.ACTOR_AGENT`, so faults armed for the operator never hit it.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import attrs

from . import autoscaler, binding, client, faults, ranking, rollout, spot

logger = logging.getLogger(__name__)

DELETION_COST = ranking.DELETION_COST
NEVER_READY = "e2e.burstscaler.io/never-ready"
DESIRED_ANNOTATION = "deployment.kubernetes.io/desired-replicas"
MAX_ANNOTATION = "deployment.kubernetes.io/max-replicas"
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
DEFAULT_GRACE_SECONDS = 30.0
_LIFECYCLE_TAINTS = (NOT_READY_TAINT, UNREACHABLE_TAINT)
_HASH_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_TERMINAL = ("Succeeded", "Failed")


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
    """Controllers, scheduler and kubelet in one loop (see the module docstring).

    `termination_seconds`: when set, every pod being deleted is removed after that many seconds
    instead of its own grace period (its containers exit promptly on SIGTERM). `node_autoscaler`:
    when set, it runs at the end of every pass (:mod:`.autoscaler`: nodes added for pods that stay
    Pending, empty ones removed). `scheduling_delay`: a pod is considered by the scheduler only once
    it has waited that long (kube-scheduler's queueing latency, seconds under load), so observers see
    pods that exist but are not bound yet.
    """

    api: client.RestClient
    startup_delay: dict[str, float] = attrs.field(factory=lambda: {"ecs": 0.0, "virtual": 0.0})
    clock: Callable[[], float] = time.monotonic
    interval: float = 0.05
    termination_seconds: float | None = None
    node_autoscaler: autoscaler.NodeAutoscaler | None = None
    scheduling_delay: float = 0.0
    spot_rules: spot.SpotRules | None = None  # the virtual node refusing or releasing spot pods (harness/spot.py)
    errors: list[Exception] = attrs.field(factory=list, init=False)

    _bound_at: dict[str, float] = attrs.field(factory=dict, init=False)
    _queued_at: dict[str, float] = attrs.field(factory=dict, init=False)
    _ready_at: dict[str, float] = attrs.field(factory=dict, init=False)
    _terminating_at: dict[str, float] = attrs.field(factory=dict, init=False)
    _tainted_at: dict[tuple[str, str], float] = attrs.field(factory=dict, init=False)
    _created: dict[str, int] = attrs.field(factory=dict, init=False)
    _lock: threading.RLock = attrs.field(factory=threading.RLock, init=False)
    _thread: threading.Thread | None = attrs.field(default=None, init=False)
    _stopping: threading.Event = attrs.field(factory=threading.Event, init=False)

    def __attrs_post_init__(self) -> None:
        # Identify as the actor: faults armed for the operator (the default) must not catch us.
        self.api.session.headers["User-Agent"] = faults.ACTOR_AGENT

    # -- driving -----------------------------------------------------------------------------

    def step(self) -> None:
        """One full pass: node lifecycle, controllers, scheduler, kubelet, then workload statuses."""
        with self._lock:
            nodes = self._run_node_lifecycle()
            self._run_deployments()
            self._run_replicasets()
            self._run_statefulsets()
            pods = self._schedule(nodes)  # the scheduler's listing, with its own bindings applied
            self._run_kubelet(nodes, pods)
            self._write_statuses()
            if self.node_autoscaler is not None:
                self.node_autoscaler.run(self.api, now=self.clock(), nodes=nodes, pods=pods, order=self._created)

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

    # -- node lifecycle ----------------------------------------------------------------------

    def _run_node_lifecycle(self) -> list[dict[str, Any]]:
        """Taint NotReady nodes and evict their pods; returns the nodes as they are now."""
        troubled: dict[str, dict[str, Any]] = {}
        nodes = self.api.list("Node")
        patched = False
        for node in nodes:
            name = node["metadata"]["name"]
            wanted = _lifecycle_taint_key(node)
            taints = list(node.get("spec", {}).get("taints") or [])
            kept = [t for t in taints if t.get("key") not in _LIFECYCLE_TAINTS]
            current = [t for t in taints if t.get("key") in _LIFECYCLE_TAINTS]
            if wanted is None:
                for key in _LIFECYCLE_TAINTS:
                    self._tainted_at.pop((name, key), None)
                if current:
                    self.api.patch("Node", name, {"spec": {"taints": kept or None}}, namespace=None)
                    patched = True
                continue
            self._tainted_at.setdefault((name, wanted), self.clock())
            added = next((t.get("timeAdded") for t in current if t.get("key") == wanted), None) or _now()
            desired = [
                {"key": wanted, "effect": "NoSchedule"},
                {"key": wanted, "effect": "NoExecute", "timeAdded": added},
            ]
            if current != desired:
                self.api.patch("Node", name, {"spec": {"taints": kept + desired}}, namespace=None)
                patched = True
            troubled[name] = node
        if patched:
            nodes = self.api.list("Node")
        if not troubled:
            return nodes
        for pod in self.api.list("Pod"):
            node_name = pod["spec"].get("nodeName") or ""
            if node_name not in troubled:
                continue
            taint_key = _lifecycle_taint_key(troubled[node_name])
            assert taint_key is not None
            if _is_ready(pod):
                self._set_ready(pod, False)
            if pod["metadata"].get("deletionTimestamp"):
                continue
            tolerated = _toleration_seconds(pod, taint_key)
            if tolerated is not None and self.clock() - self._tainted_at[(node_name, taint_key)] >= tolerated:
                self._delete("Pod", pod)
        return nodes

    # -- controllers -------------------------------------------------------------------------

    def _run_deployments(self) -> None:
        deployments = self.api.list("Deployment")
        if not deployments:
            return
        replicasets = self.api.list("ReplicaSet")
        pods = self.api.list("Pod") if any(_strategy(d)[0] == "Recreate" for d in deployments) else []
        for deploy in deployments:
            if not deploy["metadata"].get("deletionTimestamp"):
                self._sync_deployment(deploy, replicasets, pods)

    def _sync_deployment(
        self, deploy: dict[str, Any], replicasets: list[dict[str, Any]], pods: list[dict[str, Any]]
    ) -> None:
        meta, spec = deploy["metadata"], deploy["spec"]
        replicas = spec.get("replicas", 1)
        template_hash = _template_hash(spec["template"])
        owned = sorted((rs for rs in replicasets if _controller_uid(rs) == meta["uid"]), key=self._order)
        by_name = {rs["metadata"]["name"]: rs for rs in owned}
        new_rs = next((rs for rs in owned if rs["metadata"]["labels"].get("pod-template-hash") == template_hash), None)
        sets = {rs["metadata"]["name"]: _set_of(rs, order=index) for index, rs in enumerate(owned)}
        new = None if new_rs is None else sets[new_rs["metadata"]["name"]]
        old = [s for name, s in sets.items() if new is None or name != new.name]
        kind, max_surge, max_unavailable = _strategy(deploy)
        surge, unavailable = (0, 0)
        if kind == "RollingUpdate":
            surge, unavailable = rollout.fenceposts(
                max_surge=max_surge, max_unavailable=max_unavailable, replicas=replicas
            )
        if kind == "Recreate":
            old_uids = {rs["metadata"]["uid"] for rs in owned if rs is not new_rs}
            old_pods = sum(1 for pod in pods if _controller_uid(pod) in old_uids and _phase(pod) not in _TERMINAL)
            changes = rollout.recreate(new=new, old=old, old_pods=old_pods, replicas=replicas)
        elif rollout.is_scaling_event(list(sets.values()), replicas=replicas):
            changes = rollout.scale(
                new=new, old=old, replicas=replicas, surge=surge, new_saturated=self._saturated(new, replicas)
            )
        elif new is None:
            changes = {"": rollout.new_replicas(new=None, all_sets=old, replicas=replicas, surge=surge)}
        else:
            changes = rollout.roll(new=new, old=old, replicas=replicas, surge=surge, unavailable=unavailable)
        sized = {DESIRED_ANNOTATION: str(replicas), MAX_ANNOTATION: str(replicas + surge)}
        if "" in changes:
            created = self.api.create(_replicaset_for(deploy, template_hash, changes.pop(""), sized))
            self._created[created["metadata"]["uid"]] = len(self._created)
        for name, size in changes.items():
            self._resize(by_name[name], size, sized)
        for name, s in sets.items():  # a scaling event handled: every active set is sized for now
            if name not in changes and s.replicas > 0 and s.desired != replicas:
                self._resize(by_name[name], s.replicas, sized)
        self._clean_history(deploy, [rs for rs in owned if rs is not new_rs and rs["metadata"]["name"] not in changes])

    def _saturated(self, new: rollout.Set | None, replicas: int) -> bool:
        return new is not None and new.replicas == replicas and new.desired == replicas and new.available >= replicas

    def _resize(self, rs: dict[str, Any], size: int, annotations: dict[str, str]) -> None:
        meta = rs["metadata"]
        self.api.patch(
            "ReplicaSet",
            meta["name"],
            {"metadata": {"annotations": annotations}, "spec": {"replicas": size}},
            namespace=meta["namespace"],
        )

    def _clean_history(self, deploy: dict[str, Any], old: list[dict[str, Any]]) -> None:
        limit = deploy["spec"].get("revisionHistoryLimit", 10)
        empty = [rs for rs in old if not rs["spec"].get("replicas") and not (rs.get("status") or {}).get("replicas")]
        for rs in empty[: max(len(empty) - limit, 0)]:  # the oldest first
            self._delete("ReplicaSet", rs)

    def _order(self, obj: dict[str, Any]) -> tuple[int, int]:
        """Creation order: the API's timestamp (whole seconds), then the actor's own counter."""
        meta = obj["metadata"]
        return (_epoch(meta["creationTimestamp"]), self._created.get(meta["uid"], -1))

    def _run_replicasets(self) -> None:
        replicasets = self.api.list("ReplicaSet")
        if not replicasets:
            return
        pods = self.api.list("Pod")
        family = {rs["metadata"]["uid"]: _controller_uid(rs) or rs["metadata"]["uid"] for rs in replicasets}
        colocated: dict[tuple[str, str], int] = {}  # (family, node) -> active pods
        for pod in pods:
            owner = family.get(_controller_uid(pod) or "")
            if owner is not None and _active(pod) and pod["spec"].get("nodeName"):
                key = (owner, pod["spec"]["nodeName"])
                colocated[key] = colocated.get(key, 0) + 1
        for rs in replicasets:
            uid = rs["metadata"]["uid"]
            if rs["metadata"].get("deletionTimestamp"):
                continue
            owned = [pod for pod in pods if _controller_uid(pod) == uid and _active(pod)]
            missing = rs["spec"].get("replicas", 1) - len(owned)
            for _ in range(missing):
                self._create_pod(rs, generate_name=f"{rs['metadata']['name']}-")
            if missing < 0:
                candidates = {pod["metadata"]["uid"]: pod for pod in owned}
                ranked = [self._candidate(pod, colocated, family[uid]) for pod in owned]
                for victim in ranking.victims(ranked, -missing, now=self.clock()):
                    self._delete("Pod", candidates[victim.uid])

    def _candidate(self, pod: dict[str, Any], colocated: dict[tuple[str, str], int], family: str) -> ranking.Candidate:
        meta, status = pod["metadata"], pod.get("status") or {}
        uid, node = meta["uid"], pod["spec"].get("nodeName")
        restarts = [s.get("restartCount", 0) for s in status.get("containerStatuses") or []]
        ready = _is_ready(pod)
        return ranking.Candidate(
            name=meta["name"],
            uid=uid,
            assigned=bool(node),
            phase=status.get("phase", "Pending"),
            ready=ready,
            cost=int((meta.get("annotations") or {}).get(DELETION_COST, "0")),
            colocated=colocated.get((family, node), 0) if node else 0,
            ready_since=self._ready_at.get(uid) if ready else None,
            restarts=max(restarts, default=0),
            created=_epoch(meta["creationTimestamp"]),
            order=self._created.get(uid, 0),
        )

    def _run_statefulsets(self) -> None:
        statefulsets = self.api.list("StatefulSet")
        if not statefulsets:
            return
        pods = self.api.list("Pod")
        for sts in statefulsets:
            if not sts["metadata"].get("deletionTimestamp"):
                self._sync_statefulset(sts, pods)

    def _sync_statefulset(self, sts: dict[str, Any], pods: list[dict[str, Any]]) -> None:
        meta = sts["metadata"]
        ordered = sts["spec"].get("podManagementPolicy", "OrderedReady") == "OrderedReady"
        owned = {
            _ordinal(pod["metadata"]["name"]): pod
            for pod in pods
            if _controller_uid(pod) == meta["uid"] and _phase(pod) not in _TERMINAL
        }
        replicas = sts["spec"].get("replicas", 1)
        for ordinal in range(replicas):
            pod = owned.get(ordinal)
            if pod is None:
                self._create_pod(sts, name=f"{meta['name']}-{ordinal}")
                if ordered:
                    return  # wait for it to be Running and Ready
            elif ordered and (pod["metadata"].get("deletionTimestamp") or not _running_and_ready(pod)):
                return
        condemned = sorted((o for o in owned if o >= replicas), reverse=True)
        unhealthy = [o for o in sorted(owned) if not _running_and_ready(owned[o])]
        first_unhealthy = unhealthy[0] if unhealthy else None
        for ordinal in condemned:
            pod = owned[ordinal]
            if pod["metadata"].get("deletionTimestamp"):
                if ordered:
                    return  # one at a time: wait until it is gone
                continue
            if ordered and not _running_and_ready(pod) and ordinal != first_unhealthy:
                return
            self._delete("Pod", pod)
            if ordered:
                return

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

    # -- scheduler ---------------------------------------------------------------------------

    def _schedule(self, nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Bind what the scheduler model places; returns the pods, as bound now."""
        pods = self.api.list("Pod")
        waiting = binding.pending(pods, order=self._created)
        now = self.clock()
        queued = {pod["metadata"]["uid"] for pod in waiting}
        self._queued_at = {uid: t for uid, t in self._queued_at.items() if uid in queued}
        for pod in waiting:
            self._queued_at.setdefault(pod["metadata"]["uid"], now)
        waiting = [pod for pod in waiting if now - self._queued_at[pod["metadata"]["uid"]] >= self.scheduling_delay]
        if not waiting:
            return pods
        namespaces = self.api.list("Namespace") if binding.needs_namespaces(pods) else []
        cluster = binding.mirror(nodes, pods, namespaces)
        by_key = {f"{pod['metadata']['namespace']}/{pod['metadata']['name']}": pod for pod in pods}
        for outcome in binding.place(cluster, waiting, by_key):
            if outcome.node is not None:
                self._bind(outcome.pod, outcome.node)
                outcome.pod["spec"]["nodeName"] = outcome.node  # as the kubelet's watch would see it
                continue
            for victim in outcome.victims:  # DefaultPreemption: evicted through the API, gracefully
                self._delete("Pod", victim)
            message = outcome.message or (
                f"0/{len(nodes)} nodes are available." if nodes else "no nodes available to schedule pods"
            )
            self._mark_unschedulable(outcome.pod, message, nominated=outcome.nominated)
        return pods

    def _bind(self, pod: dict[str, Any], node_name: str) -> None:
        meta = pod["metadata"]
        path = self.api.path("Pod", namespace=meta["namespace"], name=meta["name"], subresource="binding")
        body = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": meta["name"]},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node_name},
        }
        self.api.request("POST", path, body=body)
        self._bound_at[meta["uid"]] = self.clock()
        conditions = [_condition("PodScheduled", "True")]
        self.api.patch(
            "Pod",
            meta["name"],
            {"status": {"conditions": conditions, "hostIP": _ip(node_name)}},
            namespace=meta["namespace"],
            subresource="status",
        )

    def _mark_unschedulable(self, pod: dict[str, Any], message: str, *, nominated: str | None = None) -> None:
        condition = _condition("PodScheduled", "False", reason="Unschedulable", message=message)
        status = pod.get("status") or {}
        current = next((c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"), None)
        same = current is not None and all(
            current.get(key) == condition[key] for key in ("status", "reason", "message")
        )
        if same and status.get("nominatedNodeName") == nominated:
            return
        meta = pod["metadata"]
        self.api.patch(
            "Pod",
            meta["name"],
            {"status": {"conditions": [condition], "nominatedNodeName": nominated}},
            namespace=meta["namespace"],
            subresource="status",
        )

    # -- kubelet -----------------------------------------------------------------------------

    def _run_kubelet(self, node_list: list[dict[str, Any]], pods: list[dict[str, Any]]) -> None:
        nodes = {node["metadata"]["name"]: node for node in node_list}
        for pod in pods:
            meta, status = pod["metadata"], pod.get("status", {})
            node_name = pod["spec"].get("nodeName")
            if not node_name:
                continue
            node = nodes.get(node_name)
            if node is None:  # the pod garbage collector: the node is gone, so is its pod
                self._delete("Pod", pod, gracePeriodSeconds=0)
                continue
            if _lifecycle_taint_key(node) is not None:
                continue  # a NotReady node's kubelet does nothing
            if meta.get("deletionTimestamp"):
                self._terminate(pod)
                continue
            spot_rules = self.spot_rules
            if spot_rules is not None and spot_rules.intercept(
                self.api, pod, virtual=_is_virtual(node), now=self.clock()
            ):
                continue  # refused, announced or released by the virtual node's spot rules
            if status.get("phase") not in (None, "Pending"):
                continue
            bound_at = self._bound_at.setdefault(meta["uid"], self.clock())  # bound by someone else
            if self.clock() - bound_at < self.startup_delay.get("virtual" if _is_virtual(node) else "ecs", 0.0):
                continue
            self._start(pod)

    def _start(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        ready = "False" if (meta.get("annotations") or {}).get(NEVER_READY) == "true" else "True"
        if ready == "True":
            self._ready_at[meta["uid"]] = self.clock()
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
                for c in pod["spec"].get("containers") or []
            ],
        }
        self.api.patch("Pod", meta["name"], {"status": running}, namespace=meta["namespace"], subresource="status")

    def _terminate(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        started = self._terminating_at.setdefault(meta["uid"], self.clock())
        if _is_ready(pod):
            self._set_ready(pod, False)
        grace = self.termination_seconds
        if grace is None:
            grace = float(meta.get("deletionGracePeriodSeconds", DEFAULT_GRACE_SECONDS))
        if self.clock() - started >= grace:
            self._delete("Pod", pod, gracePeriodSeconds=0)

    def _set_ready(self, pod: dict[str, Any], ready: bool) -> None:
        meta = pod["metadata"]
        value = "True" if ready else "False"
        conditions = [
            c
            for c in pod.get("status", {}).get("conditions") or []
            if c.get("type") not in ("Ready", "ContainersReady")
        ]
        conditions += [_condition("ContainersReady", value), _condition("Ready", value)]
        statuses = [{**s, "ready": ready} for s in pod.get("status", {}).get("containerStatuses") or []]
        if not ready:
            self._ready_at.pop(meta["uid"], None)
        self.api.patch(
            "Pod",
            meta["name"],
            {"status": {"conditions": conditions, "containerStatuses": statuses}},
            namespace=meta["namespace"],
            subresource="status",
        )

    # -- workload status ---------------------------------------------------------------------

    def _write_statuses(self) -> None:
        replicasets = self.api.list("ReplicaSet")
        deployments = self.api.list("Deployment")
        statefulsets = self.api.list("StatefulSet")
        if not (replicasets or deployments or statefulsets):
            return
        by_owner: dict[str, list[dict[str, Any]]] = {}
        for pod in self.api.list("Pod"):
            if _active(pod):
                by_owner.setdefault(_controller_uid(pod) or "", []).append(pod)
        for rs in replicasets:
            owned = by_owner.get(rs["metadata"]["uid"], [])
            counts = self._counts(owned, min_ready_seconds=rs["spec"].get("minReadySeconds", 0))
            self._write_status("ReplicaSet", rs, {**counts, "fullyLabeledReplicas": len(owned)})
        for deploy in deployments:
            self._write_status("Deployment", deploy, self._deployment_status(deploy, replicasets, by_owner))
        for sts in statefulsets:
            counts = self._counts(by_owner.get(sts["metadata"]["uid"], []), min_ready_seconds=0)
            self._write_status(
                "StatefulSet",
                sts,
                {**counts, "currentReplicas": counts["replicas"], "updatedReplicas": counts["replicas"]},
            )

    def _deployment_status(
        self, deploy: dict[str, Any], replicasets: list[dict[str, Any]], by_owner: dict[str, list[dict[str, Any]]]
    ) -> dict[str, Any]:
        uid = deploy["metadata"]["uid"]
        template_hash = _template_hash(deploy["spec"]["template"])
        owned, updated, spec_total = [], [], 0
        for rs in replicasets:
            if _controller_uid(rs) == uid:
                pods = by_owner.get(rs["metadata"]["uid"], [])
                owned += pods
                spec_total += rs["spec"].get("replicas", 1)
                if rs["metadata"]["labels"].get("pod-template-hash") == template_hash:
                    updated += pods
        counts = self._counts(owned, min_ready_seconds=deploy["spec"].get("minReadySeconds", 0))
        desired = deploy["spec"].get("replicas", 1)
        kind, max_surge, max_unavailable = _strategy(deploy)
        unavailable = 0
        if kind == "RollingUpdate" and desired:
            surge_and_unavailable = rollout.fenceposts(
                max_surge=max_surge, max_unavailable=max_unavailable, replicas=desired
            )
            unavailable = min(surge_and_unavailable[1], desired)
        available = "True" if counts["availableReplicas"] >= desired - unavailable else "False"
        return {
            **counts,
            "updatedReplicas": len(updated),
            "unavailableReplicas": max(spec_total - counts["availableReplicas"], 0),
            "conditions": [
                {
                    "type": "Available",
                    "status": available,
                    "reason": "MinimumReplicasAvailable" if available == "True" else "MinimumReplicasUnavailable",
                }
            ],
        }

    def _counts(self, pods: list[dict[str, Any]], *, min_ready_seconds: float) -> dict[str, int]:
        ready = [pod for pod in pods if _is_ready(pod)]
        now = self.clock()
        available = sum(
            1 for pod in ready if now - self._ready_at.get(pod["metadata"]["uid"], now) >= min_ready_seconds
        )
        return {"replicas": len(pods), "readyReplicas": len(ready), "availableReplicas": available}

    def _write_status(self, kind: str, obj: dict[str, Any], status: dict[str, Any]) -> None:
        status = {**status, "observedGeneration": obj["metadata"].get("generation", 1)}
        current = obj.get("status") or {}
        if all(current.get(key) == value for key, value in status.items()):
            return
        meta = obj["metadata"]
        self.api.patch(kind, meta["name"], {"status": status}, namespace=meta["namespace"], subresource="status")

    def _delete(self, kind: str, obj: dict[str, Any], **options: Any) -> None:
        try:
            self.api.delete(kind, obj["metadata"]["name"], namespace=obj["metadata"].get("namespace"), **options)
        except client.ApiFailure as e:
            if e.status != 404:  # already gone: the garbage collector was faster
                raise


# -- pure helpers ------------------------------------------------------------------------------


def _tolerates(toleration: dict[str, Any], taint: dict[str, Any]) -> bool:
    """``Toleration.ToleratesTaint``: effect (empty = all), key (empty with Exists = all), value."""
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("key") and toleration["key"] != taint.get("key"):
        return False
    if toleration.get("operator", "Equal") == "Exists":
        return True
    return bool(toleration.get("key")) and toleration.get("value", "") == taint.get("value", "")


def _toleration_seconds(pod: dict[str, Any], key: str) -> float | None:
    """Seconds `pod` may stay on a node with the NoExecute taint `key`: 0 when untolerated, None for ever."""
    taint = {"key": key, "effect": "NoExecute"}
    matching = [t for t in pod["spec"].get("tolerations") or [] if _tolerates(t, taint)]
    if not matching:
        return 0.0
    if any(t.get("tolerationSeconds") is None for t in matching):
        return None
    return float(max(0, min(t["tolerationSeconds"] for t in matching)))


def _lifecycle_taint_key(node: dict[str, Any]) -> str | None:
    """The node lifecycle taint a node's Ready condition calls for (None: Ready, or no condition)."""
    conditions = (node.get("status") or {}).get("conditions") or []
    ready = next((c for c in conditions if c.get("type") == "Ready"), None)
    if ready is None or ready.get("status") == "True":
        return None
    return NOT_READY_TAINT if ready.get("status") == "False" else UNREACHABLE_TAINT


def _set_of(rs: dict[str, Any], *, order: int) -> rollout.Set:
    annotations = rs["metadata"].get("annotations") or {}
    return rollout.Set(
        name=rs["metadata"]["name"],
        order=order,
        replicas=rs["spec"].get("replicas", 1),
        available=(rs.get("status") or {}).get("availableReplicas", 0),
        desired=_int_or_none(annotations.get(DESIRED_ANNOTATION)),
        max_replicas=_int_or_none(annotations.get(MAX_ANNOTATION)),
    )


def _strategy(deploy: dict[str, Any]) -> tuple[str, int | str | None, int | str | None]:
    strategy = deploy["spec"].get("strategy") or {}
    kind = strategy.get("type") or "RollingUpdate"
    rolling = strategy.get("rollingUpdate") or {}
    return kind, rolling.get("maxSurge"), rolling.get("maxUnavailable")


def _phase(pod: dict[str, Any]) -> str:
    return str((pod.get("status") or {}).get("phase") or "Pending")


def _active(pod: dict[str, Any]) -> bool:
    """``FilterActivePods``: not terminal and not being deleted."""
    return not pod["metadata"].get("deletionTimestamp") and _phase(pod) not in _TERMINAL


def _is_virtual(node: dict[str, Any]) -> bool:
    return (node["metadata"].get("labels") or {}).get("type") == "virtual-kubelet"


def _is_ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _running_and_ready(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and _is_ready(pod)


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value is not None and value.lstrip("-").isdigit() else None


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


def _replicaset_for(
    deploy: dict[str, Any], template_hash: str, replicas: int, annotations: dict[str, str]
) -> dict[str, Any]:
    meta, spec = deploy["metadata"], deploy["spec"]
    template = json.loads(json.dumps(spec["template"]))
    template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = template_hash
    selector = json.loads(json.dumps(spec["selector"]))
    selector.setdefault("matchLabels", {})["pod-template-hash"] = template_hash
    rs_spec: dict[str, Any] = {"replicas": replicas, "selector": selector, "template": template}
    if spec.get("minReadySeconds"):
        rs_spec["minReadySeconds"] = spec["minReadySeconds"]
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{meta['name']}-{template_hash}",
            "namespace": meta["namespace"],
            "labels": dict(template["metadata"]["labels"]),
            "annotations": dict(annotations),
            "ownerReferences": [_owner_reference(deploy)],
        },
        "spec": rs_spec,
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
