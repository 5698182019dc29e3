"""The burst twin: base template + provider profile + podTemplatePatch + the tier label."""

from __future__ import annotations

import copy
import re
from typing import Any

import pydantic
import pytest

from burstscaler.cluster import twin


def make_deployment(**template_spec: Any) -> dict[str, Any]:
    """A Deployment as the API returns it, with an app label and one container."""
    spec = {"containers": [{"name": "web", "image": "registry-vpc.cn-hangzhou.aliyuncs.com/shop/web:1"}]}
    spec.update(template_spec)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate"},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": spec},
        },
    }


POLICY = {"apiVersion": "burstscaler.io/v1alpha1", "kind": "BurstPolicy", "metadata": {"name": "web", "uid": "u-1"}}


def test_alibaba_eci_twin() -> None:
    rendered = twin.render(make_deployment(), policy=POLICY, provider="alibaba-eci", pod_template_patch={}, replicas=4)
    assert rendered["metadata"]["name"] == "web-burst"
    assert rendered["spec"]["replicas"] == 4
    assert rendered["spec"]["selector"]["matchLabels"] == {"app": "web", "burstscaler.io/tier": "burst"}
    template = rendered["spec"]["template"]
    assert template["metadata"]["labels"]["app"] == "web", "the base's Services must still select burst pods"
    assert template["metadata"]["labels"]["alibabacloud.com/eci"] == "true"
    assert template["metadata"]["labels"]["burstscaler.io/tier"] == "burst"
    assert template["spec"]["nodeSelector"] == {"type": "virtual-kubelet"}
    assert {
        "key": "virtual-kubelet.io/provider",
        "operator": "Equal",
        "value": "alibabacloud",
        "effect": "NoSchedule",
    } in template["spec"]["tolerations"]
    assert "controller.kubernetes.io/pod-deletion-cost" not in template["metadata"]["annotations"], (
        "a cost equal on every pod of the twin's one ReplicaSet ranks nothing"
    )
    owner = rendered["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["uid"], owner["controller"]) == ("BurstPolicy", "u-1", True)
    assert rendered["spec"]["strategy"] == {"type": "RollingUpdate"}


def test_base_node_pinning_is_replaced_and_pod_affinity_kept() -> None:
    base = make_deployment(
        nodeSelector={"pool": "general"},
        affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {}}, "podAntiAffinity": {"x": 1}},
    )
    spec = twin.render(base, policy=POLICY, provider="azure-aci", pod_template_patch={}, replicas=1)["spec"][
        "template"
    ]["spec"]
    assert "nodeSelector" not in spec, "AKS v1 and v2 nodes differ: routed by ORed affinity terms instead"
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert [term["matchExpressions"][0]["key"] for term in terms] == ["type", "virtualization"]
    assert spec["affinity"]["podAntiAffinity"] == {"x": 1}
    assert {"key": "azure.com/aci", "effect": "NoSchedule"} in spec["tolerations"]


def test_generic_takes_routing_from_the_patch() -> None:
    patch = {
        "metadata": {"labels": {"vnode": "yes"}, "annotations": {"k8s.aliyun.com/eci-use-specs": "2-4Gi"}},
        "spec": {"nodeSelector": {"kind": "vnode"}, "tolerations": [{"key": "vnode", "operator": "Exists"}]},
    }
    base = make_deployment(tolerations=[{"key": "base", "operator": "Exists"}])
    template = twin.render(base, policy=POLICY, provider="generic", pod_template_patch=patch, replicas=0)["spec"][
        "template"
    ]
    assert template["spec"]["nodeSelector"] == {"kind": "vnode"}
    assert template["spec"]["tolerations"] == [
        {"key": "base", "operator": "Exists"},
        {"key": "vnode", "operator": "Exists"},
    ]
    assert template["metadata"]["labels"]["vnode"] == "yes"
    assert template["metadata"]["annotations"]["k8s.aliyun.com/eci-use-specs"] == "2-4Gi"


def test_render_does_not_mutate_the_base() -> None:
    base = make_deployment()
    before = copy.deepcopy(base)
    patch = {"spec": {"nodeSelector": {"zone": "a"}, "tolerations": [{"key": "x", "operator": "Exists"}]}}
    twin.render(base, policy=POLICY, provider="alibaba-eci", pod_template_patch=patch, replicas=1)
    assert base == before


