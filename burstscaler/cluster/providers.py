"""Provider profiles: how a pod is routed to each kind of virtual node, and how such a node is known (DESIGN §1).

A profile is what the burst twin's pods need to land on the virtual node: a nodeSelector or required
node-affinity terms, tolerations, labels and annotations, and whether the base's own node pins (its
nodeSelector and node affinity, which name ECS/EC2 pools) are dropped. `generic` has none: a VNode of
your own carries whatever labels and taints its operator chose, so the policy's podTemplatePatch states
them. Each convention names its source; they change, so check them against the provider's current page.

``Profile.no_spot`` says why a provider's virtual-node pods cannot run on spot instances (empty for the two
ECI profiles, whose spot annotations ``cluster.spot`` renders); lint reports it when a policy asks for spot.

``VIRTUAL_NODE_LABELS`` is how the operator tells a virtual node from an ordinary one (its room is the
provider's, not ECS capacity): the default of ``--virtual-node-label``, covering every profile below.
"""

from __future__ import annotations

import dataclasses
from typing import Any

VIRTUAL_NODE_LABEL = ("type", "virtual-kubelet")

#: Labels that mark a virtual node, one per provider convention (the operator's default; configurable with
#: --virtual-node-label). A node with a ``virtual-kubelet.io/*`` taint is virtual as well.
VIRTUAL_NODE_LABELS: tuple[tuple[str, str], ...] = (
    # ACK's virtual node (virtual-kubelet) and AKS virtual nodes v1: both label their node type=virtual-kubelet.
    # ACK: https://www.alibabacloud.com/help/en/ack/serverless-kubernetes/user-guide/schedule-pods-to-elastic-container-instances
    # AKS v1: https://learn.microsoft.com/en-us/azure/aks/virtual-nodes-cli (the sample's nodeSelector)
    VIRTUAL_NODE_LABEL,
    # Alibaba's self-built VNode (ECI in a self-managed cluster) labels and taints its node k8s.aliyun.com/vnode=true:
    # https://www.alibabacloud.com/help/en/eci/user-guide/manually-connect-a-vnode-to-a-self-managed-kubernetes-cluster
    ("k8s.aliyun.com/vnode", "true"),
    # AKS virtual nodes v2 (virtual-kubelet on ACI standby pools): nodeSelector virtualization: virtualnode2,
    # https://github.com/microsoft/virtualnodesOnAzureContainerInstances (README, "Scheduling pods")
    ("virtualization", "virtualnode2"),
    # EKS Fargate: every Fargate node is labelled eks.amazonaws.com/compute-type=fargate,
    # https://docs.aws.amazon.com/eks/latest/userguide/fargate-pod-configuration.html
    ("eks.amazonaws.com/compute-type", "fargate"),
)


@dataclasses.dataclass(frozen=True)
class Profile:
    """Routing of burst pods to one provider's virtual node."""

    name: str
    node_selector: dict[str, str]
    tolerations: list[dict[str, Any]]
    labels: dict[str, str]
    annotations: dict[str, str]
    note: str = ""
    #: Required node-affinity terms (ORed) replacing the base's: for a provider with two node conventions.
    node_terms: tuple[dict[str, Any], ...] = ()
    #: Drop the base's nodeSelector and node affinity even with no selector of our own (Fargate places by profile).
    drops_node_pins: bool = False
    #: Why pods on this provider's virtual node cannot be spot instances; empty when they can.
    no_spot: str = ""

    @property
    def routes(self) -> bool:
        """True when the twin's pods are routed by this profile (the base's node pins are then dropped)."""
        return bool(self.node_selector or self.node_terms or self.drops_node_pins)


def _match(key: str, value: str) -> dict[str, Any]:
    return {"matchExpressions": [{"key": key, "operator": "In", "values": [value]}]}


_ECI_TOLERATION = {
    "key": "virtual-kubelet.io/provider",
    "operator": "Equal",
    "value": "alibabacloud",
    "effect": "NoSchedule",
}

