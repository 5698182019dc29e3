"""Kubernetes objects -> the compact records the operator keeps in its indices.

Why records and not bodies: the operator indexes every node and pod of the cluster (5,000 nodes and
50,000 pods is a target), so it keeps only what planning reads: requests as numbers, labels, taints,
the node a pod is bound to, readiness, and which workload and tier a pod belongs to. Parsing happens
once per watch event, not once per tick.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
from collections.abc import Mapping, Sequence
from typing import Any

from burstscaler.api import quantity
from burstscaler.core import eligibility, pending, podrequest, podterms

TIER_LABEL = "burstscaler.io/tier"
#: ECI's spot annotation on a pod (``cluster.spot``): a pod carrying it asked for a spot instance.
SPOT_STRATEGY_ANNOTATION = "k8s.aliyun.com/eci-spot-strategy"
#: ACK's virtual node sets this pod condition True when ECI announces the spot instance's release.
SPOT_EXPIRING_CONDITION = "ContainerInstanceExpired"

#: Units the snapshot uses per resource: CPU in millicores, everything else in its base unit.
_CPU_SCALE = decimal.Decimal(1000)


@dataclasses.dataclass(frozen=True)
class NodeRecord:
    """What planning needs of a Node."""

    name: str
    allocatable: Mapping[str, float]
    labels: Mapping[str, str]
    taints: tuple[eligibility.Taint, ...]
    unschedulable: bool
    virtual: bool
    ready: bool = True


@dataclasses.dataclass(frozen=True)
class PodRecord:
    """What planning needs of a Pod."""

    namespace: str
    name: str
    node_name: str
    phase: str
    ready: bool
    deleting: bool
    requests: Mapping[str, float]
    owner_kind: str  # Deployment | StatefulSet | "" (other or none)
    owner_name: str
    workload: tuple[str, str, str]  # (namespace, kind, name) of the owning workload; computed once
    burst: bool  # carries burstscaler.io/tier=burst
    started: float | None  # seconds since the epoch (startTime, else creationTimestamp)
    unschedulable_since: float | None  # PodScheduled=False/Unschedulable since (seconds), else None
    scheduled: bool | None = None  # PodScheduled condition status (None: no condition yet)
    scheduled_reason: str | None = None
    placement: eligibility.PodPlacement | None = None  # kept only while the pod is unbound
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)  # for inter-pod selectors
    anti_terms: tuple[podterms.PodTerm, ...] = ()  # its required anti-affinity (the symmetry check)
    # Spot (``cluster.spot``): the provider's word on the pod, the strategy it asked for, a release notice.
    status_reason: str = ""  # status.reason (ProviderFailed when a virtual kubelet could not create it)
    status_message: str = ""  # status.message, kept only with a reason (and at most 300 characters)
    spot_strategy: str = ""  # the pod's k8s.aliyun.com/eci-spot-strategy annotation
    to_be_released: bool = False  # condition ContainerInstanceExpired is True
    # Burst health (``cluster.burst_health``): a container held back for a cause, not merely starting.
    container_reason: str = ""  # e.g. ErrImagePull, ImagePullBackOff, CrashLoopBackOff, CreateContainerConfigError
    container_message: str = ""  # that container's message (at most 300 characters)

    @property
    def terminal(self) -> bool:
        """A finished or deleting pod holds no room for the future."""
        return self.phase in ("Succeeded", "Failed") or self.deleting


def parse_resources(values: Mapping[str, Any] | None) -> dict[str, float]:
    """Kubernetes resource quantities as snapshot numbers: cpu in millicores, the rest in base units."""
    parsed: dict[str, float] = {}
    for name, value in (values or {}).items():
        try:
            amount = quantity.parse_quantity(value)
        except (ValueError, decimal.InvalidOperation):
            continue  # an unreadable quantity is the API server's to reject; ignore it here
        parsed[name] = float(amount * _CPU_SCALE if name == "cpu" else amount)
    return parsed


def pod_requests(pod_spec: Mapping[str, Any]) -> dict[str, float]:
    """A pod spec's effective request (``core.podrequest.effective``) in snapshot units."""
    return podrequest.effective(
        containers=[
            parse_resources((c.get("resources") or {}).get("requests")) for c in pod_spec.get("containers") or []
        ],
        init_containers=[
            parse_resources((c.get("resources") or {}).get("requests")) for c in pod_spec.get("initContainers") or []
        ],
        overhead=parse_resources(pod_spec.get("overhead")),
        restartable=[c.get("restartPolicy") == "Always" for c in pod_spec.get("initContainers") or []],
    )