@pytest.mark.parametrize(
    "patch",
    [
        pytest.param({"spec": {"containers": [{"name": "x", "image": "evil/x"}]}}, id="containers"),
        pytest.param({"spec": {"nodeName": "master-1"}}, id="node-name"),
        pytest.param({"spec": {"serviceAccountName": "deployer-admin"}}, id="service-account"),
        pytest.param({"metadata": {"labels": {"burstscaler.io/tier": "base"}}}, id="tier-label"),
    ],
)
def test_the_renderer_itself_refuses_what_the_allowlist_refuses(patch: dict[str, Any]) -> None:
    # Defence in depth: even a caller that skipped validation cannot get a pod spec through the twin.
    with pytest.raises(pydantic.ValidationError):
        twin.render(make_deployment(), policy=POLICY, provider="alibaba-eci", pod_template_patch=patch, replicas=1)


@pytest.mark.parametrize(
    ("patch", "provider", "path"),
    [
        pytest.param(
            {"metadata": {"labels": {"app": "evil"}}}, "alibaba-eci", "metadata.labels.app", id="selector-label"
        ),
        pytest.param(
            {"spec": {"nodeSelector": {"type": "ecs"}}}, "alibaba-eci", "spec.nodeSelector.type", id="reroutes-eci"
        ),
    ],
)
def test_patch_problems_name_the_field(patch: dict[str, Any], provider: str, path: str) -> None:
    problems = twin.patch_problems(make_deployment(), provider=provider, patch=patch)
    assert len(problems) == 1 and problems[0].startswith(f"spec.burst.podTemplatePatch.{path}:")


def test_a_patch_that_fits_has_no_problems() -> None:
    patch = {"metadata": {"labels": {"team": "a"}}, "spec": {"nodeSelector": {"type": "virtual-kubelet", "zone": "b"}}}
    assert twin.patch_problems(make_deployment(), provider="alibaba-eci", patch=patch) == []


@pytest.mark.parametrize(
    ("refs", "owned"),
    [
        pytest.param([{"kind": "BurstPolicy", "uid": "u-1", "controller": True}], True, id="ours"),
        pytest.param([{"kind": "BurstPolicy", "uid": "u-2", "controller": True}], False, id="another-policy"),
        pytest.param([{"kind": "BurstPolicy", "uid": "u-1"}], False, id="not-controller"),
        pytest.param([], False, id="no-owner"),
    ],
)
def test_owned_only_by_the_controlling_reference_with_the_policy_uid(refs: list[Any], owned: bool) -> None:
    body = {"metadata": {"name": "web-burst", "ownerReferences": refs}}
    assert twin.owned_by(body, uid="u-1") is owned


def test_a_long_policy_name_still_gives_a_valid_label() -> None:
    name = "p" * 70 + "-x" * 40
    rendered = twin.render(
        make_deployment(),
        policy={"metadata": {"name": name, "uid": "u"}},
        provider="alibaba-eci",
        pod_template_patch={},
        replicas=1,
    )
    value = rendered["metadata"]["labels"][twin.POLICY_LABEL]
    assert len(value) <= 63 and re.fullmatch(r"[a-z0-9]([-a-z0-9_.]*[a-z0-9])?", value)
    assert rendered["spec"]["template"]["metadata"]["labels"][twin.POLICY_LABEL] == value
    assert twin.policy_label_value(name + "y") != value


@pytest.mark.parametrize(
    ("change", "stale"),
    [
        pytest.param(lambda d: None, False, id="unchanged"),
        pytest.param(
            lambda d: d["spec"]["template"]["spec"]["containers"][0].update(image="web:2"), True, id="image-rollout"
        ),
        pytest.param(lambda d: d["spec"].update(replicas=9), False, id="base-scaled"),
    ],
)
def test_twin_follows_the_base_template(change: Any, stale: bool) -> None:
    base = make_deployment()
    rendered = twin.render(base, policy=POLICY, provider="alibaba-eci", pod_template_patch={}, replicas=1)
    change(base)
    assert twin.is_stale(rendered, base=base, provider="alibaba-eci", patch={}) is stale


def test_patch_or_provider_change_makes_the_twin_stale() -> None:
    base = make_deployment()
    rendered = twin.render(base, policy=POLICY, provider="alibaba-eci", pod_template_patch={}, replicas=1)
    assert twin.is_stale(rendered, base=base, provider="azure-aci", patch={})
    assert twin.is_stale(rendered, base=base, provider="alibaba-eci", patch={"metadata": {"labels": {"a": "b"}}})


# -- spot (issue 16) ------------------------------------------------------------------------------

