"""Scenarios: the built-in cluster, scenario files, bare traces and their capacity rule, policies."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

from burstscaler.sim import errors, scenario
from tests.sim import factories


def test_builtin_cluster_has_three_workloads_of_different_shapes_and_phases() -> None:
    made = scenario.builtin(seed=0)
    assert [w.name for w in made.workloads] == ["web", "api", "batch"]
    assert len({(w.pod.cpu, w.pod.memory_gib) for w in made.workloads}) == 3
    peaks = [int(np.argmax(w.trace.rates)) // 60 for w in made.workloads]  # hour of each peak
    assert len(set(peaks)) == 3
    assert made.pool_nodes is None  # sized by the rule, not chosen


@pytest.mark.parametrize(
    ("requests", "limits", "annotations", "billed"),
    [
        pytest.param((1.0, 2.0), None, None, (1.0, 2.0), id="requests"),
        pytest.param((0.5, 1.0), {"cpu": 1.0, "memory_gib": 2.0}, None, (1.0, 2.0), id="limits-win"),
        pytest.param((0.3, 0.5), None, None, (0.5, 1.0), id="rounded-up"),
        pytest.param((1.0, 2.0), None, {"k8s.aliyun.com/eci-use-specs": "2-4Gi"}, (2.0, 4.0), id="annotation"),
    ],
)
def test_pods_are_billed_on_their_effective_eci_spec(
    requests: tuple[float, float],
    limits: dict[str, float] | None,
    annotations: dict[str, str] | None,
    billed: tuple[float, float],
) -> None:
    pod = scenario.PodShape.of(cpu=requests[0], memory_gib=requests[1], limits=limits, annotations=annotations)
    assert (pod.eci.vcpu, pod.eci.memory_gib) == billed


def test_capacity_rule_for_a_bare_trace_is_the_peak_over_forty() -> None:
    trace = factories.flat_trace(80.0, minutes=10)
    made = scenario.from_traces([trace], step=30.0, capacity=None, pod=factories.POD, pool_nodes=None)
    assert made.workloads[0].capacity_per_replica == 2.0
    assert made.workloads[0].capacity_source == "auto: trace peak / 40"


def test_scenario_file(tmp_path: pathlib.Path) -> None:
    factories.write_csv(tmp_path, "t,requests\n" + "".join(f"{m},{600}\n" for m in range(20)))
    (tmp_path / "policy.yaml").write_text(
        "targetRef: {name: api}\nmaxReplicas: 9\nmetrics: [{prometheus: {query: q, target: "
        "{type: AverageValue, averageValue: '2'}}}]\n",
        encoding="utf-8",
    )
    (tmp_path / "scenario.yaml").write_text(
        "pool: {nodes: 3}\nprices: alibaba-cn\nworkloads:\n"
        "  - {name: web, builtin: web, capacity_per_replica: 10, pod: {cpu: 1, memory_gib: 2}, priority: 5}\n"
        "  - {name: api, trace: {path: trace.csv, interval: 1m}, policy: policy.yaml,\n"
        "     pod: {cpu: 0.5, memory_gib: 1, limits: {cpu: 1, memory_gib: 2}}}\n",
        encoding="utf-8",
    )
    made = scenario.load(tmp_path / "scenario.yaml", step=30.0, seed=1)
    assert (made.pool_nodes, made.prices) == (3, "alibaba-cn")
    web, api = made.workloads
    assert web.priority == 5 and web.trace.name == "built-in web"
    assert api.capacity_per_replica == pytest.approx(10.0 / 40)  # 600 per minute = 10/s, the rule
    assert api.policy is not None and api.policy.max_replicas == 9
    assert api.pod.eci.vcpu == 1.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("workloads: []\n", "no workloads", id="empty"),
        pytest.param("pool: {nodes: -1}\nworkloads: []\n", "pool.nodes", id="negative-pool"),
        pytest.param("workloads: [{name: a}]\n", "needs a trace or a builtin", id="no-load"),
        pytest.param("workloads: [{name: a, builtin: moon}]\n", "unknown built-in load shape", id="unknown-shape"),
        pytest.param("workloads: [{name: a, builtin: web}, {name: a, builtin: api}]\n", "unique", id="duplicate-names"),
        pytest.param("- 1\n", "a mapping with a list of workloads", id="not-a-mapping"),
    ],
)
def test_bad_scenario_files(tmp_path: pathlib.Path, text: str, message: str) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(errors.SettingsError, match=message):
        scenario.load(path, step=30.0, seed=0)


def test_a_policy_file_is_validated_as_lint_validates_it(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("targetRef: {name: web}\nminReplicas: 5\nmaxReplicas: 2\n", encoding="utf-8")
    with pytest.raises(errors.SettingsError, match="minReplicas"):
        scenario.load_policy(path)
