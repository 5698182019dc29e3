"""ECI compatibility lint: each unsupported feature named with its field and the alternative."""

from __future__ import annotations

from typing import Any

import pytest

from burstscaler.core import compat


def workload(kind: str = "Deployment", **pod_spec: Any) -> dict[str, Any]:
    """A workload whose pod template spec is `pod_spec` (one plain container unless given)."""
    pod_spec.setdefault("containers", [{"name": "app", "image": "app:1"}])
    return {"kind": kind, "metadata": {"name": "w"}, "spec": {"template": {"spec": pod_spec}}}


CASES = [
    pytest.param(
        workload(volumes=[{"name": "logs", "hostPath": {"path": "/var/log"}}]),
        "spec.template.spec.volumes[0].hostPath",
        "emptyDir, a cloud disk or a NAS volume",
        id="hostPath",
    ),
    pytest.param(
        workload(hostNetwork=True), "spec.template.spec.hostNetwork", "type=LoadBalancer Service", id="hostNetwork"
    ),
    pytest.param(
        workload(containers=[{"name": "a", "securityContext": {"privileged": True}}]),
        "spec.template.spec.containers[0].securityContext.privileged",
        "securityContext.capabilities.add",
        id="privileged",
    ),
    pytest.param(
        workload(initContainers=[{"name": "i", "securityContext": {"privileged": True}}]),
        "spec.template.spec.initContainers[0].securityContext.privileged",
        "capabilities",
        id="privileged-init",
    ),
    pytest.param(
        workload(containers=[{"name": "a", "ports": [{"containerPort": 80, "hostPort": 80}]}]),
        "spec.template.spec.containers[0].ports[0].hostPort",
        "type=LoadBalancer Service",
        id="hostPort",
    ),
    pytest.param(workload(kind="DaemonSet"), "kind", "sidecar", id="daemonset"),
    pytest.param(
        workload(containers=[{"name": "a", "resources": {"requests": {"cpu": "96", "memory": "8Gi"}}}]),
        "spec.template.spec.containers",
        "at most 64 vCPU",
        id="too-big-for-eci",
    ),
]


@pytest.mark.parametrize(("obj", "path", "alternative"), CASES)
def test_each_unsupported_feature_is_named_with_its_alternative(
    obj: dict[str, Any], path: str, alternative: str
) -> None:
    findings = compat.lint_workload(obj, provider="alibaba-eci")
    assert [finding.path for finding in findings] == [path]
    assert alternative in findings[0].message
    assert compat.incompatible(findings)


def test_a_plain_template_is_compatible() -> None:
    assert compat.lint_workload(workload(volumes=[{"name": "tmp", "emptyDir": {}}])) == []


def _sized(cpu: str, memory: str) -> dict[str, Any]:
    return workload(containers=[{"name": "a", "resources": {"requests": {"cpu": cpu, "memory": memory}}}])


@pytest.mark.parametrize(
    ("obj", "provider", "refused"),
    [
        pytest.param(_sized("31", "240Gi"), "azure-aci", False, id="aci-at-its-standard-limits"),
        pytest.param(_sized("32", "8Gi"), "azure-aci", True, id="aci-over-31-vcpu"),
        pytest.param(_sized("4", "241Gi"), "azure-aci", True, id="aci-over-240-gib"),
        pytest.param(_sized("16", "120Gi"), "aws-fargate", False, id="fargate-at-its-limits"),
        pytest.param(_sized("17", "8Gi"), "aws-fargate", True, id="fargate-over-16-vcpu"),
        pytest.param(_sized("64", "512Gi"), "alibaba-eci", False, id="eci-at-its-limits"),
        pytest.param(_sized("40", "8Gi"), "alibaba-vnode", False, id="vnode-is-eci-sized"),
        pytest.param(_sized("65", "8Gi"), "alibaba-vnode", True, id="vnode-over-64-vcpu"),
        pytest.param(_sized("96", "1Ti"), "generic", False, id="generic-has-no-limits"),
    ],
)
def test_size_limits_per_provider(obj: dict[str, Any], provider: str, refused: bool) -> None:
    findings = compat.lint_workload(obj, provider=provider)
    assert [finding.feature for finding in findings] == (["size"] if refused else [])
    if refused:
        assert findings[0].path == "spec.template.spec.containers"
        assert f"{provider} runs at most" in findings[0].message