def placement_of(pod_spec: Mapping[str, Any]) -> eligibility.PodPlacement:
    """The node constraints of a pod spec: nodeSelector, required node affinity, tolerations.

    A term's ``matchFields`` (kube supports ``metadata.name`` only) become requirements on the node's
    name, ANDed with its ``matchExpressions`` as kube does.
    """
    affinity = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    terms = tuple(
        tuple(
            eligibility.Requirement(
                key=str(expression.get("key", "")),
                operator=str(expression.get("operator", "In")),
                values=tuple(str(value) for value in expression.get("values") or ()),
                field=kind == "matchFields",
            )
            for kind in ("matchExpressions", "matchFields")
            for expression in term.get(kind) or ()
        )
        for term in affinity.get("nodeSelectorTerms") or ()
    )
    tolerations = tuple(
        eligibility.Toleration(
            key=toleration.get("key") or None,
            operator=str(toleration.get("operator", "Equal")),
            value=str(toleration.get("value", "")),
            effect=toleration.get("effect") or None,
        )
        for toleration in pod_spec.get("tolerations") or ()
    )
    return eligibility.PodPlacement(
        node_selector=dict(pod_spec.get("nodeSelector") or {}), affinity_terms=terms, tolerations=tolerations
    )


def node_record(body: Mapping[str, Any], *, virtual_labels: Sequence[tuple[str, str]]) -> NodeRecord:
    """A Node as a record; it is virtual when it carries one of `virtual_labels` or a virtual-kubelet taint."""
    metadata, spec, status = body.get("metadata") or {}, body.get("spec") or {}, body.get("status") or {}
    labels = dict(metadata.get("labels") or {})
    taints = tuple(
        eligibility.Taint(key=str(t.get("key", "")), value=str(t.get("value", "")), effect=str(t.get("effect", "")))
        for t in spec.get("taints") or ()
    )
    virtual = any(labels.get(key) == value for key, value in virtual_labels) or any(
        taint.key.startswith("virtual-kubelet.io/") for taint in taints
    )
    ready = any(
        condition.get("type") == "Ready" and condition.get("status") == "True"
        for condition in status.get("conditions") or ()
    ) or not status.get("conditions")
    return NodeRecord(
        name=str(metadata.get("name", "")),
        allocatable=parse_resources(status.get("allocatable") or status.get("capacity")),
        labels=labels,
        taints=taints,
        unschedulable=bool(spec.get("unschedulable")),
        virtual=virtual,
        ready=ready,
    )


def pod_record(body: Mapping[str, Any]) -> PodRecord:
    """A Pod as a record."""
    metadata, spec, status = body.get("metadata") or {}, body.get("spec") or {}, body.get("status") or {}
    labels = metadata.get("labels") or {}
    annotations = metadata.get("annotations") or {}
    conditions = {str(c.get("type")): c for c in status.get("conditions") or ()}
    status_reason = str(status.get("reason") or "")
    container_reason, container_message = _container_problem(status)
    scheduled = conditions.get("PodScheduled")
    owner_kind, owner_name = _workload_owner(metadata)
    unschedulable_since = None
    if scheduled and scheduled.get("status") == "False" and scheduled.get("reason") == "Unschedulable":
        unschedulable_since = timestamp(scheduled.get("lastTransitionTime"))
    return PodRecord(
        namespace=str(metadata.get("namespace", "default")),
        name=str(metadata.get("name", "")),
        node_name=str(spec.get("nodeName") or ""),
        phase=str(status.get("phase") or "Pending"),
        ready=(conditions.get("Ready") or {}).get("status") == "True",
        deleting=bool(metadata.get("deletionTimestamp")),
        requests=pod_requests(spec),
        owner_kind=owner_kind,
        owner_name=owner_name,
        workload=(str(metadata.get("namespace", "default")), owner_kind, owner_name),
        burst=labels.get(TIER_LABEL) == "burst",
        started=timestamp(status.get("startTime") or metadata.get("creationTimestamp")),
        unschedulable_since=unschedulable_since,
        scheduled=None if scheduled is None else scheduled.get("status") == "True",
        scheduled_reason=None if scheduled is None else scheduled.get("reason"),
        placement=None if spec.get("nodeName") else placement_of(spec),
        labels=labels,
        anti_terms=tuple(term for term in pod_terms(spec, labels=labels) if term.kind == podterms.ANTI),
        status_reason=status_reason,
        status_message=str(status.get("message") or "")[:300] if status_reason else "",
        spot_strategy=str(annotations.get(SPOT_STRATEGY_ANNOTATION) or ""),
        to_be_released=(conditions.get(SPOT_EXPIRING_CONDITION) or {}).get("status") == "True",
        container_reason=container_reason,
        container_message=container_message,
    )


#: Waiting reasons of a container that will not start by itself (kubelet's image and runtime errors);
#: ContainerCreating and PodInitializing are start-up, not failure.
CONTAINER_FAILURES = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "ErrImageNeverPull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
        "CrashLoopBackOff",
    }
)


