"""Fixtures of the reliability tier, reused from the e2e tier rather than copied.

- ``apiserver``, ``api``: the KMock-based API emulator and a REST client on it (tests/e2e), with the
  emulator's whole watch log kept so :mod:`.invariants` can replay every write;
- ``cluster``, ``prometheus``: the real-time cluster actor and the real Prometheus (tests/e2e);
- ``operators``: start ``burstscaler run`` processes (:class:`.processes.Operator`), each with its own
  log, printed on teardown and stopped.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import (
    CRD_FILE,
    api,  # noqa: F401  (fixtures, re-exported for this package)
)
from tests.e2e.harness import hosting
from tests.e2e.test_operator import cluster, prometheus  # noqa: F401
from tests.fixtures.prometheus import PrometheusServer

from .invariants import keep_everything
from .processes import Operator


@pytest.fixture
def apiserver(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[hosting.ApiServer]:
    """The e2e emulator, keeping its whole watch log for the invariant checks."""
    with hosting.ApiServer(directory=tmp_path / "apiserver") as server:
        server.install_crd(yaml.safe_load(CRD_FILE.read_text()))
        keep_everything(server)
        monkeypatch.setenv("KUBECONFIG", str(server.kubeconfig))
        yield server


@pytest.fixture
def operators(
    apiserver: hosting.ApiServer, tmp_path: pathlib.Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Operator]]:
    """Start operator processes; by default on the scenario's Prometheus when it uses one."""
    started: list[Operator] = []

    def start(**options: Any) -> Operator:
        if "prometheus_url" not in options and "prometheus" in request.fixturenames:
            server: PrometheusServer = request.getfixturevalue("prometheus")
            options["prometheus_url"] = server.url
        process = Operator(
            kubeconfig=apiserver.kubeconfig, log_path=tmp_path / f"operator-{len(started)}.log", **options
        ).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
    for index, process in enumerate(started):
        print(f"--- operator {index} ({process.log_path.name}) ---\n{process.log()[-15000:]}")
