"""The virtual node's spot rules for the cluster actor: refuse spot pods, or announce and carry out a release.

What a real ECI virtual node does, through the API only (sources in ``burstscaler.cluster.spot``):

- **refusal** (no stock at the bid, a limit under the market): the virtual kubelet cannot create the pod
  and writes ``status.reason: ProviderFailed`` with ECI's error as ``status.message``; a Deployment's pod
  (restartPolicy Always) stays Pending, so its ReplicaSet does not replace it;
- **release**: ACK's virtual node sets the pod condition ``ContainerInstanceExpired`` to True a few minutes
  before ECI reclaims the instance (here ``notice_seconds``), then the pod is Failed with reason
  ``BidFailed`` (no longer active: its ReplicaSet creates a replacement).

A pod is a spot pod when it carries ``k8s.aliyun.com/eci-spot-strategy`` and is bound to a virtual node.
The rules are independent of ``burstscaler`` (the harness judges the operator, it does not share its code).
Every duration is on the clock the actor passes in.
"""

from __future__ import annotations

from typing import Any

import attrs

from . import client

SPOT_STRATEGY = "k8s.aliyun.com/eci-spot-strategy"
EXPIRED_CONDITION = "ContainerInstanceExpired"
STOCK_OUT = "Create ECI failed because the specified instance is out of stock. (spot: no stock at the bid)"


@attrs.define(kw_only=True)
class SpotRules:
    """What the virtual node does with spot pods (nothing by default: they run as any pod)."""

    refuse: bool = False  # every new spot pod is refused
    release: int = 0  # this many Running spot pods get a release notice (the first seen), then are released
    release_after: float = 0.0  # seconds a spot pod runs before its notice
    notice_seconds: float = 10.0  # seconds between the notice and the release
    refused: list[str] = attrs.field(factory=list)  # names of the pods refused so far
    released: list[str] = attrs.field(factory=list)  # names of the pods released so far
    _running_since: dict[str, float] = attrs.field(factory=dict, init=False)
    _noticed_at: dict[str, float] = attrs.field(factory=dict, init=False)

    def intercept(self, api: client.RestClient, pod: dict[str, Any], *, virtual: bool, now: float) -> bool:
        """Apply the rules to one bound pod; True when the pod is the rules' (the kubelet leaves it alone)."""
        annotations = pod["metadata"].get("annotations") or {}
        if not virtual or SPOT_STRATEGY not in annotations or pod["metadata"].get("deletionTimestamp"):
            return False
        status = pod.get("status") or {}
        if status.get("reason") == "ProviderFailed":
            return True  # refused once: the virtual kubelet does not retry it
        phase = status.get("phase") or "Pending"
        if phase == "Pending" and self.refuse:
            self._refuse(api, pod)
            return True
        if phase == "Running":
            return self._maybe_release(api, pod, now=now)
        return False

    def _refuse(self, api: client.RestClient, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        conditions = [
            {"type": "PodScheduled", "status": "True"},
            {"type": "Ready", "status": "False", "reason": "ProviderFailed"},
        ]
        body = {"status": {"phase": "Pending", "reason": "ProviderFailed", "message": STOCK_OUT}}
        body["status"]["conditions"] = conditions
        api.patch("Pod", meta["name"], body, namespace=meta["namespace"], subresource="status")
        self.refused.append(meta["name"])

    def _maybe_release(self, api: client.RestClient, pod: dict[str, Any], *, now: float) -> bool:
        meta = pod["metadata"]
        uid = meta["uid"]
        since = self._running_since.setdefault(uid, now)
        noticed = self._noticed_at.get(uid)
        if noticed is None:
            if len(self._noticed_at) >= self.release or now - since < self.release_after:
                return False
            self._noticed_at[uid] = now
            conditions = [c for c in pod["status"].get("conditions") or [] if c.get("type") != EXPIRED_CONDITION]
            conditions.append({"type": EXPIRED_CONDITION, "status": "True", "reason": "SpotToBeReleased"})
            api.patch(
                "Pod", meta["name"], {"status": {"conditions": conditions}}, namespace=meta["namespace"],
                subresource="status",
            )  # fmt: skip
            return True
        if now - noticed < self.notice_seconds or meta["name"] in self.released:
            return True
        conditions = [
            {**c, "status": "False"} if c.get("type") in ("Ready", "ContainersReady") else c
            for c in pod["status"].get("conditions") or []
        ]
        released = {
            "phase": "Failed",
            "reason": "BidFailed",
            "message": "The pod is spot instance, and have been released",
            "conditions": conditions,
        }
        api.patch("Pod", meta["name"], {"status": released}, namespace=meta["namespace"], subresource="status")
        self.released.append(meta["name"])
        return True
