"""Faults reach only the client they are armed for: the operator by default, never the actor.

The emulator tells clients apart by the User-Agent each sends on its own: Kopf's aiohttp session
(``kopf/<version>``) and the official client (``OpenAPI-Generator/<version>/python``) are the
operator process; the cluster actor sends its own; kubectl and the tests' REST client are others.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from .harness import actor, client, faults, hosting, objects

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("user_agent", "identity"),
    [
        pytest.param("kopf/1.45.2", "operator", id="kopf"),
        pytest.param("OpenAPI-Generator/37.0.2/python", "operator", id="official-client"),
        pytest.param("burstscaler/0.1.0", "operator", id="product-identity"),
        pytest.param(faults.ACTOR_AGENT, "actor", id="actor"),
        pytest.param("kubectl/v1.30.2 (linux/amd64) kubernetes/39683505", "kubectl", id="kubectl"),
        pytest.param("python-requests/2.32.3", "test", id="requests"),
        pytest.param(None, "test", id="none"),
    ],
)
def test_clients_are_told_apart_by_user_agent(user_agent: str | None, identity: str) -> None:
    assert faults.client_of(user_agent) == identity


def test_the_real_clients_send_the_agents_the_emulator_expects(apiserver: hosting.ApiServer) -> None:
    import kubernetes

    api_client = apiserver.kubernetes_client()
    kubernetes.client.CoreV1Api(api_client).list_node()
    requests.get(f"{apiserver.url}/api/v1/nodes", timeout=5)
    seen = apiserver.call(lambda emulator: dict(emulator.requests_by_client))
    assert seen == {"operator": 1, "test": 1}


@pytest.mark.parametrize(
    ("armed_for", "caught"),
    [
        pytest.param(None, {"operator": 1}, id="default-operator-only"),
        pytest.param("any", {"actor": 1}, id="any-keeps-the-old-behaviour"),  # the actor came first
        pytest.param("actor", {"actor": 1}, id="the-actor-explicitly"),
    ],
)
def test_a_fault_armed_for_the_operator_never_catches_the_actor(
    apiserver: hosting.ApiServer,
    api: client.RestClient,
    cluster_actor: actor.ClusterActor,
    armed_for: str | None,
    caught: dict[str, int],
) -> None:
    import kubernetes

    api.create(objects.ecs_node("ecs-a"))
    api.create(objects.deployment("web", replicas=2))
    if armed_for is None:
        fault = apiserver.faults.arm("GET", r"/api/v1/pods", status=503, count=1)
    else:
        fault = apiserver.faults.arm("GET", r"/api/v1/pods", status=503, count=1, client=armed_for)
    before = apiserver.call(lambda emulator: emulator.requests_by_client["actor"])
    attempt(cluster_actor.step)  # the actor lists /api/v1/pods several times per pass
    core = kubernetes.client.CoreV1Api(apiserver.kubernetes_client())
    attempt(lambda: core.list_pod_for_all_namespaces(_request_timeout=5))  # then the operator's client
    assert dict(fault.caught) == caught and fault.hits == 1
    assert apiserver.call(lambda emulator: emulator.requests_by_client["actor"]) - before >= 3, "the actor polled"


def attempt(call: Callable[[], object]) -> None:
    """Call, and let an injected 503 pass (whoever it catches fails that request)."""
    import kubernetes

    try:
        call()
    except (client.ApiFailure, kubernetes.client.exceptions.ApiException) as e:
        assert getattr(e, "status", None) == 503


def test_an_unknown_client_name_is_refused(apiserver: hosting.ApiServer) -> None:
    with pytest.raises(ValueError, match="unknown client"):
        apiserver.faults.arm("GET", r".*", delay=1, client="operater")
