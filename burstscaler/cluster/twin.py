"""Render the burst twin: the base workload's copy that runs on the virtual node (DESIGN §4).

The twin is the base's pod template plus the provider profile plus the policy's podTemplatePatch, plus
the label `burstscaler.io/tier: burst` in its selector and template. It keeps the base's app labels, so
the base's Services reach burst pods too. A hash of everything the twin's template is made from is
stored on the twin, so a change of the base's template (an image rollout) is noticed and followed.
Pure dict manipulation: no API calls here.

Ownership (issue 12): an object named `<base>-burst` is the twin only when its controlling owner
reference carries the policy's UID (``owned_by``); anything else of that name is someone else's and is
never adopted, scaled, rewritten or deleted. ``patch_problems`` refuses the parts of a (schema-valid)
podTemplatePatch that would break the twin given its base: labels of the base's selector, and, for a
provider with a routing profile, nodeSelector keys that would override that routing, and ECI's spot
annotations (``cluster.spot``), which are the operator's to render from ``spec.burst.spot``.

Deletion (issue 17): the twin has two owners, its policy (the controller) and its base (not a controller,
not blocking). Kubernetes' garbage collector never collects a dependent that still has a live owner: it
only drops the reference to the owner being deleted. So whatever the propagation policy of the policy's
deletion (Foreground cascades at once, before any finalizer of the policy runs; Orphan strips the
references), the twin and its pods keep serving until the operator's hand-back has raised the base. The
twin also carries its policy's UID in the label ``burstscaler.io/policy-uid`` (``left_by``), so the
hand-back still recognises its own twin once the collector has dropped the policy's reference, and then
gives the twin back to the policy alone (``sole_owner``) so it goes with it.

Spot (issue 16): ``spot`` is the set of spot annotations to render this tick (``spot.pod_annotations`` of the
policy's ``burst.spot``, or nothing while the twin falls back to on-demand). Spot annotations the base's
template carries are dropped and the operator's are set after the patch is merged, so neither the base nor
the patch decides what burst pods bid. A non-empty set joins the source hash: turning spot on or off, or
changing its strategy, limit or protection, rolls the twin out.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from burstscaler.api import podpatch
from burstscaler.cluster import providers
from burstscaler.cluster import spot as spot_module

TIER_LABEL = "burstscaler.io/tier"
POLICY_LABEL = "burstscaler.io/policy"
POLICY_UID_LABEL = "burstscaler.io/policy-uid"
SOURCE_HASH_ANNOTATION = "burstscaler.io/source-hash"
# No pod-deletion-cost is set on twin pods (issue 17): the twin is one ReplicaSet whose pods would all carry
# the same cost, which ranks nothing, and ACK's ResourcePolicy must not be combined with it. Which tier shrinks
# is the planner's (burst first); within the twin the ReplicaSet controller's own order applies.

# Fields of the base's spec the twin must not copy: replicas are the planner's; the rest would tie the
# twin to objects or nodes that belong to the base.
_SPEC_FIELDS_NOT_COPIED = ("replicas", "selector", "template", "paused")


def policy_label_value(policy_name: str) -> str:
    """The `burstscaler.io/policy` label value: the policy's name, shortened with a digest past 63 characters.

    Policy names may be 253 characters long, label values only 63; the digest keeps long names distinct.
    """
    if len(policy_name) <= 63:
        return policy_name
    digest = hashlib.sha256(policy_name.encode()).hexdigest()[:10]
    return f"{policy_name[:52].rstrip('-.')}-{digest}"


def owned_by(workload: Mapping[str, Any], *, uid: str) -> bool:
    """True when `workload`'s controlling owner reference is the BurstPolicy with `uid`."""
    if not uid:
        return False
    references = (workload.get("metadata") or {}).get("ownerReferences") or []
    return any(
        isinstance(ref, Mapping)
        and bool(ref.get("controller"))
        and (ref.get("kind"), ref.get("uid")) == ("BurstPolicy", uid)
        for ref in references
    )


