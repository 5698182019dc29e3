"""A pod's effective request as kube-scheduler adds it up: init containers, native sidecars, overhead."""

from __future__ import annotations

import pytest

from burstscaler.core import podrequest


@pytest.mark.parametrize(
    ("init", "restartable", "expected_cpu"),
    [
        pytest.param([], [], 1000.0, id="no-init"),
        pytest.param([{"cpu": 1500.0}], [False], 1500.0, id="ordinary-init-larger-than-app"),
        pytest.param([{"cpu": 500.0}], [True], 1500.0, id="native-sidecar-adds-to-the-app"),
        pytest.param([{"cpu": 500.0}, {"cpu": 1200.0}], [True, False], 1700.0, id="init-after-sidecar-runs-beside-it"),
        pytest.param([{"cpu": 1200.0}, {"cpu": 500.0}], [False, True], 1500.0, id="init-before-sidecar-runs-alone"),
        pytest.param([{"cpu": 200.0}, {"cpu": 300.0}], [True, True], 1500.0, id="two-sidecars-sum"),
        pytest.param([{"cpu": 500.0}], [], 1000.0, id="flags-missing-means-ordinary"),
    ],
)
def test_sidecars_are_summed_and_init_steps_maxed(
    init: list[dict[str, float]], restartable: list[bool], expected_cpu: float
) -> None:
    request = podrequest.effective(containers=[{"cpu": 1000.0}], init_containers=init, restartable=restartable)
    assert request == {"cpu": expected_cpu, "pods": 1.0}


def test_overhead_comes_on_top_of_sidecars() -> None:
    request = podrequest.effective(
        containers=[{"cpu": 1000.0}],
        init_containers=[{"cpu": 500.0}],
        restartable=[True],
        overhead={"cpu": 250.0},
    )
    assert request["cpu"] == 1750.0