def _containers(count: int, **container: Any) -> list[dict[str, Any]]:
    return [{"name": f"c{index}", "image": "app:1", **container} for index in range(count)]


ECI_LIMITS = [
    pytest.param(
        workload(containers=[{"name": "a", "ports": [{"containerPort": 8080}, {"containerPort": 10250}]}]),
        ["spec.template.spec.containers[0].ports[1].containerPort"],
        id="kubelet-port-10250",
    ),
    pytest.param(
        workload(initContainers=[{"name": "i", "ports": [{"containerPort": 111}]}]),
        ["spec.template.spec.initContainers[0].ports[0].containerPort"],
        id="rpcbind-port-111-in-init",
    ),
    pytest.param(
        workload(containers=[{"name": "a", "ports": [{"containerPort": 10255, "protocol": "TCP"}]}]),
        ["spec.template.spec.containers[0].ports[0].containerPort"],
        id="read-only-kubelet-port-10255",
    ),
    pytest.param(workload(containers=_containers(20)), [], id="20-containers"),
    pytest.param(
        workload(containers=_containers(19), initContainers=_containers(2)),
        ["spec.template.spec.containers"],
        id="21-with-init-containers",
    ),
    pytest.param(workload(volumes=[{"name": f"v{index}", "emptyDir": {}} for index in range(20)]), [], id="20-volumes"),
    pytest.param(
        workload(volumes=[{"name": f"v{index}", "emptyDir": {}} for index in range(21)]),
        ["spec.template.spec.volumes"],
        id="21-volumes",
    ),
]


@pytest.mark.parametrize("provider", ["alibaba-eci", "alibaba-vnode"])
@pytest.mark.parametrize(("obj", "paths"), ECI_LIMITS)
def test_eci_instance_limits(obj: dict[str, Any], paths: list[str], provider: str) -> None:
    findings = compat.lint_workload(obj, provider=provider)
    assert [finding.path for finding in findings] == paths
    assert compat.incompatible(findings) == bool(paths)


def test_eci_instance_limits_are_eci_only() -> None:
    crowded = workload(
        containers=_containers(21, ports=[{"containerPort": 10250}]),
        volumes=[{"name": f"v{index}", "emptyDir": {}} for index in range(21)],
    )
    assert compat.lint_workload(crowded, provider="azure-aci") == []
    assert len(compat.lint_workload(crowded, provider="alibaba-eci")) == 21 + 2


def test_nodeport_services_selecting_the_pods() -> None:
    services = [
        {"metadata": {"name": "np", "namespace": "shop"}, "spec": {"type": "NodePort", "selector": {"app": "web"}}},
        {"metadata": {"name": "lb", "namespace": "shop"}, "spec": {"type": "LoadBalancer", "selector": {"app": "web"}}},
        {"metadata": {"name": "other", "namespace": "shop"}, "spec": {"type": "NodePort", "selector": {"app": "db"}}},
        {"metadata": {"name": "np2", "namespace": "else"}, "spec": {"type": "NodePort", "selector": {"app": "web"}}},
    ]
    findings = compat.lint_services(services, pod_labels={"app": "web", "tier": "x"}, namespace="shop")
    assert [finding.path for finding in findings] == ["Service/np.spec.type"]
    assert "type=LoadBalancer Service instead of NodePort" in findings[0].message


def test_services_that_would_miss_burst_pods() -> None:
    services = [
        {"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}}},
        {"metadata": {"name": "stable"}, "spec": {"selector": {"app": "web", "track": "stable"}}},
        {"metadata": {"name": "headless"}, "spec": {}},
    ]
    missing = compat.services_missing_pods(
        services,
        base_labels={"app": "web", "track": "stable"},
        burst_labels={"app": "web", "burstscaler.io/tier": "burst"},
    )
    assert missing == ["stable"]