def left_by(workload: Mapping[str, Any], *, uid: str, base_uid: str) -> bool:
    """True when `workload` is the twin the policy with `uid` rendered and the garbage collector has since
    dropped that policy's reference (a Foreground or Orphan deletion of the policy).

    Recognised by what the operator wrote: the tier and policy-UID labels, and no controller left but a
    reference to the base (`base_uid`). Any controller at all means someone else's object: never adopted.
    """
    if not uid or not base_uid:
        return False
    metadata = workload.get("metadata") or {}
    labels = metadata.get("labels") or {}
    if labels.get(TIER_LABEL) != "burst" or labels.get(POLICY_UID_LABEL) != uid:
        return False
    references = [ref for ref in metadata.get("ownerReferences") or [] if isinstance(ref, Mapping)]
    if any(ref.get("controller") for ref in references):
        return False
    return any(ref.get("uid") == base_uid for ref in references)


def owners_current(workload: Mapping[str, Any], *, policy: Mapping[str, Any], base: Mapping[str, Any]) -> bool:
    """True when the twin `workload` carries both owner references and the policy-UID label ``render`` writes
    (a twin made before issue 17, or one whose base reference a deletion of the base dropped, does not)."""
    metadata = workload.get("metadata") or {}
    wanted = list(map(_reference_key, owner_references(policy, base=base)))
    references = [_reference_key(ref) for ref in metadata.get("ownerReferences") or [] if isinstance(ref, Mapping)]
    uid = str((policy.get("metadata") or {}).get("uid", ""))
    return references == wanted and (metadata.get("labels") or {}).get(POLICY_UID_LABEL) == uid


def _reference_key(ref: Mapping[str, Any]) -> tuple[str, str, str, bool, bool]:
    # An absent controller/blockOwnerDeletion reads as false, as the API server reads it.
    return (
        str(ref.get("kind", "")),
        str(ref.get("name", "")),
        str(ref.get("uid", "")),
        bool(ref.get("controller")),
        bool(ref.get("blockOwnerDeletion")),
    )


def patch_problems(base: Mapping[str, Any], *, provider: str, patch: Mapping[str, Any]) -> list[str]:
    """Why `patch` cannot be applied to the twin of `base` (empty when it can), each with its path."""
    problems = []
    selector = (base.get("spec") or {}).get("selector") or {}
    selector_keys = set(selector.get("matchLabels") or {})
    selector_keys |= {str(e.get("key")) for e in selector.get("matchExpressions") or [] if isinstance(e, Mapping)}
    labels = (patch.get("metadata") or {}).get("labels") or {}
    for key in sorted(set(labels) & selector_keys):
        problems.append(
            f"spec.burst.podTemplatePatch.metadata.labels.{key}: the base's selector uses this label, so the "
            "twin's pods must keep the base's value (its Services and the cpu metric select by it); remove it"
        )
    routing = providers.profile(provider).node_selector
    node_selector = (patch.get("spec") or {}).get("nodeSelector") or {}
    for key in sorted(key for key in node_selector if key in routing and node_selector[key] != routing[key]):
        problems.append(
            f"spec.burst.podTemplatePatch.spec.nodeSelector.{key}: overrides provider {provider}'s routing to the "
            f"virtual node ({key}={routing[key]}); remove it, or use provider generic and route pods yourself"
        )
    annotations = (patch.get("metadata") or {}).get("annotations") or {}
    for key in sorted(key for key in annotations if key in spot_module.OWNED_ANNOTATIONS):
        problems.append(
            f"spec.burst.podTemplatePatch.metadata.annotations.{key}: spot instances are set with spec.burst.spot "
            "(the operator renders them and falls back to on-demand when spot is refused); remove it"
        )
    return problems


