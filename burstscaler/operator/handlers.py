"""Kopf handlers: indices of the cluster, one timer per BurstPolicy, and the hand-back on deletion.

Handlers stay short: indices turn watch events into compact records (``cluster.objects``); the
per-policy timer asks the shared ``Ticker`` for this tick's outcome, applies the policy's slice through
``cluster.apply`` and writes ``patch.status``; everything else is in ``planner`` and ``status``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import logging
import time
from collections.abc import Mapping
from typing import Any

import kopf

from burstscaler.api import spec as api
from burstscaler.cluster import apply, kube, objects, placeholders, twin
from burstscaler.core import cost
from burstscaler.operator import config as operator_config
from burstscaler.operator import conflicts, planner, relist, spot_step, status, ticker
from burstscaler.operator import metrics as operator_metrics
from burstscaler.operator.status_writer import StatusWriter

logger = logging.getLogger(__name__)
GROUP, VERSION, PLURAL = api.API_GROUP, api.API_VERSION, api.PLURAL
HANDBACK_ANNOTATION = "burstscaler.io/handback-base-target"


@dataclasses.dataclass
class Runtime:
    """What handlers share (kept in Kopf's memo)."""

    config: operator_config.OperatorConfig
    ticker: ticker.Ticker
    workloads: kube.Workloads | None
    metrics: operator_metrics.Metrics
    status_writer: StatusWriter | None = None  # None: status through Kopf's patch (no API)
    last_reasons: dict[planner.Key, str] = dataclasses.field(default_factory=dict)
    last_bridges: dict[planner.Key, status.Bridge] = dataclasses.field(default_factory=dict)
    exported: dict[tuple[str, ...], float] = dataclasses.field(default_factory=dict)
    # Index entries of objects deleted while a watch was gone (410 Expired), hidden from the tick.
    liveness: relist.Liveness = dataclasses.field(default_factory=relist.Liveness)


def register(registry: kopf.OperatorRegistry, runtime: Runtime) -> None:
    """Register every handler in `registry`, with the runtime's tick interval."""
    config = runtime.config

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        return kopf.login_via_client(**kwargs)

    @kopf.on.startup(registry=registry)
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        # Handler progress in annotations: the status schema is strict and holds only what we write.
        settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="burstscaler.io")
        settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix="burstscaler.io")
        settings.persistence.finalizer = "burstscaler.io/finalizer"
        # We post our own Events when decisions change; of Kopf's log lines, only errors become Events.
        settings.posting.level = logging.ERROR
        settings.peering.name = config.peering_name
        settings.peering.standalone = config.standalone
        # With peering on, a replica waits to see the peering object before acting: never two leaders.
        settings.peering.mandatory = not config.standalone
        settings.peering.priority = config.priority
        settings.peering.clusterwide = not config.namespaces
        settings.watching.server_timeout = 300
        settings.networking.request_timeout = 60

    @kopf.on.cleanup(registry=registry)
    async def stop_writing(**_: Any) -> None:
        # A few seconds for statuses already decided; what is left, the next leader writes.
        if runtime.status_writer is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(runtime.status_writer.drain(), timeout=5)
            await runtime.status_writer.close()

    # After a 410 Expired relist, drop what was deleted during the gap (one LIST per relist).
    relist.register(
        registry,
        runtime.liveness,
        lister=None
        if runtime.workloads is None
        else lambda: relist.ApiLister(kube.default_client(), namespaces=config.namespaces),
    )

    @kopf.index("nodes", id="burstscaler_nodes", registry=registry)
    def burstscaler_nodes(name: str, body: kopf.Body, **_: Any) -> dict[str, objects.NodeRecord]:
        runtime.liveness.seen("nodes", name, body)
        return {name: objects.node_record(body, virtual_labels=config.virtual_node_labels)}

    @kopf.index("pods", id="burstscaler_pods", registry=registry)
    def burstscaler_pods(namespace: str | None, name: str, body: kopf.Body, **_: Any) -> dict[tuple[str, str], Any]:
        runtime.liveness.seen("pods", (str(namespace), name), body)
        return {(str(namespace), name): objects.pod_record(body)}

    @kopf.index("deployments", id="burstscaler_deployments", registry=registry)
    def burstscaler_deployments(namespace: str | None, name: str, body: kopf.Body, **_: Any) -> dict[Any, Any]:
        runtime.liveness.seen("deployments", (str(namespace), "Deployment", name), body)
        return {(str(namespace), "Deployment", name): _workload(body, kind="Deployment")}

    @kopf.index("statefulsets", id="burstscaler_statefulsets", registry=registry)
    def burstscaler_statefulsets(namespace: str | None, name: str, body: kopf.Body, **_: Any) -> dict[Any, Any]:
        runtime.liveness.seen("statefulsets", (str(namespace), "StatefulSet", name), body)
        return {(str(namespace), "StatefulSet", name): _workload(body, kind="StatefulSet")}

    @kopf.index("services", id="burstscaler_services", registry=registry)
    def burstscaler_services(namespace: str | None, name: str, spec: kopf.Spec, **_: Any) -> dict[Any, Any]:
        selector = dict(spec.get("selector") or {})
        service = planner.Service(str(namespace), name, str(spec.get("type", "ClusterIP")), selector)
        return {(str(namespace), name): service}

    # Other autoscalers of a target (a Conflict): HPAs, and KEDA's ScaledObjects where KEDA is installed
    # (Kopf serves an index only for resources the cluster has, so no KEDA means an empty index).
    @kopf.index("horizontalpodautoscalers", id="burstscaler_hpas", registry=registry)
    def burstscaler_hpas(namespace: str | None, name: str, spec: kopf.Spec, **_: Any) -> dict[Any, Any]:
        found = conflicts.autoscaler_of(
            kind="HorizontalPodAutoscaler", namespace=str(namespace), name=name, spec=dict(spec)
        )
        return {(str(namespace), name): found} if found is not None else {}

    @kopf.index("keda.sh", "v1alpha1", "scaledobjects", id="burstscaler_scaledobjects", registry=registry)
    def burstscaler_scaledobjects(namespace: str | None, name: str, spec: kopf.Spec, **_: Any) -> dict[Any, Any]:
        found = conflicts.autoscaler_of(kind="ScaledObject", namespace=str(namespace), name=name, spec=dict(spec))
        return {(str(namespace), name): found} if found is not None else {}

    @kopf.index(GROUP, VERSION, PLURAL, id="burstscaler_policies", registry=registry)
    def burstscaler_policies(namespace: str | None, name: str, body: kopf.Body, **_: Any) -> dict[Any, Any]:
        return {(str(namespace), name): {"metadata": dict(body.metadata), "spec": dict(body.spec)}}

    @kopf.timer(GROUP, VERSION, PLURAL, id="tick", interval=config.tick_seconds, registry=registry)
    async def tick(namespace: str | None, name: str, body: kopf.Body, patch: kopf.Patch, **kwargs: Any) -> None:
        # Kopf passes every index as a keyword argument named by its id.
        def collect() -> planner.TickInputs:
            live = runtime.liveness.live
            workloads = {
                **live("deployments", _first(kwargs["burstscaler_deployments"])),
                **live("statefulsets", _first(kwargs["burstscaler_statefulsets"])),
            }
            return planner.TickInputs(
                policies=_first(kwargs["burstscaler_policies"]),
                workloads=workloads,
                nodes=list(live("nodes", _first(kwargs["burstscaler_nodes"])).values()),
                pods=list(live("pods", _first(kwargs["burstscaler_pods"])).values()),
                services=list(_first(kwargs["burstscaler_services"]).values()),
                autoscalers=[
                    *_first(kwargs["burstscaler_hpas"]).values(),
                    *_first(kwargs["burstscaler_scaledobjects"]).values(),
                ],
            )

        key = (str(namespace), name)
        now = time.time()
        _restore_ledger(runtime, key, body.status, now=now)
        outcomes = await runtime.ticker.outcomes(now=now, collect=collect)
        outcome = outcomes.get(key)
        if outcome is None:
            return  # the policy appeared after this tick's plan: the next tick includes it
        await _act(runtime, outcome, policy_uid=str(body.metadata.uid or ""))
        block = _status_block(runtime, outcome, body=body, now=now)
        _write_status(runtime, key, block, current=body.status, patch=patch)

    @kopf.on.delete(GROUP, VERSION, PLURAL, id="hand_back", registry=registry)
    async def hand_back(
        namespace: str | None,
        name: str,
        spec: kopf.Spec,
        meta: kopf.Meta,
        body: kopf.Body,
        started: datetime.datetime,
        **_: Any,
    ) -> None:
        runtime.metrics.forget(str(namespace), name)
        runtime.last_reasons.pop((str(namespace), name), None)
        runtime.last_bridges.pop((str(namespace), name), None)
        if runtime.status_writer is not None:
            runtime.status_writer.forget((str(namespace), name))
        if runtime.workloads is None or runtime.config.dry_run or spec.get("dryRun"):
            return
        target = spec.get("targetRef") or {}
        timeout = float((spec.get("drainBack") or {}).get("readyTimeoutSeconds", 300))
        gave_up = await asyncio.to_thread(
            _hand_back,
            runtime.workloads,
            kind=str(target.get("kind", "Deployment")),
            namespace=str(namespace),
            base_name=str(target.get("name", "")),
            policy_name=name,
            policy_uid=str(meta.get("uid") or ""),
            waited=(datetime.datetime.now(datetime.UTC) - _aware(started)).total_seconds(),
            timeout=timeout,
        )
        if gave_up is not None:
            kopf.event(body, type="Warning", reason="HandBackTimedOut", message=gave_up)


