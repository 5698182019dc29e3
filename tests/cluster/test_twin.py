"""The burst twin: base template + provider profile + podTemplatePatch + the tier label."""

from __future__ import annotations

import copy
from typing import Any

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
    assert template["metadata"]["annotations"]["controller.kubernetes.io/pod-deletion-cost"] == "-1000"
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
    assert spec["nodeSelector"] == {"type": "virtual-kubelet"}
    assert spec["affinity"] == {"podAntiAffinity": {"x": 1}}
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
    twin.render(base, policy=POLICY, provider="alibaba-eci", pod_template_patch={"spec": {"x": 1}}, replicas=1)
    assert base == before


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