def template(
    base: Mapping[str, Any], *, provider: str, patch: Mapping[str, Any], spot: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The twin's pod template alone (what the virtual node will run), for linting."""
    return _twin_template((base.get("spec") or {}).get("template") or {}, provider=provider, patch=patch, spot=spot)


def twin_name(base_name: str) -> str:
    """The twin's name: `<base>-burst`."""
    return f"{base_name}-burst"


def render(
    base: Mapping[str, Any],
    *,
    policy: Mapping[str, Any],
    provider: str,
    pod_template_patch: Mapping[str, Any],
    replicas: int,
    spot: Mapping[str, str] | None = None,
    spot_fallback_until: str | None = None,
) -> dict[str, Any]:
    """Return the twin object for `base` (a Deployment or StatefulSet as the API returns it).

    `policy` is the owning BurstPolicy (its metadata gives the owner reference); `replicas` is the
    twin's replica count to write; `spot` the spot annotations of its pods (none: on-demand), and
    `spot_fallback_until` the end of a spot fallback's cool-down, recorded on the twin for a restart.
    """
    base_meta = base.get("metadata") or {}
    base_spec = base.get("spec") or {}
    policy_meta = policy.get("metadata") or {}
    pod_template = _twin_template(
        base_spec.get("template") or {}, provider=provider, patch=pod_template_patch, spot=spot
    )
    policy_label = policy_label_value(str(policy_meta.get("name", "")))
    pod_template.setdefault("metadata", {}).setdefault("labels", {})[POLICY_LABEL] = policy_label
    selector = copy.deepcopy(base_spec.get("selector") or {})
    selector.setdefault("matchLabels", {})[TIER_LABEL] = "burst"
    spec = {key: copy.deepcopy(value) for key, value in base_spec.items() if key not in _SPEC_FIELDS_NOT_COPIED}
    spec.update({"replicas": replicas, "selector": selector, "template": pod_template})
    labels = dict(base_meta.get("labels") or {})
    labels.update({TIER_LABEL: "burst", POLICY_LABEL: policy_label})
    labels[POLICY_UID_LABEL] = str(policy_meta.get("uid", ""))
    return {
        "apiVersion": base.get("apiVersion", "apps/v1"),
        "kind": base.get("kind", "Deployment"),
        "metadata": {
            "name": twin_name(str(base_meta.get("name", ""))),
            "namespace": base_meta.get("namespace", "default"),
            "labels": labels,
            "annotations": {
                SOURCE_HASH_ANNOTATION: source_hash(base, provider=provider, patch=pod_template_patch, spot=spot),
                **({spot_module.FALLBACK_UNTIL_ANNOTATION: spot_fallback_until} if spot_fallback_until else {}),
            },
            "ownerReferences": owner_references(policy, base=base),
        },
        "spec": spec,
    }


def owner_reference(policy: Mapping[str, Any]) -> dict[str, Any]:
    """The owner reference that makes the BurstPolicy own (and garbage-collect) the twin."""
    metadata = policy.get("metadata") or {}
    return {
        "apiVersion": policy.get("apiVersion", "burstscaler.io/v1alpha1"),
        "kind": policy.get("kind", "BurstPolicy"),
        "name": metadata.get("name", ""),
        "uid": metadata.get("uid", ""),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def owner_references(policy: Mapping[str, Any], *, base: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The twin's owners: its policy (the controller) and its base, so no deletion of one alone collects it.

    The base's reference neither controls nor blocks: it asks no right on the base's finalizers, and a
    Foreground deletion of the base is not held by its twin. A base without a UID (a dry render) adds none.
    """
    references = [owner_reference(policy)]
    base_meta = base.get("metadata") or {}
    if base_meta.get("uid"):
        references.append(
            {
                "apiVersion": base.get("apiVersion", "apps/v1"),
                "kind": base.get("kind", "Deployment"),
                "name": base_meta.get("name", ""),
                "uid": base_meta["uid"],
                "controller": False,
                "blockOwnerDeletion": False,
            }
        )
    return references


def sole_owner(policy: Mapping[str, Any]) -> dict[str, Any]:
    """The merge patch that leaves the policy the twin's only owner: the collector removes the twin with it."""
    return {"metadata": {"ownerReferences": [owner_reference(policy)]}}


def source_hash(
    base: Mapping[str, Any], *, provider: str, patch: Mapping[str, Any], spot: Mapping[str, str] | None = None
) -> str:
    """A short digest of what the twin's template is made from; it changes when any of them changes.

    Spot annotations join only when there are some, so an on-demand twin keeps the hash it always had.
    """
    source: dict[str, Any] = {"template": (base.get("spec") or {}).get("template"), "provider": provider}
    source["patch"] = patch
    if spot:
        source["spot"] = dict(spot)
    return hashlib.sha256(json.dumps(source, sort_keys=True, default=str).encode()).hexdigest()[:16]


def is_stale(
    twin: Mapping[str, Any],
    *,
    base: Mapping[str, Any],
    provider: str,
    patch: Mapping[str, Any],
    spot: Mapping[str, str] | None = None,
) -> bool:
    """True when the twin's template no longer follows the base's template, provider, patch or spot mode."""
    annotations = (twin.get("metadata") or {}).get("annotations") or {}
    return annotations.get(SOURCE_HASH_ANNOTATION) != source_hash(base, provider=provider, patch=patch, spot=spot)


def _twin_template(
    template: Mapping[str, Any], *, provider: str, patch: Mapping[str, Any], spot: Mapping[str, str] | None = None
) -> dict[str, Any]:
    # The allowlist again, at the last step: whatever the caller hands in, only routing fields are merged
    # (a ValidationError here is a bug upstream, never a pod spec the policy's author could not write).
    patch = podpatch.PodTemplatePatch.model_validate(dict(patch)).as_template()
    profile = providers.profile(provider)
    rendered = copy.deepcopy(dict(template))
    metadata = rendered.setdefault("metadata", {})
    metadata.pop("creationTimestamp", None)
    metadata.setdefault("labels", {}).update({**profile.labels, TIER_LABEL: "burst"})
    annotations = metadata.setdefault("annotations", {})
    for key in spot_module.OWNED_ANNOTATIONS:
        annotations.pop(key, None)  # what burst pods bid is spec.burst.spot's, not the base's
    annotations.update(profile.annotations)
    spec = rendered.setdefault("spec", {})
    if profile.routes:
        # The base's selector pins pods to ECS node pools the virtual node is not in.
        spec.pop("nodeSelector", None)
        if profile.node_selector:
            spec["nodeSelector"] = dict(profile.node_selector)
        affinity = spec.get("affinity") or {}
        affinity.pop("nodeAffinity", None)
        if profile.node_terms:
            terms = [copy.deepcopy(term) for term in profile.node_terms]
            affinity["nodeAffinity"] = {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}
        if affinity:
            spec["affinity"] = affinity
        else:
            spec.pop("affinity", None)
    spec["tolerations"] = _union(spec.get("tolerations") or [], profile.tolerations)
    merged = _merge(rendered, patch)
    owned = merged.setdefault("metadata", {}).setdefault("annotations", {})
    for key in spot_module.OWNED_ANNOTATIONS:
        owned.pop(key, None)  # patch_problems refuses them; the last word is the operator's anyway
    owned.update(spot or {})
    return merged


def _merge(target: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """Merge `patch` into `target`: mappings merge, tolerations add up, anything else is replaced."""
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        elif key == "tolerations" and isinstance(value, list):
            target[key] = _union(target.get(key) or [], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


def _union(first: list[Any], second: list[Any]) -> list[Any]:
    merged = list(copy.deepcopy(first))
    merged.extend(copy.deepcopy(item) for item in second if item not in merged)
    return merged