def _first(index: kopf.Index[Any, Any]) -> dict[Any, Any]:
    # Every key of our indices holds exactly one value (keys are object identities).
    return {key: next(iter(store)) for key, store in index.items() if store}


def _workload(body: kopf.Body, *, kind: str) -> planner.Workload:
    metadata, spec_, status_ = body.metadata, body.spec, body.status
    return planner.Workload(
        namespace=str(metadata.namespace),
        kind=kind,
        name=str(metadata.name),
        replicas=int(spec_.get("replicas", 1) if spec_.get("replicas") is not None else 1),
        ready=int(status_.get("readyReplicas") or 0),
        labels=dict(metadata.labels),
        annotations=dict(metadata.annotations),
        selector=dict(spec_.get("selector") or {}),
        template=dict(spec_.get("template") or {}),
        body={"apiVersion": "apps/v1", "kind": kind, "metadata": dict(metadata), "spec": dict(spec_)},
        generation=metadata.get("generation"),
    )


async def _act(runtime: Runtime, outcome: planner.Outcome, *, policy_uid: str) -> None:
    """Apply the policy's slice, unless it was not planned, or is paused or in dry-run."""
    spec_ = outcome.spec
    if not outcome.planned or spec_ is None or outcome.base is None or runtime.workloads is None:
        return
    if spec_.paused or spec_.dry_run or runtime.config.dry_run:
        return
    base = outcome.base
    twin_body = None
    policy_body = {
        "apiVersion": f"{api.API_GROUP}/{api.API_VERSION}",
        "kind": api.KIND,
        "metadata": {"name": outcome.name, "uid": policy_uid},
    }
    if outcome.eci_compatible and spec_.burst.enabled:
        twin_body = twin.render(
            base.body,
            policy=policy_body,
            provider=spec_.burst.provider,
            pod_template_patch=spec_.burst.pod_template_patch.as_template(),
            replicas=outcome.burst_target,
            **spot_step.render_kwargs(outcome),  # spot annotations, or none while falling back
        )
    targets = apply.Targets(
        kind=base.kind,
        namespace=base.namespace,
        base_name=base.name,
        base_current=base.replicas,
        base_target=outcome.base_target,
        twin_name=twin.twin_name(base.name),
        twin_current=outcome.twin.replicas if outcome.twin is not None else None,
        twin_target=outcome.burst_target,
        twin_body=twin_body,
        twin_stale=outcome.twin_stale,
        twin_owners=_twin_owners(outcome, twin_body=twin_body, policy=policy_body),
        drain_record=outcome.drain.to_annotation() if outcome.drain is not None else None,
        drain_recorded=apply.DRAIN_ANNOTATION in base.annotations,
        drain_in_flight=outcome.drain_in_flight > 0,
        **_placeholder_targets(runtime, outcome, policy_body=policy_body),
    )
    planned = apply.actions(targets)
    if not planned:
        runtime.ticker.planner.confirm(outcome.key, outcome.drain, finished=outcome.drain_in_flight == 0)
        return
    logger.info("%s/%s: %s", outcome.namespace, outcome.name, ", ".join(map(str, planned)))
    try:
        await asyncio.to_thread(
            apply.apply, planned, kind=base.kind, namespace=base.namespace, workloads=runtime.workloads
        )
    except kube.KubeError as error:
        runtime.metrics.api_errors.labels(status=str(error.status)).inc()
        raise kopf.TemporaryError(f"applying the plan failed: {error}", delay=runtime.config.tick_seconds) from None
    runtime.ticker.planner.confirm(outcome.key, outcome.drain, finished=outcome.drain_in_flight == 0)


