"""Fixtures of the e2e tier: an API emulator with a kubeconfig, and a cluster actor on it.

- ``apiserver``: a started :class:`~harness.hosting.ApiServer` with the BurstPolicy CRD installed
  (the committed ``crds/burstpolicy.yaml`` when present); ``$KUBECONFIG`` points at its kubeconfig
  for subprocesses (kubectl, ``kopf run``, ``burstscaler run``).
- ``api``: a raw-JSON :class:`~harness.client.RestClient` on it.
- ``clock``: a :class:`~harness.actor.ManualClock` for start-up delays, grace periods and
  tolerations.
- ``cluster_actor``: a :class:`~harness.actor.ClusterActor` driven by ``step()``; start its
  background loop with ``cluster_actor.start()`` (stopped at teardown).

Faults (``apiserver.faults.arm``) catch the operator's requests only unless armed with
``client="any"`` (or another identity of :data:`~harness.faults.CLIENTS`).
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest
import yaml

from .harness import actor, client, hosting, objects

CRD_FILE = pathlib.Path(__file__).parents[2] / "crds" / "burstpolicy.yaml"


@pytest.fixture
def apiserver(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[hosting.ApiServer]:
    with hosting.ApiServer(directory=tmp_path / "apiserver") as server:
        crd = yaml.safe_load(CRD_FILE.read_text()) if CRD_FILE.exists() else objects.burst_policy_crd()
        server.install_crd(crd)
        monkeypatch.setenv("KUBECONFIG", str(server.kubeconfig))
        yield server


@pytest.fixture
def api(apiserver: hosting.ApiServer) -> Iterator[client.RestClient]:
    rest = client.RestClient(apiserver.url)
    yield rest
    rest.close()


@pytest.fixture
def clock() -> actor.ManualClock:
    return actor.ManualClock()


@pytest.fixture
def cluster_actor(apiserver: hosting.ApiServer, clock: actor.ManualClock) -> Iterator[actor.ClusterActor]:
    rest = client.RestClient(apiserver.url)
    cluster = actor.ClusterActor(api=rest, clock=clock, startup_delay={"ecs": 2.0, "virtual": 5.0})
    yield cluster
    cluster.stop()
    rest.close()