def _container_problem(status: Mapping[str, Any]) -> tuple[str, str]:
    # The first init or app container waiting for one of those reasons (init containers run first).
    for container in [*(status.get("initContainerStatuses") or ()), *(status.get("containerStatuses") or ())]:
        waiting = ((container or {}).get("state") or {}).get("waiting") or {}
        reason = str(waiting.get("reason") or "")
        if reason in CONTAINER_FAILURES:
            return reason, str(waiting.get("message") or "")[:300]
    return "", ""


def pod_constraints(template: Mapping[str, Any]) -> podterms.PodConstraints:
    """A pod template's labels and required inter-pod terms (``core.podterms``)."""
    labels = dict((template.get("metadata") or {}).get("labels") or {})
    spec = template.get("spec") or {}
    return podterms.PodConstraints(
        labels=labels,
        terms=pod_terms(spec, labels=labels),
        sets_spread=bool(spec.get("topologySpreadConstraints")),
    )


def pod_terms(pod_spec: Mapping[str, Any], *, labels: Mapping[str, str]) -> tuple[podterms.PodTerm, ...]:
    """Required pod affinity / anti-affinity terms and DoNotSchedule spread constraints of a pod spec.

    ``matchLabelKeys`` take their values from ``labels`` (a key the labels lack is left out, so the
    selector then counts every revision's pods).
    """
    affinity = pod_spec.get("affinity") or {}
    terms: list[podterms.PodTerm] = []
    for kind, field in ((podterms.AFFINITY, "podAffinity"), (podterms.ANTI, "podAntiAffinity")):
        for term in (affinity.get(field) or {}).get("requiredDuringSchedulingIgnoredDuringExecution") or ():
            terms.append(
                podterms.PodTerm(
                    kind=kind,
                    topology_key=str(term.get("topologyKey", "")),
                    selector=_selector(term.get("labelSelector"), term.get("matchLabelKeys"), labels),
                    namespaces=tuple(str(n) for n in term.get("namespaces") or ()),
                )
            )
    for constraint in pod_spec.get("topologySpreadConstraints") or ():
        if constraint.get("whenUnsatisfiable", "DoNotSchedule") != "DoNotSchedule":
            continue
        terms.append(
            podterms.PodTerm(
                kind=podterms.SPREAD,
                topology_key=str(constraint.get("topologyKey", "")),
                selector=_selector(constraint.get("labelSelector"), constraint.get("matchLabelKeys"), labels),
                max_skew=int(constraint.get("maxSkew") or 1),
                min_domains=int(constraint.get("minDomains") or 1),
                honor_affinity=constraint.get("nodeAffinityPolicy", "Honor") == "Honor",
                honor_taints=constraint.get("nodeTaintsPolicy", "Ignore") == "Honor",
            )
        )
    return tuple(terms)


def _selector(
    selector: Mapping[str, Any] | None, match_label_keys: Any, labels: Mapping[str, str]
) -> podterms.Selector | None:
    if selector is None:
        return None
    pairs = {str(k): str(v) for k, v in (selector.get("matchLabels") or {}).items()}
    for key in match_label_keys or ():
        if key in labels:
            pairs[str(key)] = str(labels[key])
    return podterms.Selector(
        match_labels=tuple(sorted(pairs.items())),
        expressions=tuple(
            podterms.Expression(
                key=str(e.get("key", "")),
                operator=str(e.get("operator", "In")),
                values=tuple(str(v) for v in e.get("values") or ()),
            )
            for e in selector.get("matchExpressions") or ()
        ),
    )


def _workload_owner(metadata: Mapping[str, Any]) -> tuple[str, str]:
    # A Deployment's pods are owned by a ReplicaSet named `<deployment>-<pod-template-hash>`.
    for owner in metadata.get("ownerReferences") or ():
        if not owner.get("controller", True):
            continue
        kind, name = str(owner.get("kind", "")), str(owner.get("name", ""))
        if kind == "StatefulSet":
            return kind, name
        if kind == "ReplicaSet":
            template_hash = (metadata.get("labels") or {}).get("pod-template-hash")
            if template_hash and name.endswith(f"-{template_hash}"):
                return "Deployment", name[: -len(template_hash) - 1]
            return "Deployment", name.rsplit("-", 1)[0]
        if kind == "Deployment":  # emulators and kwok-style actors may own pods directly
            return kind, name
    return "", ""


def timestamp(value: Any) -> float | None:
    """An RFC 3339 timestamp from the API as seconds since the epoch, or None."""
    if not value:
        return None
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    try:
        return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def pending_pod(pod: PodRecord) -> pending.PendingPod:
    """What the pending-pod signal (``core.pending``) needs of a pod record."""
    since = pod.unschedulable_since
    return pending.PendingPod(
        name=pod.name,
        phase=pod.phase,
        deleted=pod.deleting,
        node_name=pod.node_name or None,
        scheduled=pod.scheduled,
        scheduled_reason=pod.scheduled_reason,
        scheduled_since=None if since is None else datetime.datetime.fromtimestamp(since, tz=datetime.UTC),
    )
