"""Provider profiles against each provider's node as it looks in a real cluster (issue 17, item 1).

Per provider: its virtual node (labels and taints as the provider's documentation gives them, see
cluster/providers.py) is detected as virtual with the default labels; the twin rendered for that provider
may be placed on it and on no ECS/EC2 node (by the planner's own eligibility filter, the same one that
decides where base pods fit); and a base pinned to its node pools does not keep the twin off the virtual node.
"""

from __future__ import annotations

from typing import Any

import pytest

from burstscaler.cluster import objects, providers, twin
from burstscaler.core import eligibility
from tests.cluster.test_twin import POLICY, make_deployment


def node(name: str, *, labels: dict[str, str], taints: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """A Ready Node object with ``labels`` and ``taints``."""
    return {
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **labels}},
        "spec": {"taints": taints or []},
        "status": {"allocatable": {"cpu": "4", "memory": "16Gi"}, "conditions": [{"type": "Ready", "status": "True"}]},
    }


ECI_TAINT = {"key": "virtual-kubelet.io/provider", "value": "alibabacloud", "effect": "NoSchedule"}
VIRTUAL_NODES = [
    pytest.param(
        "alibaba-eci",
        node("virtual-kubelet-cn-hangzhou-k", labels={"type": "virtual-kubelet"}, taints=[ECI_TAINT]),
        id="ack-virtual-node",
    ),
    pytest.param(
        "alibaba-vnode",
        node(
            "vnode-cn-hangzhou-k",
            labels={"k8s.aliyun.com/vnode": "true"},
            taints=[{"key": "k8s.aliyun.com/vnode", "value": "true", "effect": "NoSchedule"}],
        ),
        id="self-built-vnode",
    ),
    pytest.param(
        "azure-aci",
        node(
            "virtual-node-aci-linux",
            labels={"type": "virtual-kubelet", "kubernetes.io/role": "agent"},
            taints=[{"key": "virtual-kubelet.io/provider", "value": "azure", "effect": "NoSchedule"}],
        ),
        id="aks-virtual-nodes-v1",
    ),
    pytest.param(
        "azure-aci",
        node(
            "vn2-virtualnode-0",
            labels={"virtualization": "virtualnode2"},
            taints=[{"key": "virtual-kubelet.io/provider", "value": "legacy", "effect": "NoSchedule"}],
        ),
        id="aks-virtual-nodes-v2",
    ),
    pytest.param(
        "aws-fargate",
        node("fargate-ip-10-0-1-5.ec2.internal", labels={"eks.amazonaws.com/compute-type": "fargate"}),
        id="eks-fargate",
    ),
]
ECS_NODE = node("cn-hangzhou.10.0.0.1", labels={"pool": "general", "eks.amazonaws.com/nodegroup": "general"})


def _view(body: dict[str, Any]) -> eligibility.NodeView:
    record = objects.node_record(body, virtual_labels=providers.VIRTUAL_NODE_LABELS)
    return eligibility.NodeView(labels=record.labels, taints=record.taints, name=record.name)


def _fits(pod_spec: dict[str, Any], bodies: list[dict[str, Any]]) -> list[bool]:
    placement = objects.placement_of(pod_spec)
    return [bool(fit) for fit in eligibility.mask(nodes=[_view(b) for b in bodies], policies=[placement])[0]]


@pytest.mark.parametrize(("provider", "virtual_node"), VIRTUAL_NODES)
def test_each_providers_node_is_detected_as_virtual_by_default(provider: str, virtual_node: dict[str, Any]) -> None:
    assert objects.node_record(virtual_node, virtual_labels=providers.VIRTUAL_NODE_LABELS).virtual
    assert not objects.node_record(ECS_NODE, virtual_labels=providers.VIRTUAL_NODE_LABELS).virtual


def test_detection_stays_configurable() -> None:
    own = node("my-vnode", labels={"node.example.com/kind": "vnode"})
    assert not objects.node_record(own, virtual_labels=providers.VIRTUAL_NODE_LABELS).virtual
    assert objects.node_record(own, virtual_labels=[("node.example.com/kind", "vnode")]).virtual


@pytest.mark.parametrize(("provider", "virtual_node"), VIRTUAL_NODES)
def test_the_twin_of_a_pinned_base_lands_on_the_virtual_node_only(provider: str, virtual_node: dict[str, Any]) -> None:
    pinned = {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": []}]}}
    pinned["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchExpressions"] = [
        {"key": "eks.amazonaws.com/nodegroup", "operator": "In", "values": ["general"]}
    ]
    base = make_deployment(nodeSelector={"pool": "general"}, affinity={"nodeAffinity": pinned})
    assert _fits(base["spec"]["template"]["spec"], [virtual_node, ECS_NODE]) == [False, True], "the base is pinned"
    rendered = twin.render(base, policy=POLICY, provider=provider, pod_template_patch={}, replicas=1)
    pod_spec = rendered["spec"]["template"]["spec"]
    fits = _fits(pod_spec, [virtual_node, ECS_NODE])
    assert fits[0], f"the {provider} twin may run on its virtual node"
    if provider != "aws-fargate":  # Fargate places by profile (namespace + labels), not by node selection
        assert not fits[1], f"the {provider} twin is routed away from the ECS pool"


def test_fargate_twin_carries_the_profile_label_and_no_ec2_pins() -> None:
    base = make_deployment(nodeSelector={"eks.amazonaws.com/nodegroup": "general"}, affinity={"podAntiAffinity": {}})
    template = twin.render(base, policy=POLICY, provider="aws-fargate", pod_template_patch={}, replicas=1)["spec"][
        "template"
    ]
    assert template["metadata"]["labels"]["burstscaler.io/fargate"] == "true"
    assert "nodeSelector" not in template["spec"]
    assert "nodeAffinity" not in (template["spec"].get("affinity") or {})
    assert template["spec"]["affinity"] == {"podAntiAffinity": {}}, "pod (anti-)affinity is the workload's own"


def test_generic_keeps_the_bases_pins_for_the_patch_to_replace() -> None:
    base = make_deployment(nodeSelector={"pool": "general"})
    spec = twin.render(base, policy=POLICY, provider="generic", pod_template_patch={}, replicas=1)["spec"]["template"]
    assert spec["spec"]["nodeSelector"] == {"pool": "general"}


def test_every_profile_is_a_provider_of_the_api() -> None:
    from typing import get_args

    from burstscaler.api import spec

    assert set(providers.PROFILES) == set(get_args(spec.Provider))
