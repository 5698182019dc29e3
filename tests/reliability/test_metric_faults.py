"""Metric faults through a real Prometheus into the running operator, with a planted bearer token.

One policy with ``fallback: hold`` and ``failureThreshold: 1`` reads an un-aggregated series, so each
garbage answer can be staged by pushing samples: NaN, +Inf, a negative and a huge value, a second
series, no series (staleness markers), and a hung server (SIGSTOP past the 2-s query timeout). For each,
``MetricsAvailable`` says why, and the replicas hold (or, for values that are numbers, stay within
the policy's bounds); when the fault clears the policy follows the metric again. The operator runs
with ``--prometheus-token-file``: the token must not appear in its log, in Events or in any status.
"""

from __future__ import annotations

import json
import math
import pathlib
import struct
from typing import Any

import pytest

from tests.e2e.harness import client, hosting, objects
from tests.e2e.harness.waiting import eventually
from tests.fixtures.prometheus import PrometheusServer

from .scenario import LOAD, TIMEOUT, bounded, cluster_of, condition, load_policy, replicas, settled

pytestmark = [pytest.mark.e2e, pytest.mark.prometheus]

TOKEN = "planted-Pr0metheus-t0ken-7f3a9c"
# Prometheus' staleness marker (value.StaleNaN): a sample with it ends a series at once.
STALE = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]
SERIES = {"app": "web", "instance": "a"}


def available(api: client.RestClient) -> dict[str, Any]:
    """The MetricsAvailable condition (empty until written)."""
    return condition(api, "web", "MetricsAvailable") or {}


def expect(api: client.RestClient, status: str, reason: str | None = None) -> None:
    """Wait until MetricsAvailable has `status` (and `reason`)."""
    eventually(
        lambda: available(api).get("status") == status and reason in (None, available(api).get("reason")),
        timeout=TIMEOUT,
        message=f"MetricsAvailable={status} {reason or ''}",
    )


def test_garbage_metrics_fall_back_and_recover_and_the_token_stays_secret(
    api: client.RestClient,
    apiserver: hosting.ApiServer,
    cluster: Any,
    prometheus: PrometheusServer,
    operators: Any,
    tmp_path: pathlib.Path,
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    cluster_of(api, ecs_cpu=("4",))  # room for 8 replicas of 500m
    api.create(objects.deployment("web", replicas=2, cpu="500m"))
    prometheus.push_now(LOAD, 40, SERIES)
    query = {"query": f'{LOAD}{{app="web"}}', "target": {"type": "AverageValue", "averageValue": "10"}}
    fallback = {"onMetricsFailure": "hold", "failureThreshold": 1}
    api.create(load_policy(maxReplicas=10, metrics=[{"prometheus": query}], fallback=fallback))
    operator = operators(tick_seconds=1.0, token_file=token_file)
    eventually(lambda: replicas(api, "web") == 4, timeout=TIMEOUT, message="4 replicas for 40 requests/s")
    expect(api, "True")
    started = apiserver.call(lambda emulator: emulator.resource_version)

    for value in (math.nan, math.inf):
        prometheus.push_now(LOAD, value, SERIES)
        expect(api, "False", "InvalidValue")
        assert replicas(api, "web") == 4, f"{value}: hold keeps the replicas"
        prometheus.push_now(LOAD, 40, SERIES)
        expect(api, "True")

    prometheus.push_now(LOAD, 1e300, SERIES)  # a number, absurd: capped by maxReplicas
    eventually(lambda: replicas(api, "web") == 8 and replicas(api, "web-burst") == 2, timeout=TIMEOUT)
    prometheus.push_now(LOAD, -50, SERIES)  # a load is never negative: garbage, so hold
    expect(api, "False", "InvalidValue")
    assert (replicas(api, "web"), replicas(api, "web-burst")) == (8, 2), "hold keeps the replicas"
    prometheus.push_now(LOAD, 40, SERIES)
    eventually(lambda: replicas(api, "web-burst") == 0, timeout=TIMEOUT, message="burst goes first")
    eventually(lambda: replicas(api, "web") == 4, timeout=TIMEOUT, message="back to the metric")

    prometheus.push_now(LOAD, 30, {"app": "web", "instance": "b"})  # a second series
    expect(api, "False", "AmbiguousResult")
    assert replicas(api, "web") == 4
    prometheus.push_now(LOAD, STALE, {"app": "web", "instance": "b"})
    prometheus.push_now(LOAD, STALE, SERIES)  # no series left: the query matches nothing
    expect(api, "False", "EmptyResult")
    assert replicas(api, "web") == 4

    prometheus.pause()  # hung: accepts, never answers
    try:
        expect(api, "False", "PrometheusTimeout")
        assert replicas(api, "web") == 4
    finally:
        prometheus.resume()
    prometheus.push_now(LOAD, 60, SERIES)
    expect(api, "True")
    eventually(lambda: replicas(api, "web") == 6, timeout=TIMEOUT, message="recovered: follows the metric")

    bounded(apiserver, "web", min_replicas=1, max_replicas=10, since=started)
    settled(operator)
    assert_secret_kept(api, operator.log())


def assert_secret_kept(api: client.RestClient, log: str) -> None:
    """The planted token appears nowhere an operator writes: its log, Events, statuses, workloads."""
    assert TOKEN not in log, "the Prometheus token leaked into the operator's log"
    for kind in ("Event", "BurstPolicy", "Deployment"):
        assert TOKEN not in json.dumps(api.list(kind, namespace="default")), f"the token leaked into a {kind}"