SPOT = {"k8s.aliyun.com/eci-spot-strategy": "SpotAsPriceGo", "k8s.aliyun.com/eci-spot-duration": "1"}


def test_spot_annotations_are_rendered_on_the_twins_pods() -> None:
    rendered = twin.render(
        make_deployment(), policy=POLICY, provider="alibaba-eci", pod_template_patch={}, replicas=1, spot=SPOT
    )
    annotations = rendered["spec"]["template"]["metadata"]["annotations"]
    assert {key: annotations[key] for key in SPOT} == SPOT


@pytest.mark.parametrize(
    ("base_annotations", "patch_annotations", "spot", "expected"),
    [
        pytest.param(
            {"k8s.aliyun.com/eci-spot-strategy": "SpotAsPriceGo"}, {}, None, {}, id="base-spot-dropped-on-demand"
        ),
        pytest.param(
            {"k8s.aliyun.com/eci-spot-price-limit": "9.999", "k8s.aliyun.com/eci-spot-fallback": "true"},
            {},
            SPOT,
            SPOT,
            id="base-limit-and-eci-fallback-dropped",
        ),
        pytest.param(
            {},
            {"k8s.aliyun.com/eci-spot-strategy": "SpotWithPriceLimit"},
            SPOT,
            SPOT,
            id="patch-cannot-override-the-operator",
        ),
        pytest.param({}, {"k8s.aliyun.com/eci-spot-strategy": "SpotAsPriceGo"}, None, {}, id="patch-cannot-add-spot"),
    ],
)
def test_spot_annotations_are_the_operators_alone(
    base_annotations: dict[str, str],
    patch_annotations: dict[str, str],
    spot: dict[str, str] | None,
    expected: dict[str, str],
) -> None:
    base = make_deployment()
    base["spec"]["template"]["metadata"]["annotations"] = dict(base_annotations)
    patch = {"metadata": {"annotations": patch_annotations}}
    rendered = twin.template(base, provider="alibaba-eci", patch=patch, spot=spot)
    annotations = rendered["metadata"]["annotations"]
    assert {key: value for key, value in annotations.items() if key.startswith("k8s.aliyun.com/eci-spot")} == expected


def test_a_patch_with_spot_annotations_is_refused_with_its_path() -> None:
    problems = twin.patch_problems(
        make_deployment(),
        provider="alibaba-eci",
        patch={"metadata": {"annotations": {"k8s.aliyun.com/eci-spot-strategy": "SpotAsPriceGo"}}},
    )
    assert len(problems) == 1
    assert problems[0].startswith("spec.burst.podTemplatePatch.metadata.annotations.k8s.aliyun.com/eci-spot-strategy")
    assert "spec.burst.spot" in problems[0]


@pytest.mark.parametrize(
    ("before", "after", "stale"),
    [
        pytest.param(None, None, False, id="on-demand-stays"),
        pytest.param(None, SPOT, True, id="spot-on-rolls-out"),
        pytest.param(SPOT, None, True, id="fallback-rolls-out"),
        pytest.param(SPOT, {**SPOT, "k8s.aliyun.com/eci-spot-duration": "0"}, True, id="protection-change"),
        pytest.param(SPOT, dict(SPOT), False, id="same-spot-stays"),
    ],
)
def test_source_hash_follows_the_spot_mode(
    before: dict[str, str] | None, after: dict[str, str] | None, stale: bool
) -> None:
    base = make_deployment()
    rendered = twin.render(base, policy=POLICY, provider="alibaba-eci", pod_template_patch={}, replicas=1, spot=before)
    assert twin.is_stale(rendered, base=base, provider="alibaba-eci", patch={}, spot=after) is stale


def test_on_demand_hash_is_unchanged_by_the_spot_argument() -> None:
    base = make_deployment()
    assert twin.source_hash(base, provider="alibaba-eci", patch={}) == twin.source_hash(
        base, provider="alibaba-eci", patch={}, spot={}
    ), "upgrading the operator must not roll out every on-demand twin"


def test_fallback_until_is_recorded_on_the_twin() -> None:
    rendered = twin.render(
        make_deployment(),
        policy=POLICY,
        provider="alibaba-eci",
        pod_template_patch={},
        replicas=1,
        spot_fallback_until="2026-12-02T06:00:00Z",
    )
    assert rendered["metadata"]["annotations"]["burstscaler.io/spot-fallback-until"] == "2026-12-02T06:00:00Z"
