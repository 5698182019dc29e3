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


def test_limits_depend_on_the_provider() -> None:
    big = workload(containers=[{"name": "a", "resources": {"requests": {"cpu": "8", "memory": "32Gi"}}}])
    assert compat.lint_workload(big, provider="alibaba-eci") == []
    assert "azure-aci runs at most 4 vCPU" in compat.lint_workload(big, provider="azure-aci")[0].message
    assert compat.lint_workload(big, provider="generic") == []


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
