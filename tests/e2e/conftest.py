"""Fixtures of the e2e tier: an API emulator with a kubeconfig, and a cluster actor on it.

- ``apiserver``: a started :class:`~harness.hosting.ApiServer` with the BurstPolicy CRD installed
  (the committed ``crds/burstpolicy.yaml`` when present); ``$KUBECONFIG`` points at its kubeconfig
  for subprocesses (kubectl, ``kopf run``, ``burstscaler run``).
- ``api``: a raw-JSON :class:`~harness.client.RestClient` on it.
- ``clock``: a :class:`~harness.actor.ManualClock` for start-up delays, grace periods and
  tolerations.
- ``cluster_actor``: a :class:`~harness.actor.ClusterActor` driven by ``step()``; start its
  background loop with ``cluster_actor.start()`` (stopped at teardown).

For the operator scenarios (``burstscaler run`` + an actor on real time + a real Prometheus):

- ``prometheus``: the suite's real Prometheus; ``start_operator(**options)``: start the operator on
  the emulator and that Prometheus (its log is printed at teardown);
- ``run_cluster(**options)``: a started :class:`~harness.actor.ClusterActor` on real time (pass
  ``node_autoscaler=autoscaler.NodeAutoscaler(...)`` for a growable pool);
- probes and the shared load policy: :mod:`~harness.scenario`; sidecar injection:
  ``apiserver.admit_with(admission.SidecarInjector(...))``.

Faults (``apiserver.faults.arm``) catch the operator's requests only unless armed with
``client="any"`` (or another identity of :data:`~harness.faults.CLIENTS`).
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from tests.fixtures.prometheus import PrometheusServer

from .harness import actor, client, hosting, objects
from .operator_process import OperatorProcess

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


# -- the operator scenarios: a real Prometheus, `burstscaler run`, an actor on real time ----------


@pytest.fixture
def prometheus(prometheus_server: PrometheusServer) -> PrometheusServer:
    """The suite's real Prometheus (skipped with the install command when the binary is absent)."""
    return prometheus_server


@pytest.fixture
def start_operator(
    apiserver: hosting.ApiServer, prometheus: PrometheusServer, tmp_path: pathlib.Path
) -> Iterator[Callable[..., OperatorProcess]]:
    """Start `burstscaler run` on the emulator and Prometheus (options: OperatorProcess's); log printed at the end."""
    started: list[OperatorProcess] = []
    log_path = tmp_path / "operator.log"

    def start(**options: Any) -> OperatorProcess:
        process = OperatorProcess(
            kubeconfig=apiserver.kubeconfig, log_path=log_path, prometheus_url=prometheus.url, **options
        ).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
    print(log_path.read_text(errors="replace")[-20000:] if log_path.exists() else "")


@pytest.fixture
def run_cluster(apiserver: hosting.ApiServer) -> Iterator[Callable[..., actor.ClusterActor]]:
    """Start a cluster actor on real time (options: ClusterActor's, e.g. ``node_autoscaler``); stopped at teardown.

    The default start-up delays (ECS 1 s, ECI 1.5 s) are those of the operator scenarios in
    test_operator.py: short enough for a test, and ECI slower than ECS as in production.
    """
    running: list[tuple[actor.ClusterActor, client.RestClient]] = []

    def run(**options: Any) -> actor.ClusterActor:
        rest = client.RestClient(apiserver.url)
        options.setdefault("startup_delay", {"ecs": 1.0, "virtual": 1.5})
        cluster = actor.ClusterActor(api=rest, **options).start()
        running.append((cluster, rest))
        return cluster

    yield run
    for cluster, rest in running:
        cluster.stop()
        rest.close()
