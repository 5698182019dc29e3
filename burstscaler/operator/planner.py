"""The planning tick: one snapshot of the whole cluster, one call of the core for every policy.

Each tick, in order:
1. validate every BurstPolicy (a bad spec is reported, never planned, never crashes the tick);
2. find each policy's base workload and burst twin; refuse a twin name taken by an object the policy does
   not own, a target another driver already scales (``conflicts``), a patch that does not fit the base;
   lint the rendered twin's template for the virtual node;
3. read every metric of every policy concurrently, off the event loop, and recommend a total per policy;
4. build one snapshot from the indexed nodes and pods (placeholder pods left out: their room is free to
   any workload pod, which preempts them), with each policy's economics (``cluster.economics``: pool
   growth, ECS price, delays, its placeholders), and call ``core.plan`` once for all policies;
5. turn each policy's slice into an ``Outcome``: targets (placeholders included), reasons, conditions'
   inputs, cost.
Kopf-free on purpose: the handlers feed it the indices, so it is tested with plain data.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import itertools
import json
import logging
import math
import operator
from collections.abc import Mapping, Sequence
from typing import Any

from burstscaler.api import spec as api
from burstscaler.api import validation
from burstscaler.cluster import apply, burst_health, economics, objects, placeholders, twin
from burstscaler.cluster import snapshot as cluster_snapshot
from burstscaler.core import (
    compat,
    cost,
    ecispec,
    eligibility,
    fallback,
    forecast,
    pending,
    plan,
    podterms,
    reasons,
    recommend,
    snapshot,
)
from burstscaler.operator import conflicts, podgroups, spot_step, versioned
from burstscaler.sources import metrics as metric_sources

logger = logging.getLogger(__name__)

Key = tuple[str, str]  # (namespace, name)
#: The rendered twin's lint, billed spec and inter-pod terms (the base's as the patch left them).
Rendered = tuple[tuple[compat.Finding, ...], ecispec.EciSpec, podterms.PodConstraints]


@dataclasses.dataclass(frozen=True)
class Workload:
    """What the planner needs of a Deployment or StatefulSet (kept in the operator's index)."""

    namespace: str
    kind: str
    name: str
    replicas: int
    ready: int
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    selector: Mapping[str, Any]
    template: Mapping[str, Any]
    body: Mapping[str, Any]  # the object without status, for rendering the twin
    generation: int | None = None  # metadata.generation: caches of template-derived results key on it

    @property
    def key(self) -> tuple[str, str, str]:
        """(namespace, kind, name)."""
        return (self.namespace, self.kind, self.name)


@dataclasses.dataclass(frozen=True)
class Service:
    """A Service's type and selector (for the NodePort and reaches-burst-pods checks)."""

    namespace: str
    name: str
    type: str
    selector: Mapping[str, str]

    def as_object(self) -> dict[str, Any]:
        """The Service as the shape ``core.compat`` reads."""
        return {
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": {"type": self.type, "selector": dict(self.selector)},
        }


@dataclasses.dataclass(frozen=True)
class ReplicaFacts:
    """One replica of a policy's base as the plan needs it, derived from the template and the spec only."""

    requests: Mapping[str, float]  # the template's effective request, snapshot units
    placement: eligibility.PodPlacement
    constraints: podterms.PodConstraints
    pricing: api.Pricing  # the prices the policy's spend is counted with (``cost.SpendLimits.pricing_for``)
    price: cost.ReplicaPrice  # one burst replica's price (the rendered twin's billed spec)


_READY, _BURST = operator.attrgetter("ready"), operator.attrgetter("burst")
_DELETING, _NODE = operator.attrgetter("deleting"), operator.attrgetter("node_name")


@dataclasses.dataclass(frozen=True)
class BaseSignal:
    """What the recommendation reads of a base workload's pods (cached while its pods are unchanged)."""

    ready: int  # Ready pods without the burst label
    terminating_on_node: bool  # one of them is deleting and still bound: its room is not free yet
    waiting: tuple[pending.PendingPod, ...]  # the unbound and the deleting ones, for ``core.pending``

    @classmethod
    def of(cls, pods: Sequence[objects.PodRecord]) -> BaseSignal:
        """The signal of a workload's pods (every phase; its burst-labelled ones are left out)."""
        # attrgetter maps run in C: a churning cluster recomputes hundreds of workloads each tick.
        base = list(itertools.compress(pods, [not burst for burst in map(_BURST, pods)]))
        deleting = any(map(_DELETING, base))
        unbound = not all(map(_NODE, base))
        return cls(
            ready=sum(map(_READY, base)),
            terminating_on_node=deleting and any(pod.deleting and pod.node_name for pod in base),
            waiting=tuple(objects.pending_pod(pod) for pod in base if not pod.node_name or pod.deleting)
            if deleting or unbound
            else (),
        )


#: Another controller scaling a workload (HPA, KEDA ScaledObject); see ``conflicts``.
Autoscaler = conflicts.Autoscaler


@dataclasses.dataclass(frozen=True)
class TickInputs:
    """Everything one tick reads: the operator's indices as plain collections."""

    policies: Mapping[Key, Mapping[str, Any]]  # BurstPolicy bodies
    workloads: Mapping[tuple[str, str, str], Workload]
    nodes: Sequence[objects.NodeRecord]
    pods: Sequence[objects.PodRecord]
    services: Sequence[Service] = ()
    autoscalers: Sequence[Autoscaler] = ()


@dataclasses.dataclass(frozen=True)
class DrainRecord:
    """A drain-back move in flight, written on the base workload atomically with its scale-up."""

    moves: int
    since: float
    goal: int
    base_from: int
    burst_from: int

    def to_annotation(self) -> str:
        """The record as the annotation's JSON value."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_annotation(cls, value: str | None) -> DrainRecord | None:
        """Parse the annotation; None when absent or unreadable (an unreadable one is ignored, logged)."""
        if not value:
            return None
        try:
            data = json.loads(value)
            return cls(**{field.name: data[field.name] for field in dataclasses.fields(cls)})
        except (ValueError, KeyError, TypeError):
            logger.warning("ignoring unreadable %s annotation: %r", apply.DRAIN_ANNOTATION, value)
            return None


@dataclasses.dataclass
class PolicyMemory:
    """What the operator remembers of one policy between ticks (rebuilt from the cluster on restart)."""

    recommend_state: recommend.State = dataclasses.field(default_factory=recommend.State)
    ledger: cost.CostLedger | None = None
    last_reason: str | None = None
    drain: DrainRecord | None = None  # the move in flight that was *applied* (or found on the base)
    seen: bool = False
    spot: spot_step.Memory = dataclasses.field(default_factory=spot_step.Memory)  # spot's cool-down, surge
    # When a terminating base pod on a node was last seen: its room was freed no earlier, and kube-scheduler
    # retries the Pending pods then, so their unschedulable time counts only from that moment (core.pending).
    room_freed_at: datetime.datetime | None = None


@dataclasses.dataclass(frozen=True)
class Outcome:
    """One policy's result of a tick: what to do and everything status needs to explain it."""

    namespace: str
    name: str
    generation: int | None
    problems: tuple[str, ...] = ()
    spec: api.BurstPolicySpec | None = None
    base: Workload | None = None
    twin: Workload | None = None
    twin_stale: bool = False
    findings: tuple[compat.Finding, ...] = ()
    services_missing: tuple[str, ...] = ()
    recommendation: recommend.Recommendation | None = None
    decision: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    desired: int = 0
    base_target: int = 0
    burst_target: int = 0
    unplaceable: int = 0
    moves_started: int = 0
    moves_completed: int = 0
    drain: DrainRecord | None = None  # set on the tick a drain-back move starts
    drain_in_flight: int = 0
    ready_base: int = 0
    ready_burst: int = 0
    ledger: cost.CostLedger | None = None
    price: cost.ReplicaPrice | None = None
    refused: tuple[str, str] | None = None  # (Ready condition reason, message): the policy must not act
    eci_spec: ecispec.EciSpec | None = None  # what one burst replica is billed for (the rendered twin)
    twin_constraints: podterms.PodConstraints | None = None  # the rendered twin's labels and inter-pod terms
    pricing: api.Pricing | None = None  # the prices its cost is counted with (the operator's, see cost)
    twin_health: burst_health.BurstHealth | None = None  # twin pods not serving and why (None: all Ready)
    spot: spot_step.SpotOutcome | None = None  # the spot step's mode and replacements (spot enabled only)
    placeholder: Workload | None = None  # the policy's own placeholder Deployment, when it exists
    placeholder_refused: str | None = None  # why the policy can have no placeholders (a name taken or invalid)
    placeholders: int = 0  # placeholder pods the plan wants (the bridge)
    placeholder_reason: str = "no-node-growth"
    placeholders_bound: int = 0  # of the placeholder pods that exist, those bound to a node
    replica_requests: Mapping[str, float] = dataclasses.field(default_factory=dict)  # one replica, snapshot units

    @property
    def key(self) -> Key:
        """(namespace, name) of the policy."""
        return (self.namespace, self.name)

    @property
    def planned(self) -> bool:
        """True when the policy was valid, its target found, and the core decided for it."""
        return self.spec is not None and self.base is not None and self.refused is None and bool(self.decision)

    @property
    def eci_compatible(self) -> bool:
        """False when the base's template cannot run on the virtual node."""
        return not compat.incompatible(self.findings)

    @property
    def reason(self) -> str:
        """The headline reason of the decision (or of why there is none)."""
        if self.problems:
            return "invalid-spec"
        if self.refused is not None:
            return _REFUSALS.get(self.refused[0], "refused")
        if self.spec is not None and self.base is None:
            return "target-not-found"
        if self.spec is not None and self.spec.paused:
            return "paused"
        return str(self.decision.get("reason", "steady"))


#: Headline reasons of the refusals (``Outcome.refused``), by their condition reason.
_REFUSALS = {"TwinNameTaken": "twin-name-taken", "Conflict": "conflict", "ServerNotAllowed": "server-not-allowed"}


#: The plan's inputs in namespaced mode: node room counts only the pods of the watched namespaces.
ROOM_ESTIMATED = "estimated: only pods of the watched namespaces are indexed, others' requests are not counted"


class Planner:
    """Runs ticks and keeps each policy's memory and the core's history between them."""

    def __init__(
        self,
        *,
        fetcher: metric_sources.Fetcher | None,
        dry_run: bool = False,
        spend: cost.SpendLimits | None = None,
        bridge: economics.Defaults | None = None,
        room_estimated: bool = False,
    ) -> None:
        self._fetcher = fetcher
        # Namespaced mode (--namespace): pods of other namespaces (kube-system DaemonSets, other teams)
        # are not indexed, so their requests are missing from node room; each decision says so.
        self._room_estimated = room_estimated
        self._dry_run = dry_run
        self._spend = spend or cost.SpendLimits()
        self._bridge = bridge or economics.Defaults(allow_policy_prices=self._spend.allow_policy_prices)
        # Validation and linting depend only on a spec or a template, which change only with their
        # object's generation: at 1,000 policies, redoing them every tick costs most of the tick.
        # One entry per object, holding the version it was computed for: a new version replaces it.
        self._specs: dict[Key, tuple[int, tuple[api.BurstPolicySpec | None, tuple[str, ...]]]] = {}
        self._lints: dict[Key, tuple[tuple[tuple[str, str, str], int, int, str], Rendered]] = {}
        self._hashes: dict[Key, tuple[tuple[tuple[str, str, str], int, int], str]] = {}
        # Likewise one replica's requests, placement, terms and price: per template and spec version.
        self._replicas: versioned.PerPolicy[ReplicaFacts] = versioned.PerPolicy()
        self._patches: versioned.PerPolicy[tuple[dict[str, Any], tuple[str, ...]]] = versioned.PerPolicy()
        self.memory: dict[Key, PolicyMemory] = {}
        self._history: snapshot.History | None = None
        # The pods and nodes as the last snapshot saw them: a tick's build costs what changed since.
        self._snapshot_cache = cluster_snapshot.Cache()
        self._pod_groups = podgroups.PodGroups()
        # Each planned base workload's pod signal, with its pod group's version (podgroups).
        self._base_signals: dict[tuple[str, str, str], tuple[int, BaseSignal]] = {}

    async def tick(self, inputs: TickInputs, *, now: float) -> dict[Key, Outcome]:
        """Decide for every policy in ``inputs`` at ``now`` (seconds since the epoch)."""
        clock = datetime.datetime.fromtimestamp(now, tz=datetime.UTC)
        outcomes: dict[Key, Outcome] = {}
        candidates: list[Outcome] = []
        # Only a valid policy claims its target (validation is cached per generation: this costs nothing).
        valid = {
            key: body
            for key, body in inputs.policies.items()
            if self._validate(key, (body.get("metadata") or {}).get("generation"), body.get("spec"))[0] is not None
        }
        drivers = conflicts.drivers(policies=valid, autoscalers=inputs.autoscalers)
        services: dict[str, list[dict[str, Any]]] = {}  # each namespace's, as compat reads them, once a tick
        for service in inputs.services:
            services.setdefault(service.namespace, []).append(service.as_object())
        for key, body in sorted(inputs.policies.items()):
            outcome = self._prepare(key, body, inputs, drivers=drivers, services_by_namespace=services)
            if outcome.spec is not None and outcome.base is not None and outcome.refused is None:
                candidates.append(outcome)
            outcomes[key] = outcome
        for known in set(self.memory) - set(inputs.policies):
            del self.memory[known]  # the policy is gone
        for gone in set(self._specs) - set(inputs.policies):
            del self._specs[gone]
        for gone in set(self._hashes) - set(inputs.policies):
            del self._hashes[gone]
        for gone in set(self._lints) - set(inputs.policies):
            del self._lints[gone]
        self._replicas.retain(inputs.policies.keys())
        self._patches.retain(inputs.policies.keys())

        active = [o for o in candidates if o.spec is not None and not o.spec.paused]
        # The pods by workload, kept between ticks (only the workloads of changed records regroup).
        self._pod_groups.sync(inputs.pods)
        # Spot (its own step, ``spot_step``): this tick's spot mode, last tick's replacements hidden.
        active = [
            spot_step.prepare(
                o,
                self._pod_groups.get(_twin_key(o)),
                memory=self.memory.setdefault(o.key, PolicyMemory()).spot,
                now=now,
            )
            for o in active
        ]
        recommendations = await self._recommend(active, now=clock)
        planned = self._plan(active, recommendations, inputs, self._pod_groups, now=now)
        outcomes.update({outcome.key: outcome for outcome in planned})
        return outcomes

    # -- step 1 and 2: validate, find the workloads, lint ------------------------------------------

    def _prepare(
        self,
        key: Key,
        body: Mapping[str, Any],
        inputs: TickInputs,
        *,
        drivers: conflicts.Drivers,
        services_by_namespace: Mapping[str, Sequence[Mapping[str, Any]]],
    ) -> Outcome:
        namespace, name = key
        metadata = body.get("metadata") or {}
        generation = metadata.get("generation")
        policy_spec, problems = self._validate(key, generation, body.get("spec"))
        if policy_spec is None:
            return Outcome(namespace, name, generation, problems=problems)
        target = policy_spec.target_ref
        base = inputs.workloads.get((namespace, target.kind, target.name))
        twin_workload = inputs.workloads.get((namespace, target.kind, twin.twin_name(target.name)))
        uid = str(metadata.get("uid") or "")
        # Another autoscaler first: its twin (if any) is rightly not ours.
        other = conflicts.other_driver(drivers, policy=key, target=(namespace, target.kind, target.name))
        if other is not None:
            message = (
                f"{target.kind} {namespace}/{target.name} is already scaled by {other}; a workload must have one "
                "autoscaler: delete one of them (this policy scales nothing meanwhile)"
            )
            return Outcome(namespace, name, generation, spec=policy_spec, refused=("Conflict", message))
        if twin_workload is not None and not twin.owned_by(twin_workload.body, uid=uid):
            # Someone else's object of the twin's name: never adopted, scaled, rewritten or deleted.
            message = (
                f"{target.kind} {namespace}/{twin_workload.name} exists and is not owned by this BurstPolicy; "
                "burstscaler never adopts it: rename or delete it, or target another workload"
            )
            return Outcome(namespace, name, generation, spec=policy_spec, refused=("TwinNameTaken", message))
        server_refusals = [why for metric in policy_spec.metrics if (why := self._server_refusal(metric))]
        if server_refusals:
            refusal = ("ServerNotAllowed", "; ".join(server_refusals))
            return Outcome(namespace, name, generation, spec=policy_spec, refused=refusal)
        if base is None:
            return Outcome(namespace, name, generation, spec=policy_spec, twin=twin_workload)
        patch, patch_problems = self._patch(key, base, generation=generation, spec=policy_spec)
        if patch_problems:
            return Outcome(namespace, name, generation, problems=tuple(patch_problems))
        findings, eci_spec, twin_constraints = self._rendered(
            key, base, generation=generation, provider=policy_spec.burst.provider, patch=patch
        )
        pod_labels = dict((base.template.get("metadata") or {}).get("labels") or {})
        services = services_by_namespace.get(namespace, ())
        findings += tuple(compat.lint_services(services, pod_labels=pod_labels, namespace=namespace))
        rendered_twin_labels = {**pod_labels, twin.TIER_LABEL: "burst"}
        missing = compat.services_missing_pods(services, base_labels=pod_labels, burst_labels=rendered_twin_labels)
        stale = twin_workload is not None and (
            (twin_workload.annotations.get(twin.SOURCE_HASH_ANNOTATION))
            != self._source_hash(base, key=key, generation=generation, spec=policy_spec)
        )
        placeholder, placeholder_refused = _placeholder_of(namespace, target.name, inputs=inputs, uid=uid)
        return Outcome(
            namespace,
            name,
            generation,
            spec=policy_spec,
            base=base,
            twin=twin_workload,
            twin_stale=stale,
            findings=findings,
            services_missing=tuple(missing),
            eci_spec=eci_spec,
            twin_constraints=twin_constraints,
            placeholder=placeholder,
            placeholder_refused=placeholder_refused,
        )

    def _server_refusal(self, metric: api.MetricSpec) -> str | None:
        return self._fetcher.refusal(metric) if self._fetcher is not None else None

    def _validate(
        self, key: Key, generation: int | None, document: Any
    ) -> tuple[api.BurstPolicySpec | None, tuple[str, ...]]:
        entry = self._specs.get(key)
        cached = entry[1] if entry is not None and generation is not None and entry[0] == generation else None
        if cached is None:
            try:
                model, problems = validation.validate_spec(document)
                cached = (model, tuple(str(problem) for problem in problems))
            except Exception as error:  # a validator bug must not stop the tick of every other policy
                logger.error("%s/%s: validating the spec failed: %s: %s", *key, type(error).__name__, error)
                cached = (
                    None,
                    (
                        f"spec: could not be validated ({type(error).__name__}); check the types of its "
                        "fields against the CRD (a quantity written as null, a list or a mapping?)",
                    ),
                )
            if generation is not None:
                self._specs[key] = (generation, cached)
        return cached

    def _rendered(
        self, key: Key, base: Workload, *, generation: int | None, provider: str, patch: Mapping[str, Any]
    ) -> Rendered:
        """The rendered twin's (base template + provider profile + patch) ECI lint and billed spec, cached
        per version: what the virtual node will run is what is linted and priced."""

        def compute() -> Rendered:
            rendered = twin.template(base.body, provider=provider, patch=patch)
            findings = compat.lint_pod_spec(rendered.get("spec") or {}, provider=provider, path="spec.template.spec")
            return tuple(findings), cost.burst_spec(rendered), objects.pod_constraints(rendered)

        if base.generation is None or generation is None:
            return compute()
        version = (base.key, base.generation, generation, provider)
        entry = self._lints.get(key)
        if entry is None or entry[0] != version:
            entry = self._lints[key] = (version, compute())
        return entry[1]

    def _patch(
        self, key: Key, base: Workload, *, generation: int | None, spec: api.BurstPolicySpec
    ) -> tuple[dict[str, Any], tuple[str, ...]]:
        """The spec's pod template patch as a template, and why it cannot apply to `base`'s twin (cached per
        version: the problems read only the base's selector and the spec)."""

        def compute() -> tuple[dict[str, Any], tuple[str, ...]]:
            patch = spec.burst.pod_template_patch.as_template()
            return patch, tuple(twin.patch_problems(base.body, provider=spec.burst.provider, patch=patch))

        known = base.generation is not None and generation is not None
        return self._patches.get(
            key, (base.key, base.generation, generation, spec.burst.provider) if known else None, compute
        )

    def _source_hash(self, base: Workload, *, key: Key, generation: int | None, spec: api.BurstPolicySpec) -> str:
        def compute() -> str:
            patch = spec.burst.pod_template_patch.as_template()
            return twin.source_hash(base.body, provider=spec.burst.provider, patch=patch)

        if base.generation is None or generation is None:
            return compute()
        version = (base.key, base.generation, generation)
        entry = self._hashes.get(key)
        if entry is None or entry[0] != version:
            entry = self._hashes[key] = (version, compute())
        return entry[1]

    # -- step 3: metrics and recommendations -------------------------------------------------------

    async def _recommend(
        self, outcomes: Sequence[Outcome], *, now: datetime.datetime
    ) -> list[recommend.Recommendation]:
        queries: list[metric_sources.MetricQuery] = []
        spans: list[tuple[int, int]] = []
        for outcome in outcomes:
            assert outcome.spec is not None
            start = len(queries)
            queries.extend(
                metric_sources.MetricQuery(
                    policy=f"{outcome.namespace}/{outcome.name}",
                    namespace=outcome.namespace,
                    target=outcome.spec.target_ref,
                    metric=metric,
                )
                for metric in outcome.spec.metrics
            )
            spans.append((start, len(queries)))
        # The forecast's histories (spec.forecast) are read beside the readings, within the same deadline.
        readings, histories = await asyncio.gather(self._read(queries), self._read_histories(outcomes, now=now))
        results = []
        signals, self._base_signals = self._base_signals, {}
        for outcome, (start, end) in zip(outcomes, spans, strict=True):
            assert outcome.spec is not None and outcome.base is not None
            memory = self.memory.setdefault(outcome.key, PolicyMemory())
            twin_replicas = outcome.twin.replicas if outcome.twin is not None else 0
            base_key = outcome.base.key
            version = self._pod_groups.version(base_key)
            signal = signals.get(base_key)
            if signal is None or signal[0] != version:
                signal = (version, BaseSignal.of(self._pod_groups.get(base_key)))
            self._base_signals[base_key] = signal  # kept for the next tick while the workload is planned
            ready = signal[1].ready + sum(map(_READY, self._pod_groups.get(_twin_key(outcome))))
            # Surge replicas of a drain-back move are not extra capacity: they replace burst replicas.
            surge = record.moves if (record := self._in_flight(outcome)) is not None else 0
            request = recommend.Request(
                spec=outcome.spec,
                current=outcome.base.replicas + twin_replicas - surge,
                ready=ready,
                readings=tuple(readings[start:end]),
                pending_pods=_pending_pods(signal[1], memory=memory, now=now),
                state=memory.recommend_state,
                history=histories.get(outcome.key, ()),
                # Burst replicas running: ECS is full for this workload (else drain-back would move them).
                ecs_full=True if twin_replicas > 0 else None,
            )
            recommendation = recommend.recommend(request, now=now)
            memory.recommend_state = recommendation.state
            results.append(recommendation)
        return results

    async def _read_histories(
        self, outcomes: Sequence[Outcome], *, now: datetime.datetime
    ) -> dict[Key, tuple[forecast.Series | None, ...]]:
        """Each forecasting policy's metric histories (None where a read failed or missed the deadline:
        that policy's forecast falls back to reactive, the others' do not)."""
        if self._fetcher is None:
            return {}
        keys: list[Key] = []
        queries: list[metric_sources.HistoryQuery] = []
        for outcome in outcomes:
            assert outcome.spec is not None
            if not outcome.spec.forecast.enabled:
                continue
            for metric in outcome.spec.metrics:
                keys.append(outcome.key)
                query = metric_sources.MetricQuery(
                    policy=f"{outcome.namespace}/{outcome.name}",
                    namespace=outcome.namespace,
                    target=outcome.spec.target_ref,
                    metric=metric,
                )
                lookback = float(outcome.spec.forecast.lookback_seconds)
                queries.append(metric_sources.HistoryQuery(metric=query, now=now.timestamp(), lookback=lookback))
        got = await self._fetcher.fetch_history_all(queries)
        histories: dict[Key, tuple[forecast.Series | None, ...]] = {}
        for key, reading in zip(keys, got, strict=True):
            histories[key] = (*histories.get(key, ()), reading.series)
        return histories

    async def _read(self, queries: Sequence[metric_sources.MetricQuery]) -> list[recommend.Reading]:
        if not queries:
            return []
        if self._fetcher is None:
            failure = fallback.MetricsFailure(
                "PrometheusUnreachable", "no Prometheus configured: start the operator with --prometheus-url"
            )
            return [recommend.Reading(failure=failure) for _ in queries]
        return await self._fetcher.fetch_all(queries)

    # -- step 4 and 5: one plan for all, then each policy's slice ----------------------------------

    def _plan(
        self,
        outcomes: Sequence[Outcome],
        recommendations: Sequence[recommend.Recommendation],
        inputs: TickInputs,
        pods_by_workload: podgroups.PodGroups,
        *,
        now: float,
    ) -> list[Outcome]:
        facts = [self._replica(outcome) for outcome in outcomes]
        compatible = [outcome.eci_compatible for outcome in outcomes]
        specs = [outcome.spec for outcome in outcomes if outcome.spec is not None]
        budgets = cost.namespace_budgets(
            namespaces=[outcome.namespace for outcome in outcomes],
            budgets=[self._spend.budget_per_second(spec.burst.budget) for spec in specs],
            bursting=[spec.burst.enabled and ok for spec, ok in zip(specs, compatible, strict=True)],
            cap_per_hour=self._spend.namespace_cap_per_hour,
        )
        views = []
        for outcome, recommendation, fact, ok, budget in zip(
            outcomes, recommendations, facts, compatible, budgets, strict=True
        ):
            assert outcome.spec is not None and outcome.base is not None
            views.append(
                cluster_snapshot.PolicyView(
                    namespace=outcome.namespace,
                    name=outcome.name,
                    spec=outcome.spec,
                    base_replicas=outcome.base.replicas,
                    twin_replicas=outcome.twin.replicas if outcome.twin is not None else 0,
                    requests=fact.requests,
                    placement=fact.placement,
                    constraints=fact.constraints,
                    twin_constraints=outcome.twin_constraints,
                    recommended=recommendation.replicas,
                    eci_compatible=ok,
                    burst_cost_per_second=spot_step.budget_price(outcome, fact.price),
                    base_unschedulable=recommendation.pending.unplaceable,
                    max_cost_per_second=budget,
                )
            )
        history = self._restore_history(outcomes, views)
        # Placeholder pods are not seen as pods: their room is free to any workload pod (which preempts
        # them), and Pending ones hold none; the economics count them instead.
        ours = self._placeholder_workloads(inputs)
        # (Usually no placeholder pod exists: then the pods go to the snapshot as they came.)
        placeholder_pods = {key: members for key in ours if (members := pods_by_workload.get(key))}
        workload_pods = [pod for pod in inputs.pods if pod.workload not in ours] if placeholder_pods else inputs.pods
        built, pods = cluster_snapshot.build(
            nodes=inputs.nodes,
            pods=workload_pods,
            policies=views,
            history=history,
            now=now,
            cache=self._snapshot_cache,
        )
        resources = built.nodes.resources
        replica_requests = [dict(zip(resources, row.tolist(), strict=True)) for row in built.policies.requests]
        rows = [
            economics.PolicyInputs(
                spec=view.spec,
                requests=replica_request,
                placeholder_pods=placeholder_pods.get(_placeholder_key(view.namespace, view.spec), ()),
                placeholders_allowed=outcome.placeholder_refused is None,
            )
            for outcome, view, replica_request in zip(outcomes, views, replica_requests, strict=True)
        ]
        paid = economics.paid_nodes(built.nodes.names, inputs.nodes, defaults=self._bridge)
        built = dataclasses.replace(
            built,
            nodes=dataclasses.replace(built.nodes, paid=paid),
            economics=economics.build(rows, defaults=self._bridge, now=now),
        )
        result = plan.plan(built, now=now, spread=True)  # kube-scheduler's default profile, replica by replica
        self._history = result.history
        planned = []
        slices = zip(outcomes, recommendations, views, facts, replica_requests, strict=True)
        for row, (outcome, recommendation, view, fact, replica) in enumerate(slices):
            planned.append(
                self._slice(
                    outcome,
                    recommendation,
                    view,
                    fact,
                    pods[row],
                    result,
                    row,
                    now=now,
                    requests=replica,
                    economics_=built.economics,
                )
            )
        # Spot's second half: replacements for pods to be reclaimed, the real twin back, the explanation.
        return [
            spot_step.finish(outcome, view, memory=self.memory.setdefault(outcome.key, PolicyMemory()).spot)
            for outcome, view in zip(planned, views, strict=True)
        ]

    def _placeholder_workloads(self, inputs: TickInputs) -> set[tuple[str, str, str]]:
        """Every valid policy's own placeholder Deployment (paused ones' too: their pods still are ours)."""
        found = set()
        for (namespace, name), body in inputs.policies.items():
            metadata = body.get("metadata") or {}
            policy_spec, _ = self._validate((namespace, name), metadata.get("generation"), body.get("spec"))
            if policy_spec is None:
                continue
            key = _placeholder_key(namespace, policy_spec)
            existing = inputs.workloads.get(key)
            if existing is not None and placeholders.owned_by(existing.body, uid=str(metadata.get("uid") or "")):
                found.add(key)
        return found

    def _restore_history(
        self, outcomes: Sequence[Outcome], views: Sequence[cluster_snapshot.PolicyView]
    ) -> snapshot.History:
        """The previous tick's history, checked against what was really applied.

        The core's history assumes its last plan was applied. A move in flight is kept only when its
        base scale-up is confirmed: applied by this process (``confirm``), or recorded on the base
        workload (the record is written in the same request as the scale-up, so after a restart it is
        the truth). A move whose twin was already lowered has completed; one never applied (a failed
        call, dry-run) is dropped, so an undo can never take away capacity that was never added.
        """
        names = tuple(view.key for view in views)
        history = (self._history or snapshot.History.empty(names)).align(names)
        drain_moves = history.drain_moves.copy()
        drain_since = history.drain_since.copy()
        goal = history.drain_ready_goal.copy()
        for row, outcome in enumerate(outcomes):
            record = self._in_flight(outcome)
            if record is not None:
                drain_moves[row], drain_since[row], goal[row] = record.moves, record.since, record.goal
            else:
                drain_moves[row], drain_since[row], goal[row] = 0, math.nan, 0
        return dataclasses.replace(history, drain_moves=drain_moves, drain_since=drain_since, drain_ready_goal=goal)

    def _in_flight(self, outcome: Outcome) -> DrainRecord | None:
        """The confirmed drain-back move of a policy, if one is in flight (see ``_restore_history``)."""
        assert outcome.base is not None and outcome.spec is not None
        memory = self.memory.setdefault(outcome.key, PolicyMemory())
        if not memory.seen:
            memory.seen = True
            memory.drain = DrainRecord.from_annotation(outcome.base.annotations.get(apply.DRAIN_ANNOTATION))
        record = memory.drain
        twin_replicas = outcome.twin.replicas if outcome.twin is not None else 0
        # The record exists only once the scale-up was applied, so it is trusted over a watch that may
        # lag behind our own write; a twin already lowered means the move has completed.
        if record is None or self._dry_run or outcome.spec.dry_run or twin_replicas <= record.burst_from - record.moves:
            memory.drain = None
            return None
        return record

    def confirm(self, key: Key, drain: DrainRecord | None, *, finished: bool) -> None:
        """Note that a policy's slice was applied: a move it started is in flight; a finished one is not."""
        memory = self.memory.setdefault(key, PolicyMemory())
        if drain is not None:
            memory.drain = drain
        elif finished:
            memory.drain = None

    def _slice(
        self,
        outcome: Outcome,
        recommendation: recommend.Recommendation,
        view: cluster_snapshot.PolicyView,
        fact: ReplicaFacts,
        pods: cluster_snapshot.PolicyPods,
        result: plan.Plan,
        row: int,
        *,
        now: float,
        requests: Mapping[str, float],
        economics_: snapshot.Economics | None,
    ) -> Outcome:
        """The policy's outcome of the plan: targets, moves, ledger, placeholders (one copy of the outcome)."""
        assert outcome.spec is not None
        memory = self.memory.setdefault(outcome.key, PolicyMemory())
        decision = plan.explain(result, row)
        decision["requests_from"] = pods.requests_source  # status inputs say whose requests were planned
        if self._room_estimated:
            decision["node_room"] = ROOM_ESTIMATED
        if recommendation.reason == "forecast" and decision.get("desired_reason") == "recommended":
            decision["desired_reason"] = "forecast"  # the total is the forecast's, above the reactive one
        drain = None
        if int(result.moves_started[row]) > 0:
            # Written on the base atomically with its scale-up, so a restart knows the move is in flight.
            since = float(result.history.drain_since[row])
            drain = DrainRecord(
                moves=int(result.history.drain_moves[row]),
                since=since if math.isfinite(since) else now,
                goal=int(result.history.drain_ready_goal[row]),
                base_from=view.base_replicas,
                burst_from=view.twin_replicas,
            )
        ledger = memory.ledger or cost.CostLedger.start(now)
        scale_in = max(0, (view.base_replicas + view.twin_replicas) - int(result.desired[row]))
        ledger = cost.record_moves(ledger, completed_moves=int(result.moves_completed[row]), scale_in=scale_in)
        ledger = cost.accrue(
            ledger,
            now=now,
            burst_replicas=len(pods.burst_started),
            price=fact.price,
            spot_replicas=spot_step.running(outcome),
            spot_discount=fact.pricing.eci_spot_discount,
        )
        memory.ledger = ledger
        placeholder_fields = _placeholders(outcome, decision, result, row, economics_=economics_)
        return dataclasses.replace(
            outcome,
            recommendation=recommendation,
            decision=decision,
            desired=int(result.desired[row]),
            base_target=int(result.base[row]),
            burst_target=int(result.burst[row]),
            unplaceable=int(result.unplaceable[row]),
            moves_started=int(result.moves_started[row]),
            moves_completed=int(result.moves_completed[row]),
            drain=drain,
            drain_in_flight=int(result.history.drain_moves[row]),
            ready_base=pods.base_ready,
            ready_burst=pods.burst_ready,
            twin_health=pods.burst_health,
            ledger=ledger,
            price=fact.price,
            pricing=fact.pricing,
            replica_requests=dict(requests),
            **placeholder_fields,
        )

    def _replica(self, outcome: Outcome) -> ReplicaFacts:
        """One replica's requests, placement, terms and price, cached per version of the template and spec.

        The rendered twin's billed spec (``outcome.eci_spec``) is cached for the same version (``_rendered``).
        """
        assert outcome.spec is not None and outcome.base is not None
        base, spec = outcome.base, outcome.spec

        def compute() -> ReplicaFacts:
            template_spec = base.template.get("spec") or {}
            requests = objects.pod_requests(template_spec)
            pricing = self._spend.pricing_for(spec.pricing)
            eci = outcome.eci_spec or cost.burst_spec(base.template)
            # Snapshot units: cpu in millicores, memory in bytes.
            price = cost.price_replica(
                eci=eci,
                requested_vcpu=requests.get("cpu", 0.0) / 1000.0,
                requested_gib=requests.get("memory", 0.0) / 2**30,
                pricing=pricing,
            )
            return ReplicaFacts(
                requests=requests,
                placement=objects.placement_of(template_spec),
                constraints=objects.pod_constraints(base.template),
                pricing=pricing,
                price=price,
            )

        known = base.generation is not None and outcome.generation is not None
        version = (base.key, base.generation, outcome.generation, spec.burst.provider) if known else None
        return self._replicas.get(outcome.key, version, compute)

    def restore_ledger(self, key: Key, ledger: cost.CostLedger) -> None:
        """Continue a policy's cost ledger from its status after a restart (first sight only)."""
        memory = self.memory.setdefault(key, PolicyMemory())
        if memory.ledger is None:
            memory.ledger = ledger


def _twin_key(outcome: Outcome) -> tuple[str, str, str]:
    """(namespace, kind, name) of the policy's twin (the outcome must have its base)."""
    assert outcome.base is not None
    return (outcome.namespace, outcome.base.kind, twin.twin_name(outcome.base.name))


def _placeholder_key(namespace: str, policy_spec: api.BurstPolicySpec) -> tuple[str, str, str]:
    # Always a Deployment, whatever the target's kind: placeholders need no identity or order.
    return (namespace, "Deployment", placeholders.placeholder_name(policy_spec.target_ref.name))


def _placeholder_of(
    namespace: str, target_name: str, *, inputs: TickInputs, uid: str
) -> tuple[Workload | None, str | None]:
    """The policy's own placeholder Deployment (or None), and why it can have none (or None).

    As for the twin: an object of the placeholder's name that the policy does not own is someone
    else's, never adopted, scaled or rewritten; the policy then plans without placeholders.
    """
    problem = placeholders.name_problem(target_name)
    if problem is not None:
        return None, problem
    name = placeholders.placeholder_name(target_name)
    existing = inputs.workloads.get((namespace, "Deployment", name))
    if existing is None:
        return None, None
    if not placeholders.owned_by(existing.body, uid=uid):
        return None, (
            f"Deployment {namespace}/{name} exists and is not owned by this BurstPolicy; burstscaler never adopts "
            "it, so this policy has no placeholders: rename or delete it"
        )
    return existing, None


def _pending_pods(
    signal: BaseSignal, *, memory: PolicyMemory, now: datetime.datetime
) -> tuple[pending.PendingPod, ...]:
    """The base pods for the pending-pod signal: unbound ones, and terminating ones on nodes.

    Terminating pods hold room the unbound ones may wait for (``core.pending``). Once they are gone the
    scheduler retries the waiting pods, so an unschedulable time is counted from the last tick a
    terminating pod was seen (a rollout on a full pool is not evidence that ECS is full).
    """
    if signal.terminating_on_node:
        memory.room_freed_at = now
    freed = memory.room_freed_at
    pods = []
    for record in signal.waiting:
        since = record.scheduled_since
        if freed is not None and since is not None and since < freed:
            record = dataclasses.replace(record, scheduled_since=freed)
        pods.append(record)
    return tuple(pods)


def _placeholders(
    outcome: Outcome, decision: dict[str, Any], result: plan.Plan, row: int, *, economics_: snapshot.Economics | None
) -> dict[str, Any]:
    """The plan's placeholders for the policy (none where its placeholder name is not its own): the outcome's
    fields, and written into `decision`."""
    wanted = int(result.placeholders[row]) if len(result.placeholders) > row else 0
    reason = (
        str(reasons.Reason.from_code(result.placeholder_reason[row]))
        if len(result.placeholder_reason) > row
        else str(reasons.Reason.NO_NODE_GROWTH)
    )
    if outcome.placeholder_refused is not None:
        wanted, reason = 0, str(reasons.Reason.NO_NODE_GROWTH)
    # Written here whether or not plan.explain carries them: a refused placeholder name overrides the plan.
    decision["placeholders"], decision["placeholder_reason"] = wanted, reason
    if outcome.placeholder_refused is not None:
        decision["placeholders_refused"] = outcome.placeholder_refused
    bound = int(economics_.placeholders_bound[row]) if economics_ is not None else 0
    return {"placeholders": max(0, wanted), "placeholder_reason": reason, "placeholders_bound": bound}
