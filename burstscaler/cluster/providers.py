"""Provider profiles: how a pod is routed to each kind of virtual node (DESIGN §1).

A profile is the nodeSelector, tolerations, labels and annotations the burst twin's pods need to land on
the virtual node. `generic` has none: a self-built VNode's labels and taints are whatever its operator
chose, so the policy's podTemplatePatch states them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

VIRTUAL_NODE_LABEL = ("type", "virtual-kubelet")


@dataclasses.dataclass(frozen=True)
class Profile:
    """Routing of burst pods to one provider's virtual node."""

    name: str
    node_selector: dict[str, str]
    tolerations: list[dict[str, Any]]
    labels: dict[str, str]
    annotations: dict[str, str]
    note: str = ""


PROFILES: dict[str, Profile] = {
    "alibaba-eci": Profile(
        name="alibaba-eci",
        node_selector={"type": "virtual-kubelet"},
        tolerations=[
            {
                "key": "virtual-kubelet.io/provider",
                "operator": "Equal",
                "value": "alibabacloud",
                "effect": "NoSchedule",
            }
        ],
        # On ACK this label alone routes a pod to ECI; the selector and toleration make it explicit.
        labels={"alibabacloud.com/eci": "true"},
        annotations={},
    ),
    "azure-aci": Profile(
        name="azure-aci",
        node_selector={"type": "virtual-kubelet"},
        tolerations=[
            {"key": "virtual-kubelet.io/provider", "operator": "Exists"},
            {"key": "azure.com/aci", "effect": "NoSchedule"},
        ],
        labels={},
        annotations={},
    ),
    "aws-fargate": Profile(
        name="aws-fargate",
        node_selector={},
        tolerations=[],
        # Fargate places pods that a Fargate profile selects by namespace and labels: create a profile
        # selecting this label in the workload's namespace.
        labels={"burstscaler.io/fargate": "true"},
        annotations={},
        note="create a Fargate profile selecting label burstscaler.io/fargate=true in the namespace",
    ),
    "generic": Profile(name="generic", node_selector={}, tolerations=[], labels={}, annotations={}),
}


def profile(name: str) -> Profile:
    """The profile of a provider name from the BurstPolicy API; KeyError names the unknown provider."""
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown provider {name!r}; known: {', '.join(PROFILES)}") from None
