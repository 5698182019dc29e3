"""Render a policy's placeholder Deployment: pause pods that ask a growable ECS pool for nodes (DESIGN §2 4b).

Where the ECS pool grows for Pending pods (cluster-autoscaler, Karpenter, an ACK node pool with auto
scaling), a burst expected to outlast a new node's break-even is bridged: placeholder pods sized like
one base replica wait Pending on ECS, the node autoscaler adds nodes for them, and drain-back then
moves burst replicas onto those nodes; a base pod takes a placeholder's room by preemption (the
placeholders' PriorityClass is below every workload's). What they must be, and why:
- requests: one base replica's effective request as kube-scheduler adds it up (sidecars and init
  containers folded in, ``objects.pod_requests``), in one pause container whose limits equal its
  requests, so the node autoscaler buys exactly the room a base pod will need;
- placement: the base template's nodeSelector, affinity (node and pod, anti-affinity included),
  tolerations, topologySpreadConstraints and schedulerName, so a placeholder lands only where a base
  pod could, and asks only for nodes a base pod could use;
- selected by nothing: none of the base's labels (no Service or PodDisruptionBudget of the base may
  reach them), only ``burstscaler.io/placeholder-for``; no service-account token, no Service
  environment variables, no volumes, ports or env; gone at once on deletion (grace 0);
- owned by the policy (controlling owner reference with its UID), so they go with it; like the
  twin, an object of the placeholder's name that the policy does not own is never touched;
- ``strategy: Recreate``: a changed template replaces the pods instead of surging extra Pending ones,
  which a node autoscaler would buy nodes for.
Pure dict manipulation: no API calls here.
"""

from __future__ import annotations

import copy
import decimal
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from burstscaler.cluster import twin

PLACEHOLDER_FOR_LABEL = "burstscaler.io/placeholder-for"
#: Shipped in manifests/base/priority-class.yaml: below every workload's, never preempting.
PRIORITY_CLASS = "burstscaler-placeholder"
DEFAULT_IMAGE = "registry.k8s.io/pause:3.10"
SOURCE_HASH_ANNOTATION = twin.SOURCE_HASH_ANNOTATION
SUFFIX = "-placeholder"
#: metadata.name of a Deployment is a DNS subdomain (RFC 1123): at most 253 characters.
_MAX_NAME = 253
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
#: The base template's pod-spec fields that decide where its pods may go: copied as they are.
PLACEMENT_FIELDS = ("nodeSelector", "affinity", "tolerations", "topologySpreadConstraints", "schedulerName")
#: Snapshot units back to quantities: cpu is in millicores there, everything else in base units.
_NOT_CONTAINER_RESOURCES = frozenset({"pods"})
_CONTAINER = "pause"


def placeholder_name(target_name: str) -> str:
    """The placeholder Deployment's name: ``<target>-placeholder``."""
    return f"{target_name}{SUFFIX}"


def name_problem(target_name: str) -> str | None:
    """Why ``<target>-placeholder`` cannot be a Deployment's name (None when it can)."""
    name = placeholder_name(target_name)
    if len(name) > _MAX_NAME:
        return (
            f"the placeholder's name {name[:40]}... would be {len(name)} characters, over the {_MAX_NAME} a "
            "Deployment's name may have: shorten spec.targetRef.name's workload name to bridge it"
        )
    if not _SUBDOMAIN.match(name):
        return f"the placeholder's name {name!r} is not a valid Deployment name (RFC 1123 subdomain)"
    return None


def owned_by(workload: Mapping[str, Any], *, uid: str) -> bool:
    """True when `workload`'s controlling owner reference is the BurstPolicy with `uid` (as for twins)."""
    return twin.owned_by(workload, uid=uid)


def quantities(requests: Mapping[str, float]) -> dict[str, str]:
    """Snapshot-unit requests as container resource quantities (cpu from millicores, the rest as they are).

    Rounded up, never down: a placeholder smaller than a base pod would buy a node too small for it.
    """
    out: dict[str, str] = {}
    for name, amount in sorted(requests.items()):
        if name in _NOT_CONTAINER_RESOURCES or amount <= 0:
            continue
        value = decimal.Decimal(repr(float(amount))).to_integral_value(rounding=decimal.ROUND_CEILING)
        out[name] = f"{value}m" if name == "cpu" else str(value)
    return out


def pod_template(
    base: Mapping[str, Any], *, policy_name: str, requests: Mapping[str, float], image: str = DEFAULT_IMAGE
) -> dict[str, Any]:
    """The placeholder pods' template for `base` (a Deployment or StatefulSet as the API returns it).

    `requests` is one base replica's effective request in snapshot units (``objects.pod_requests``, or
    what admission gave the base's pods).
    """
    base_spec = ((base.get("spec") or {}).get("template") or {}).get("spec") or {}
    resources = quantities(requests)
    spec: dict[str, Any] = {
        field: copy.deepcopy(base_spec[field]) for field in PLACEMENT_FIELDS if base_spec.get(field) is not None
    }
    spec.update(
        {
            "priorityClassName": PRIORITY_CLASS,
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": 0,
            "securityContext": {"runAsNonRoot": True, "runAsUser": 65535, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {
                    "name": _CONTAINER,
                    "image": image,
                    "resources": {"requests": dict(resources), "limits": dict(resources)},
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "readOnlyRootFilesystem": True,
                        "capabilities": {"drop": ["ALL"]},
                    },
                }
            ],
        }
    )
    return {"metadata": {"labels": selector_labels(policy_name)}, "spec": spec}


def selector_labels(policy_name: str) -> dict[str, str]:
    """The only label of placeholder pods (and their Deployment's selector): whose placeholders they are."""
    return {PLACEHOLDER_FOR_LABEL: twin.policy_label_value(policy_name)}


def render(
    base: Mapping[str, Any],
    *,
    policy: Mapping[str, Any],
    requests: Mapping[str, float],
    replicas: int,
    image: str = DEFAULT_IMAGE,
) -> dict[str, Any]:
    """The placeholder Deployment for `base`, owned by `policy` (its metadata gives name and UID)."""
    base_meta = base.get("metadata") or {}
    policy_name = str((policy.get("metadata") or {}).get("name", ""))
    template = pod_template(base, policy_name=policy_name, requests=requests, image=image)
    labels = selector_labels(policy_name)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": placeholder_name(str(base_meta.get("name", ""))),
            "namespace": base_meta.get("namespace", "default"),
            "labels": dict(labels),
            "annotations": {SOURCE_HASH_ANNOTATION: source_hash(template)},
            "ownerReferences": [twin.owner_reference(policy)],
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            "strategy": {"type": "Recreate"},
            "revisionHistoryLimit": 0,
            "template": template,
        },
    }


def source_hash(template: Mapping[str, Any]) -> str:
    """A short digest of the placeholder pods' template: it changes when requests, placement or image do."""
    return hashlib.sha256(json.dumps(template, sort_keys=True, default=str).encode()).hexdigest()[:16]


def is_stale(existing: Mapping[str, Any], *, wanted: Mapping[str, Any]) -> bool:
    """True when the existing placeholder Deployment's template is not the one `wanted` renders."""
    have = ((existing.get("metadata") or {}).get("annotations") or {}).get(SOURCE_HASH_ANNOTATION)
    return have != ((wanted.get("metadata") or {}).get("annotations") or {}).get(SOURCE_HASH_ANNOTATION)
