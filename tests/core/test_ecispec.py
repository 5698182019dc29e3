"""ECI's effective spec: what a pod is billed for, from its template (cases from ECI's billing docs)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from burstscaler.core import ecispec


def container(*, requests: dict[str, str] | None = None, limits: dict[str, str] | None = None, **extra: Any) -> dict:
    resources: dict[str, Any] = {}
    if requests is not None:
        resources["requests"] = requests
    if limits is not None:
        resources["limits"] = limits
    return {"name": "c", "image": "x", "resources": resources, **extra}


@pytest.mark.parametrize(
    ("pod_spec", "annotations", "expected"),
    [
        pytest.param({"containers": [container()]}, {}, (2, 4), id="nothing-set-is-2-4"),
        pytest.param({}, {}, (2, 4), id="no-containers-is-2-4"),
        pytest.param(
            {"containers": [container(requests={"cpu": "7", "memory": "13Gi"})]}, {}, (8, 16), id="docs-7-13-rounds-up"
        ),
        pytest.param(
            {"containers": [container(requests={"cpu": "500m", "memory": "1Gi"})] * 2},
            {},
            (1, 2),
            id="requests-summed-over-containers",
        ),
        pytest.param(
            {
                "containers": [
                    container(requests={"cpu": "250m", "memory": "512Mi"}, limits={"cpu": "2", "memory": "4Gi"})
                ]
            },
            {},
            (2, 4),
            id="limits-win-over-requests",
        ),
        pytest.param(
            {"containers": [container(limits={"cpu": "1"})]},
            {},
            (1, 2),
            id="limits-only-cpu-gets-the-smallest-memory",
        ),
        pytest.param(
            {"containers": [container(requests={"cpu": "1", "memory": "2Gi"})]},
            {"k8s.aliyun.com/eci-use-specs": "4-8Gi"},
            (4, 8),
            id="use-specs-annotation-wins",
        ),
        pytest.param(
            {"containers": [container(requests={"cpu": "1", "memory": "2Gi"})]},
            {"k8s.aliyun.com/eci-use-specs": "ecs.c6.large,3-5Gi"},
            (4, 8),
            id="use-specs-first-sizable-entry-rounded-up",
        ),
        pytest.param(
            {"containers": [container(requests={"cpu": "1", "memory": "2Gi"})]},
            {"k8s.aliyun.com/eci-use-specs": "ecs.c6.large"},
            (1, 2),
            id="instance-type-only-falls-back-to-containers",
        ),
        pytest.param(
            {
                "containers": [container(requests={"cpu": "1", "memory": "2Gi"})],
                "initContainers": [container(requests={"cpu": "500m", "memory": "1Gi"}, restartPolicy="Always")],
            },
            {},
            (2, 4),
            id="native-sidecar-added",
        ),
        pytest.param(
            {
                "containers": [container(requests={"cpu": "1", "memory": "2Gi"})],
                "initContainers": [container(requests={"cpu": "4", "memory": "1Gi"})],
            },
            {},
            (4, 2),
            id="largest-init-container-counts",
        ),
    ],
)
def test_effective_spec(pod_spec: dict, annotations: dict, expected: tuple[float, float]) -> None:
    spec = ecispec.effective_spec(pod_spec=pod_spec, annotations=annotations)
    assert (spec.vcpu, spec.memory_gib) == expected


def test_a_pod_larger_than_every_spec_is_refused() -> None:
    with pytest.raises(ecispec.SpecTooLarge, match="64 vCPU"):
        ecispec.effective_spec(pod_spec={"containers": [container(requests={"cpu": "65"})]})


def test_a_bad_quantity_names_the_text() -> None:
    with pytest.raises(ValueError, match="lots"):
        ecispec.effective_spec(pod_spec={"containers": [container(requests={"cpu": "lots"})]})


@pytest.mark.parametrize("vcpu", [0.1, 0.25, 0.3, 0.75, 1, 1.5, 2, 3, 5, 7, 10, 13, 20, 30, 40, 60])
def test_round_up_is_the_cheapest_covering_spec_at_list_prices(vcpu: float) -> None:
    # The docstring's claim: smallest vCPU, then smallest memory, is also the cheapest spec that covers
    # the pod at list prices (vCPU 0.0000077, GiB 0.00000096 USD per second).
    for memory in [0.5, 1, 1.5, 3, 6, 9, 14, 20, 40, 70, 100, 150, 300, 500]:
        covering = [
            ecispec.EciSpec(vcpu=float(v), memory_gib=float(m))
            for v, ms in ecispec.SUPPORTED_SPECS.items()
            for m in ms
            if v >= vcpu and m >= memory
        ]
        if not covering:
            with pytest.raises(ecispec.SpecTooLarge):
                ecispec.round_up(vcpu=vcpu, memory_gib=memory)
            continue
        cheapest = min(covering, key=lambda s: (s.vcpu * 0.0000077 + s.memory_gib * 0.00000096, s.vcpu))
        assert ecispec.round_up(vcpu=vcpu, memory_gib=memory) == cheapest


def test_every_supported_spec_rounds_to_itself() -> None:
    for vcpu, memories in ecispec.SUPPORTED_SPECS.items():
        for memory in memories:
            assert ecispec.round_up(vcpu=vcpu, memory_gib=memory) == ecispec.EciSpec(float(vcpu), float(memory))
    assert len(list(itertools.chain.from_iterable(ecispec.SUPPORTED_SPECS.values()))) == 44
