"""Two operator replicas with Kopf peering: only the leader acts; when it dies, the other takes over.

Kopf's ClusterKopfPeering CRD (manifests/base/crd/kopf-peering.yaml) and the peering object
(manifests/base/peering.yaml) are installed in the emulator; both replicas run without --standalone,
with different --priority. A SIGKILLed leader leaves its record until its lifetime (60 s) runs out;
the test ages that record instead of waiting (the follower re-evaluates on the change, as it would
when the deadline passes).
"""

from __future__ import annotations

import pathlib
from typing import Any

import pytest
import yaml

from tests.e2e.harness import client, hosting, objects
from tests.e2e.harness.waiting import eventually

from .scenario import TIMEOUT, cluster_of, replicas, settled

pytestmark = [pytest.mark.e2e]

MANIFESTS = pathlib.Path(__file__).parents[2] / "manifests" / "base"
PEERINGS = "/apis/kopf.dev/v1/clusterkopfpeerings"


def install_peering(apiserver: hosting.ApiServer, api: client.RestClient) -> None:
    """Kopf's peering CRDs and the `burstscaler` ClusterKopfPeering, as the manifests deploy them."""
    for crd in yaml.safe_load_all((MANIFESTS / "crd" / "kopf-peering.yaml").read_text()):
        apiserver.install_crd(crd)
    api.request("POST", PEERINGS, body=yaml.safe_load((MANIFESTS / "peering.yaml").read_text()))


def peers(api: client.RestClient) -> dict[str, Any]:
    """The peering object's status: identity -> {priority, lifetime, lastseen}."""
    return dict(api.request("GET", f"{PEERINGS}/burstscaler").get("status") or {})


def acted(log: str) -> bool:
    """True when the operator applied a plan (it logs each slice's actions)."""
    return "default/web: scale-base" in log or "default/web: create-twin" in log


def test_only_the_leader_acts_and_the_follower_takes_over(
    api: client.RestClient, apiserver: hosting.ApiServer, cluster: Any, operators: Any
) -> None:
    install_peering(apiserver, api)
    cluster_of(api, ecs_cpu=("4",))  # room for 8 replicas of 500m
    api.create(objects.deployment("web", replicas=1, cpu="500m"))
    api.create(objects.burst_policy("web", target="web", minReplicas=3, maxReplicas=10))
    leader = operators(standalone=False, priority=20, prometheus_url=None)
    eventually(lambda: replicas(api, "web") == 3, timeout=TIMEOUT, message="the leader scales")
    follower = operators(standalone=False, priority=10, prometheus_url=None)
    eventually(lambda: len(peers(api)) == 2, timeout=TIMEOUT, message="both replicas registered")
    # A peered replica starts with its watches paused until it has seen the peers (mandatory peering),
    # so the follower never logs a pause: it simply never resumes while the leader lives.
    eventually(lambda: "Keep-alive in 'burstscaler'" in follower.log(), timeout=TIMEOUT)

    api.patch("BurstPolicy", "web", {"spec": {"minReplicas": 5}})
    eventually(lambda: replicas(api, "web") == 5, timeout=TIMEOUT)
    assert not acted(follower.log()), "the follower acted while the leader was alive"

    leader.kill()
    identity, record = next((key, value) for key, value in peers(api).items() if value["priority"] == 20)
    aged = {**record, "lastseen": "2000-01-01T00:00:00+00:00"}  # as if its 60-s lifetime had passed
    api.request(
        "PATCH",
        f"{PEERINGS}/burstscaler",
        body={"status": {identity: aged}},
        content_type=client.CONTENT_TYPES["merge"],
    )
    eventually(lambda: "Resuming operations" in follower.log(), timeout=TIMEOUT, message="the follower resumes")
    api.patch("BurstPolicy", "web", {"spec": {"minReplicas": 6}})
    eventually(lambda: replicas(api, "web") == 6, timeout=TIMEOUT, message="the new leader scales")
    assert acted(follower.log())
    settled(follower)