PROFILES: dict[str, Profile] = {
    # ACK's virtual node: nodeSelector type=virtual-kubelet, toleration virtual-kubelet.io/provider=alibabacloud;
    # the label alibabacloud.com/eci=true alone routes a pod to ECI on ACK (the selector and toleration make it
    # explicit). https://www.alibabacloud.com/help/en/ack/serverless-kubernetes/user-guide/schedule-pods-to-elastic-container-instances
    "alibaba-eci": Profile(
        name="alibaba-eci",
        node_selector={"type": "virtual-kubelet"},
        tolerations=[dict(_ECI_TOLERATION)],
        labels={"alibabacloud.com/eci": "true"},
        annotations={},
    ),
    # Self-built VNode: node labelled k8s.aliyun.com/vnode=true and tainted k8s.aliyun.com/vnode=true:NoSchedule;
    # pods select the label and tolerate the taint.
    # https://www.alibabacloud.com/help/en/eci/user-guide/manually-connect-a-vnode-to-a-self-managed-kubernetes-cluster
    "alibaba-vnode": Profile(
        name="alibaba-vnode",
        node_selector={"k8s.aliyun.com/vnode": "true"},
        tolerations=[
            {"key": "k8s.aliyun.com/vnode", "operator": "Equal", "value": "true", "effect": "NoSchedule"},
            dict(_ECI_TOLERATION),
        ],
        labels={},
        annotations={},
    ),
    # AKS virtual nodes: v1 (type=virtual-kubelet, taints virtual-kubelet.io/provider and azure.com/aci) or
    # v2 (virtualization=virtualnode2, taint virtual-kubelet.io/provider): either node, so two ORed affinity
    # terms rather than one selector. v1: https://learn.microsoft.com/en-us/azure/aks/virtual-nodes-cli
    # v2: https://github.com/microsoft/virtualnodesOnAzureContainerInstances
    "azure-aci": Profile(
        name="azure-aci",
        node_selector={},
        node_terms=(_match(*VIRTUAL_NODE_LABEL), _match("virtualization", "virtualnode2")),
        tolerations=[
            {"key": "virtual-kubelet.io/provider", "operator": "Exists"},
            {"key": "azure.com/aci", "effect": "NoSchedule"},
        ],
        labels={},
        annotations={},
        # ACI's Spot containers (preview) are standalone container groups created with priority Spot; the
        # AKS virtual node does not create them (an open request: virtual-kubelet/azure-aci#195).
        # https://learn.microsoft.com/en-us/azure/container-instances/container-instances-spot-containers-overview
        no_spot="ACI Spot containers exist only as standalone container groups, not for AKS virtual-node pods",
    ),
    # EKS Fargate places a pod that a Fargate profile selects (namespace + labels); a nodeSelector or node
    # affinity naming EC2 node groups would keep it Pending, so the twin drops them and carries the label.
    # https://docs.aws.amazon.com/eks/latest/userguide/fargate-profile.html
    "aws-fargate": Profile(
        name="aws-fargate",
        node_selector={},
        tolerations=[],
        labels={"burstscaler.io/fargate": "true"},
        annotations={},
        note="create a Fargate profile selecting label burstscaler.io/fargate=true in the namespace",
        drops_node_pins=True,
        # Fargate Spot is a capacity provider of ECS clusters; EKS Fargate profiles run pods on-demand only
        # (https://docs.aws.amazon.com/AmazonECS/latest/userguide/fargate-capacity-providers.html; the EKS
        # request is aws/containers-roadmap#622).
        no_spot="Fargate Spot is an ECS capacity provider; EKS Fargate pods run on-demand only",
    ),
    "generic": Profile(
        name="generic",
        node_selector={},
        tolerations=[],
        labels={},
        annotations={},
        no_spot="a virtual node of your own has no spot convention burstscaler knows",
    ),
}


def profile(name: str) -> Profile:
    """The profile of a provider name from the BurstPolicy API; KeyError names the unknown provider."""
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown provider {name!r}; known: {', '.join(PROFILES)}") from None
