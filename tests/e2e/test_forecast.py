"""The forecast lead end to end: the real operator, the emulator and its actor, a real Prometheus.

Two workloads scaled on one steadily rising metric by two policies that differ only in
``spec.forecast.enabled``. With the forecast, each replica count is asked for at least one start-up
delay before the reactive policy asks for it (issue 16: "the forecast scales ahead of a ramp by at
least one start-up delay"). The metric's past is remote-written into Prometheus before the operator
starts (as if it had been scraped), the rest in real time while the test runs.
"""

from __future__ import annotations

import pathlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from tests.fixtures.prometheus import PrometheusServer

from .harness import actor, client, hosting, objects
from .harness.waiting import eventually
from .operator_process import OperatorProcess

pytestmark = [pytest.mark.e2e, pytest.mark.prometheus]

LOAD = "ramp_requests_per_second"
LABELS = {"app": "ramp"}
RISE = 0.5  # requests/s gained per second
TARGET = 5  # requests/s per replica: one more replica every 10 s of ramp
LEAD = 10  # forecast.burstStartupSeconds: the lead the forecast policy scales by
ECI_STARTUP = 3.0  # what the actor's virtual node really takes to start a pod (below the declared lead)
TICK = 1.0


def rate(t: float, *, start: float) -> float:
    """The load at ``t``: flat at 10 until ``start``, then rising ``RISE`` per second."""
    return 10.0 + RISE * max(0.0, t - start)


def policy(name: str, *, forecast: bool) -> dict[str, Any]:
    return objects.burst_policy(
        name,
        target=name,
        minReplicas=1,
        maxReplicas=60,
        metrics=[
            {
                "prometheus": {
                    "query": f'sum({LOAD}{{app="ramp"}})',
                    "target": {"type": "AverageValue", "averageValue": str(TARGET)},
                }
            }
        ],
        # Both policies follow the metric exactly (no tolerance, no rate limit) so only the lead differs.
        behavior={
            "scaleUp": {"tolerance": "0", "policies": [{"type": "Percent", "value": 1000, "periodSeconds": 15}]},
            "scaleDown": {"stabilizationWindowSeconds": 0},
        },
        forecast={"enabled": forecast, "lookback": "5m", "burstStartupSeconds": LEAD},
    )


class Levels:
    """Records, every 0.1 s, when each workload's total target (base + twin) first reached each count."""

    def __init__(self, api: client.RestClient, names: tuple[str, ...]) -> None:
        self.api, self.names = api, names
        self.first: dict[str, dict[int, float]] = {name: {} for name in names}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Levels:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def totals(self) -> dict[str, int]:
        """Each workload's base + twin spec.replicas, from one list (both seen at the same instant)."""
        replicas = {item["metadata"]["name"]: int(item["spec"]["replicas"]) for item in self.api.list("Deployment")}
        return {name: replicas.get(name, 0) + replicas.get(f"{name}-burst", 0) for name in self.names}

    def total(self, name: str) -> int:
        return self.totals()[name]

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                totals, seen = self.totals(), time.monotonic()
            except Exception:  # a missed sample is fine; the next one comes 0.1 s later
                self._stop.wait(0.1)
                continue
            for name, total in totals.items():
                for level in range(1, total + 1):
                    self.first[name].setdefault(level, seen)
            self._stop.wait(0.1)


class Feeder:
    """Pushes the load into Prometheus every 0.5 s in real time (stamped now)."""

    def __init__(self, prometheus: PrometheusServer, *, start: float) -> None:
        self.prometheus, self.start = prometheus, start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Feeder:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.prometheus.push_now(LOAD, rate(time.time(), start=self.start), LABELS)
            self._stop.wait(0.5)


@pytest.fixture
def cluster(apiserver: hosting.ApiServer) -> Iterator[actor.ClusterActor]:
    rest = client.RestClient(apiserver.url)
    running = actor.ClusterActor(api=rest, startup_delay={"ecs": 1.0, "virtual": ECI_STARTUP}).start()
    yield running
    running.stop()
    rest.close()


@pytest.fixture
def operator(
    apiserver: hosting.ApiServer, prometheus_server: PrometheusServer, tmp_path: pathlib.Path
) -> Iterator[OperatorProcess]:
    log = tmp_path / "operator.log"
    process = OperatorProcess(
        kubeconfig=apiserver.kubeconfig, log_path=log, prometheus_url=prometheus_server.url, tick_seconds=TICK
    )
    yield process
    process.stop()
    print(log.read_text(errors="replace")[-20000:] if log.exists() else "")


def test_the_forecast_scales_ahead_of_a_ramp_by_a_start_up_delay(
    api: client.RestClient,
    cluster: actor.ClusterActor,
    prometheus_server: PrometheusServer,
    operator: OperatorProcess,
) -> None:
    api.create(objects.ecs_node("ecs-1", cpu="2", memory="8Gi"))  # room for 4 of 500m: the rest bursts
    api.create(objects.virtual_node())
    for name in ("ahead", "behind"):
        api.create(objects.deployment(name, replicas=2, cpu="500m"))
    # The ramp began two minutes ago (the trend window a 10 s lead fits on); five minutes of history.
    now = time.time()
    start = now - 120.0
    past = np.arange(now - 300.0, now, 5.0)
    prometheus_server.push(LOAD, [(float(t), rate(float(t), start=start)) for t in past], LABELS)
    with Feeder(prometheus_server, start=start):
        api.create(policy("ahead", forecast=True))
        api.create(policy("behind", forecast=False))
        operator.start()
        with Levels(api, ("ahead", "behind")) as levels:
            # Both jump from 2 to the ramp's level at the first tick; from then on both follow it.
            eventually(lambda: all(3 in levels.first[name] for name in levels.names), timeout=40, message="both scale")
            observed_from = max(levels.first[name][3] for name in ("ahead", "behind"))
            top = levels.total("behind") + 4  # four more levels: about 40 s of ramp
            eventually(lambda: levels.total("behind") >= top, timeout=70, message="the reactive policy climbs")

            # The forecast policy says why it is ahead: the lead, the prediction, desired_reason forecast.
            def forecasting() -> bool:
                status = (api.find("BurstPolicy", "ahead") or {}).get("status", {})
                inputs = status.get("lastDecision", {}).get("inputs", {})
                ahead = inputs.get("forecast", {})
                return (
                    ahead.get("reason") == "forecast"
                    and ahead.get("leadSeconds") == LEAD
                    and ahead["metrics"][0]["predicted"] > ahead["metrics"][0]["level"]
                    and inputs.get("plan", {}).get("desired_reason") == "forecast"
                )

            eventually(forecasting, timeout=20, message="the forecast policy's status names the forecast")
    # Levels first reached after the first jump by both (the jump itself is censored: the operator started).
    reached = {name: levels.first[name] for name in ("ahead", "behind")}
    compared = [
        level
        for level, at in reached["behind"].items()
        if at > observed_from and level in reached["ahead"] and reached["ahead"][level] > observed_from
    ]
    assert len(compared) >= 2, reached
    leads = [reached["behind"][level] - reached["ahead"][level] for level in compared]
    # A lead of 10 s on a line is exact; the two policies are seen at ticks, 1 s apart.
    assert min(leads) >= LEAD - TICK, leads
    assert min(leads) >= ECI_STARTUP, leads
    assert "forecast" not in (api.get("BurstPolicy", "behind")["status"]["lastDecision"]["inputs"])