def _twin_owners(
    outcome: planner.Outcome, *, twin_body: Mapping[str, Any] | None, policy: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The merge patch that gives an existing twin the owners and policy-UID label it is rendered with, so a
    deletion of its policy can never collect it before the hand-back; None when it has them already."""
    if outcome.twin is None or twin_body is None or outcome.base is None:
        return None
    if twin.owners_current(outcome.twin.body, policy=policy, base=outcome.base.body):
        return None
    metadata = twin_body["metadata"]
    uid_label = {twin.POLICY_UID_LABEL: metadata["labels"][twin.POLICY_UID_LABEL]}
    return {"metadata": {"labels": uid_label, "ownerReferences": metadata["ownerReferences"]}}


def _placeholder_targets(
    runtime: Runtime, outcome: planner.Outcome, *, policy_body: Mapping[str, Any]
) -> dict[str, Any]:
    """The placeholder part of ``apply.Targets``: none at all where the placeholder's name is not the policy's.

    Rendered only when there is something to create or keep in step: the Deployment is created lazily,
    the first time the plan wants placeholders.
    """
    if outcome.placeholder_refused is not None or outcome.base is None:
        return {}
    existing = outcome.placeholder
    body = None
    if outcome.placeholders > 0 or existing is not None:
        body = placeholders.render(
            outcome.base.body,
            policy=policy_body,
            requests=outcome.replica_requests,
            replicas=outcome.placeholders,
            image=runtime.config.placeholder_image,
        )
    return {
        "placeholder_name": placeholders.placeholder_name(outcome.base.name),
        "placeholder_current": existing.replicas if existing is not None else None,
        "placeholder_target": outcome.placeholders,
        "placeholder_body": body,
        "placeholder_stale": existing is not None
        and body is not None
        and placeholders.is_stale(existing.body, wanted=body),
    }


def _status_block(runtime: Runtime, outcome: planner.Outcome, *, body: kopf.Body, now: float) -> dict[str, Any]:
    """The status to write for this tick; posts the Events of what changed and exports the metrics."""
    previous = dict(body.status)
    # The currency of the prices the cost was counted with: the operator's unless it allows policy prices.
    pricing = outcome.pricing or (outcome.spec.pricing if outcome.spec is not None else None)
    currency = pricing.currency if pricing is not None else "USD"
    block = status.render(outcome, previous=previous, now=now, currency=currency)
    block.update(spot_step.status_fields(outcome))  # spotBurstReplicas
    old_inputs = ((previous.get("lastDecision") or {}).get("inputs")) or {}
    new_decision = block.get("lastDecision")
    if isinstance(new_decision, dict):
        # A merge patch keeps keys it does not mention: null the inputs that are gone.
        new_decision["inputs"] = {**{key: None for key in old_inputs}, **new_decision["inputs"]}
    found = status.events(
        outcome,
        previous_reason=runtime.last_reasons.get(outcome.key),
        previous=previous,
        previous_bridge=runtime.last_bridges.get(outcome.key),
    )
    for event in found:
        kopf.event(body, type=event.type, reason=event.reason, message=event.message)
    if outcome.reason != runtime.last_reasons.get(outcome.key):
        runtime.metrics.decisions.labels(reason=outcome.reason).inc()
    runtime.last_reasons[outcome.key] = outcome.reason
    runtime.last_bridges[outcome.key] = status.bridge_of(outcome)
    _export(runtime, outcome, currency=currency)
    return block


def _write_status(
    runtime: Runtime, key: planner.Key, block: dict[str, Any], *, current: Mapping[str, Any], patch: kopf.Patch
) -> None:
    """Hand the status to the writer (see ``status_writer``): the tick never waits for the API server.

    Not through Kopf's patch: a timer whose patch fails for good ends for good (see ``kube.Policies``).
    """
    if runtime.status_writer is None:
        for field, value in block.items():
            patch.status[field] = value
        return
    runtime.status_writer.submit(key, block, current=current)


def _export(runtime: Runtime, outcome: planner.Outcome, *, currency: str) -> None:
    metrics = runtime.metrics
    labels = (outcome.namespace, outcome.name)
    recommendation = outcome.recommendation
    if recommendation is not None and recommendation.metrics_condition is not None:
        available = recommendation.metrics_condition.status == "True"
        metrics.metrics_available.labels(*labels).set(1 if available else 0)
        if not available:
            metrics.metric_errors.labels(*labels, recommendation.metrics_condition.reason).inc()
    if not outcome.planned:
        return
    metrics.desired.labels(*labels).set(outcome.desired)
    metrics.base.labels(*labels).set(outcome.base_target)
    metrics.burst.labels(*labels).set(outcome.burst_target)
    metrics.ready.labels(*labels, "base").set(outcome.ready_base)
    metrics.ready.labels(*labels, "burst").set(outcome.ready_burst)
    metrics.unplaceable.labels(*labels).set(outcome.unplaceable)
    metrics.budget_limited.labels(*labels).set(1 if outcome.decision.get("burst_reason") == "budget" else 0)
    metrics.drain_in_flight.labels(*labels).set(outcome.drain_in_flight)
    metrics.placeholders.labels(*labels).set(outcome.placeholders)
    metrics.set_burst_degraded(*labels, counts=outcome.twin_health.counts() if outcome.twin_health else {})
    if outcome.moves_completed:
        metrics.drain_back_moves.labels(*labels).inc(outcome.moves_completed)
    ledger = outcome.ledger
    if ledger is not None:
        # Counters only go up: export the ledger's growth since this process last exported it.
        for name, counter, total in (
            ("vcpu", metrics.burst_vcpu_seconds.labels(*labels), ledger.eci_vcpu_seconds),
            ("gib", metrics.burst_gib_seconds.labels(*labels), ledger.eci_gib_seconds),
            ("cost", metrics.burst_cost.labels(*labels, currency), ledger.eci_cost),
            ("savings", metrics.drain_back_savings.labels(*labels, currency), ledger.drain_back_savings),
        ):
            exported = runtime.exported.get((*labels, name), 0.0)
            if total > exported:
                counter.inc(total - exported)
                runtime.exported[(*labels, name)] = total


def _restore_ledger(runtime: Runtime, key: planner.Key, body_status: Mapping[str, Any], *, now: float) -> None:
    cost_block = body_status.get("cost") if body_status else None
    if not cost_block or key in runtime.ticker.planner.memory:
        return
    since = objects.timestamp(cost_block.get("since")) or now
    last = objects.timestamp((body_status.get("lastDecision") or {}).get("time")) or now
    try:
        ledger = cost.CostLedger(
            since=since,
            last=last,
            eci_vcpu_seconds=float(cost_block.get("eciVCPUSeconds", 0)),
            eci_gib_seconds=float(cost_block.get("eciGiBSeconds", 0)),
            eci_cost=float(cost_block.get("eciCost", 0)),
            drain_back_savings=float(cost_block.get("drainBackSavings", 0)),
        )
    except (TypeError, ValueError):
        return  # an unreadable status starts a fresh ledger
    runtime.ticker.planner.restore_ledger(key, ledger)
    # What the status holds was exported by the previous process: counting it again would double it.
    # (A fresh process's counters start at zero; Prometheus' increase() handles that reset.)
    namespace, name = key
    for series, total in (
        ("vcpu", ledger.eci_vcpu_seconds),
        ("gib", ledger.eci_gib_seconds),
        ("cost", ledger.eci_cost),
        ("savings", ledger.drain_back_savings),
    ):
        runtime.exported[(namespace, name, series)] = total


def _aware(moment: datetime.datetime) -> datetime.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def _hand_back(
    workloads: kube.Workloads,
    *,
    kind: str,
    namespace: str,
    base_name: str,
    policy_name: str,
    policy_uid: str,
    waited: float,
    timeout: float,
) -> str | None:
    """Deleting a policy: the base takes over the twin's replicas, Ready first, then the twin scales to 0
    and is left to its policy alone, so the garbage collector removes it with the policy.

    Runs in the policy's finalizer, under every propagation policy: the twin's second owner (its base,
    ``twin.owner_references``) keeps the collector from taking it first. Only the policy's own twin is
    touched: its controlling owner reference carries the policy's UID, or (after a Foreground or Orphan
    deletion dropped that reference) ``twin.left_by`` recognises what the operator wrote; anything else
    named `<base>-burst` is someone else's and is left as it is. The operator never deletes (no delete
    right). Idempotent across retries and restarts: the base's target is recorded on the twin before the
    base is scaled. If the base's new pods are not Ready within `timeout`, the twin is orphaned (kept
    running, no longer owned) so serving capacity never drops; the message saying so is returned (the
    handler posts it as a Warning Event), else None.
    """
    twin_name = twin.twin_name(base_name)
    twin_obj = workloads.read(kind, namespace, twin_name)
    if twin_obj is None:
        return None
    base = workloads.read(kind, namespace, base_name)
    base_uid = str(((base or {}).get("metadata") or {}).get("uid") or "")
    if not (twin.owned_by(twin_obj, uid=policy_uid) or twin.left_by(twin_obj, uid=policy_uid, base_uid=base_uid)):
        logger.info("%s/%s is not owned by the deleted policy: left as it is", namespace, twin_name)
        return None
    policy = {
        "apiVersion": f"{api.API_GROUP}/{api.API_VERSION}",
        "kind": api.KIND,
        "metadata": {"name": policy_name, "uid": policy_uid},
    }
    twin_replicas = int((twin_obj.get("spec") or {}).get("replicas") or 0)
    if base is None or twin_replicas == 0:
        _leave_to_policy(workloads, twin_obj, kind=kind, namespace=namespace, policy=policy)
        return None  # nothing to hand back: the garbage collector removes the twin with the policy
    annotations = (twin_obj.get("metadata") or {}).get("annotations") or {}
    goal = _recorded_goal(annotations.get(HANDBACK_ANNOTATION))
    if goal is None:
        goal = int((base.get("spec") or {}).get("replicas") or 0) + twin_replicas
        workloads.patch(kind, namespace, twin_name, {"metadata": {"annotations": {HANDBACK_ANNOTATION: str(goal)}}})
    if int((base.get("spec") or {}).get("replicas") or 0) < goal:
        workloads.scale(kind, namespace, base_name, goal)
    ready = int((base.get("status") or {}).get("readyReplicas") or 0)
    if ready >= goal:
        workloads.scale(kind, namespace, twin_name, 0)
        _leave_to_policy(workloads, twin_obj, kind=kind, namespace=namespace, policy=policy)
        return None
    if waited >= timeout:
        why = f"base {base_name} had only {ready}/{goal} Ready pods after {waited:.0f}s"
        workloads.orphan(kind, namespace, twin_name, why=why)
        logger.warning("%s/%s: %s; twin orphaned, not deleted", namespace, twin_name, why)
        return f"hand-back gave up: {why}; twin {twin_name} keeps its {twin_replicas} replicas, no longer owned"
    raise kopf.TemporaryError(f"waiting for {goal} Ready replicas of {base_name} (now {ready})", delay=5)


def _leave_to_policy(
    workloads: kube.Workloads, twin_obj: Mapping[str, Any], *, kind: str, namespace: str, policy: Mapping[str, Any]
) -> None:
    """Make the deleted policy the twin's only owner (the base's reference would keep it alive)."""
    wanted = twin.sole_owner(policy)
    metadata = twin_obj.get("metadata") or {}
    if list(metadata.get("ownerReferences") or []) != wanted["metadata"]["ownerReferences"]:
        workloads.patch(kind, namespace, str(metadata.get("name", "")), wanted)


def _recorded_goal(value: Any) -> int | None:
    """The hand-back goal recorded on the twin; None when absent or unreadable (then it is recomputed,
    rather than raising on every retry and blocking the policy's deletion for good)."""
    try:
        goal = int(str(value))
    except (TypeError, ValueError):
        if value is not None:
            logger.warning("ignoring unreadable %s annotation: %r", HANDBACK_ANNOTATION, value)
        return None
    return goal if goal >= 0 else None
