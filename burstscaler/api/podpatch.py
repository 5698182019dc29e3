"""``spec.burst.podTemplatePatch`` as an allowlist: typed models for exactly what a policy may change.

BurstPolicies are written by namespace owners, and the operator creates the twin with its own (wider)
rights, so the patch is the one place a policy could make the operator run a pod its author could not.
Only routing and placement are allowed (issue 12): ``metadata.labels``, ``metadata.annotations``,
``spec.nodeSelector``, ``spec.tolerations``, ``spec.affinity`` and ``spec.topologySpreadConstraints``.
Everything else (containers, images, volumes, service accounts, host namespaces, ``nodeName``...) is an
unknown field, refused with its path and, from ``ADVICE``, what to do instead. The models are strict
(``extra="forbid"`` everywhere) and bounded (``maxItems``, ``maxLength``), so the generated CRD carries a
real schema rather than ``x-kubernetes-preserve-unknown-fields``.

Checks that need the base workload (its selector's labels) are in ``cluster.twin.patch_problems``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pydantic

from burstscaler.api import types

#: Labels the operator sets on every twin pod; a patch changing them would break ownership or routing.
RESERVED_LABEL_PREFIX = "burstscaler.io/"

_KEY = Annotated[str, pydantic.StringConstraints(min_length=1, max_length=317)]  # prefix (253) + "/" + name (63)
_LABEL_VALUE = Annotated[str, pydantic.StringConstraints(max_length=63)]
_ANNOTATION_VALUE = Annotated[str, pydantic.StringConstraints(max_length=4096)]
_NAME = Annotated[str, pydantic.StringConstraints(min_length=1, max_length=253)]
_VALUES = Annotated[list[Annotated[str, pydantic.StringConstraints(max_length=253)]], pydantic.Field(max_length=64)]

#: What to do instead, per refused field (the last part of its path).
ADVICE: dict[str, str] = {
    "containers": "containers, images, commands and resources come from the base workload: change them there "
    "(ECI sizing goes in the k8s.aliyun.com/eci-use-specs annotation under metadata.annotations)",
    "initContainers": "init containers come from the base workload: change them there",
    "ephemeralContainers": "ephemeral containers are not part of a template: use kubectl debug",
    "volumes": "volumes come from the base workload: add them there",
    "serviceAccountName": "the service account comes from the base workload: set it there",
    "serviceAccount": "the service account comes from the base workload: set it there",
    "automountServiceAccountToken": "set automountServiceAccountToken on the base workload",
    "securityContext": "the security context comes from the base workload: set it there",
    "hostNetwork": "host namespaces are not allowed (and the virtual node has no host); remove it",
    "hostPID": "host namespaces are not allowed (and the virtual node has no host); remove it",
    "hostIPC": "host namespaces are not allowed (and the virtual node has no host); remove it",
    "hostUsers": "host namespaces are not allowed (and the virtual node has no host); remove it",
    "nodeName": "nodeName skips the scheduler and its taints; route pods with nodeSelector and tolerations",
    "schedulerName": "burst pods use the default scheduler; route them with nodeSelector and tolerations",
    "priorityClassName": "the priority class comes from the base workload: set it there",
    "priority": "the priority comes from the base workload: set it there",
    "runtimeClassName": "the runtime class comes from the base workload: set it there",
    "imagePullSecrets": "image pull secrets come from the base workload: set them there",
    "dnsPolicy": "DNS settings come from the base workload: set them there",
    "dnsConfig": "DNS settings come from the base workload: set them there",
    "hostAliases": "host aliases come from the base workload: set them there",
    "overhead": "overhead is set by the runtime class, not by a template",
    "resources": "resources come from the base workload (ECI sizing: the k8s.aliyun.com/eci-use-specs annotation)",
    "name": "the twin's name is <target>-burst; it cannot be patched",
    "namespace": "the twin lives in the policy's namespace; it cannot be patched",
    "ownerReferences": "the twin is owned by its BurstPolicy; owner references cannot be patched",
    "finalizers": "finalizers cannot be patched",
    "generateName": "the twin's name is <target>-burst; it cannot be patched",
}
_ALLOWED = (
    "only metadata.labels, metadata.annotations, spec.nodeSelector, spec.tolerations, spec.affinity and "
    "spec.topologySpreadConstraints may be patched"
)


def advice(field: str) -> str:
    """Why a field of a podTemplatePatch is refused and what to do instead."""
    specific = ADVICE.get(field)
    return f"`{field}` may not be patched: {specific}" if specific else f"`{field}` may not be patched: {_ALLOWED}"


class _Strict(types.ApiModel):
    """Unknown fields refused at every depth (the generated schema then has no preserved subtree)."""


class LabelSelectorRequirement(_Strict):
    """metav1.LabelSelectorRequirement."""

    key: _KEY
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: _VALUES | None = None


class LabelSelector(_Strict):
    """metav1.LabelSelector."""

    match_labels: dict[_KEY, _LABEL_VALUE] | None = pydantic.Field(default=None, max_length=64)
    match_expressions: list[LabelSelectorRequirement] | None = pydantic.Field(default=None, max_length=32)


class NodeSelectorRequirement(_Strict):
    """core/v1 NodeSelectorRequirement."""

    key: _KEY
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]
    values: _VALUES | None = None


class NodeSelectorTerm(_Strict):
    """core/v1 NodeSelectorTerm."""

    match_expressions: list[NodeSelectorRequirement] | None = pydantic.Field(default=None, max_length=32)
    match_fields: list[NodeSelectorRequirement] | None = pydantic.Field(default=None, max_length=32)


class NodeSelector(_Strict):
    """core/v1 NodeSelector (a required node affinity)."""

    node_selector_terms: list[NodeSelectorTerm] = pydantic.Field(max_length=32)


class PreferredSchedulingTerm(_Strict):
    """core/v1 PreferredSchedulingTerm."""

    weight: int = pydantic.Field(ge=1, le=100)
    preference: NodeSelectorTerm


class NodeAffinity(_Strict):
    """core/v1 NodeAffinity."""

    required_during_scheduling_ignored_during_execution: NodeSelector | None = None
    preferred_during_scheduling_ignored_during_execution: list[PreferredSchedulingTerm] | None = pydantic.Field(
        default=None, max_length=32
    )


class PodAffinityTerm(_Strict):
    """core/v1 PodAffinityTerm."""

    label_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    namespaces: list[_NAME] | None = pydantic.Field(default=None, max_length=32)
    topology_key: _KEY
    match_label_keys: list[_KEY] | None = pydantic.Field(default=None, max_length=32)
    mismatch_label_keys: list[_KEY] | None = pydantic.Field(default=None, max_length=32)


class WeightedPodAffinityTerm(_Strict):
    """core/v1 WeightedPodAffinityTerm."""

    weight: int = pydantic.Field(ge=1, le=100)
    pod_affinity_term: PodAffinityTerm


class PodAffinity(_Strict):
    """core/v1 PodAffinity and PodAntiAffinity (the same shape)."""

    required_during_scheduling_ignored_during_execution: list[PodAffinityTerm] | None = pydantic.Field(
        default=None, max_length=32
    )
    preferred_during_scheduling_ignored_during_execution: list[WeightedPodAffinityTerm] | None = pydantic.Field(
        default=None, max_length=32
    )


class Affinity(_Strict):
    """core/v1 Affinity."""

    node_affinity: NodeAffinity | None = None
    pod_affinity: PodAffinity | None = None
    pod_anti_affinity: PodAffinity | None = None


class Toleration(_Strict):
    """core/v1 Toleration."""

    key: Annotated[str, pydantic.StringConstraints(max_length=317)] | None = None
    operator: Literal["Exists", "Equal"] | None = None
    value: _LABEL_VALUE | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    toleration_seconds: int | None = None


class TopologySpreadConstraint(_Strict):
    """core/v1 TopologySpreadConstraint."""

    max_skew: int = pydantic.Field(ge=1)
    topology_key: _KEY
    when_unsatisfiable: Literal["DoNotSchedule", "ScheduleAnyway"]
    label_selector: LabelSelector | None = None
    min_domains: int | None = pydantic.Field(default=None, ge=1)
    node_affinity_policy: Literal["Honor", "Ignore"] | None = None
    node_taints_policy: Literal["Honor", "Ignore"] | None = None
    match_label_keys: list[_KEY] | None = pydantic.Field(default=None, max_length=32)


class PatchMetadata(_Strict):
    """The twin pods' extra labels and annotations."""

    labels: dict[_KEY, _LABEL_VALUE] | None = pydantic.Field(default=None, max_length=64)
    annotations: dict[_KEY, _ANNOTATION_VALUE] | None = pydantic.Field(default=None, max_length=64)

    @pydantic.field_validator("labels")
    @classmethod
    def _no_reserved_labels(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        reserved = sorted(key for key in value or {} if key.startswith(RESERVED_LABEL_PREFIX))
        if reserved:
            raise ValueError(
                f"labels {', '.join(reserved)} are set by burstscaler (they mark and own the twin's pods); "
                "remove them from the patch"
            )
        return value


class PatchSpec(_Strict):
    """Where the twin pods may run: routing and placement only."""

    node_selector: dict[_KEY, _LABEL_VALUE] | None = pydantic.Field(default=None, max_length=32)
    tolerations: list[Toleration] | None = pydantic.Field(default=None, max_length=32)
    affinity: Affinity | None = None
    topology_spread_constraints: list[TopologySpreadConstraint] | None = pydantic.Field(default=None, max_length=16)


class PodTemplatePatch(_Strict):
    """A partial pod template merged into the twin's after the provider profile (see ``cluster.twin``)."""

    metadata: PatchMetadata | None = None
    spec: PatchSpec | None = None

    def as_template(self) -> dict[str, Any]:
        """The patch as the pod-template mapping the twin renderer merges (camelCase, unset fields left out)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    @property
    def routed(self) -> bool:
        """True when the patch routes pods somewhere itself (needed by the generic provider)."""
        spec = self.spec
        return spec is not None and bool(spec.node_selector or spec.tolerations or spec.affinity)
