"""`burstscaler lint` per provider (issue 17, item 1): a workload file with a BurstPolicy targeting it gets
each of its provider's limits reported with its field, checked on the rendered burst twin."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest
import yaml
from typer import testing

from burstscaler import cli
from tests.api.factories import make_policy

runner = testing.CliRunner()


def deployment(**pod_spec: Any) -> dict[str, Any]:
    """Deployment shop/web (the policy factory's target) with ``pod_spec``."""
    pod_spec.setdefault("containers", [{"name": "web", "image": "web:1"}])
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": pod_spec}},
    }


def sized(cpu: str) -> list[dict[str, Any]]:
    return [{"name": "web", "image": "web:1", "resources": {"requests": {"cpu": cpu, "memory": "4Gi"}}}]


# One sidecar per container up to 21, the first listening on the kubelet's port; 21 volumes.
CROWDED = deployment(
    containers=[{"name": "web", "image": "web:1", "ports": [{"containerPort": 10250}]}]
    + [{"name": f"sidecar{index}", "image": "s:1"} for index in range(20)],
    volumes=[{"name": f"config{index}", "configMap": {"name": f"c{index}"}} for index in range(21)],
)
ECI_FINDINGS = [
    "spec.template.spec.containers[0].ports[0].containerPort: container 'web' listens on port 10250, which ECI "
    "reserves",
    "spec.template.spec.containers: the pod has 21 containers (init containers included); an ECI instance runs at "
    "most 20",
    "spec.template.spec.volumes: the pod mounts 21 volumes; an ECI instance mounts at most 20",
]


@pytest.mark.parametrize(
    ("provider", "workload", "expected"),
    [
        pytest.param("alibaba-eci", CROWDED, ECI_FINDINGS, id="alibaba-eci"),
        pytest.param("alibaba-vnode", CROWDED, ECI_FINDINGS, id="alibaba-vnode"),
        pytest.param(
            "azure-aci",
            deployment(containers=sized("32")),
            ["spec.template.spec.containers: the pod requests 32 vCPU and 4.0 GiB; azure-aci runs at most 31 vCPU"],
            id="azure-aci",
        ),
        pytest.param(
            "aws-fargate",
            deployment(containers=sized("17")),
            ["spec.template.spec.containers: the pod requests 17 vCPU and 4.0 GiB; aws-fargate runs at most 16 vCPU"],
            id="aws-fargate",
        ),
    ],
)
def test_lint_reports_each_provider_limit_with_its_field(
    provider: str, workload: dict[str, Any], expected: list[str], tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump_all([make_policy(burst={"provider": provider}), workload]))
    result = runner.invoke(cli.app, ["lint", str(path)])
    assert result.exit_code == 1, result.output
    findings = [line.strip() for line in result.output.splitlines() if "[error," in line]
    assert len(findings) == len(expected), result.output
    for line, start in zip(findings, expected, strict=True):
        assert line.startswith(f"{path}[1] shop/web: {start}"), (line, start)
        assert line.endswith(f"[error, {provider}, as burst twin of BurstPolicy web]"), line


def test_the_same_workload_passes_where_its_provider_allows_it(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump_all([make_policy(burst={"provider": "azure-aci"}), CROWDED]))
    result = runner.invoke(cli.app, ["lint", str(path)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("provider", "why"),
    [
        pytest.param("azure-aci", "ACI Spot containers exist only as standalone container groups", id="azure-aci"),
        pytest.param("aws-fargate", "Fargate Spot is an ECS capacity provider", id="aws-fargate"),
        pytest.param("generic", "a virtual node of your own has no spot convention", id="generic"),
    ],
)
def test_spot_on_a_provider_without_it_is_a_warning(provider: str, why: str, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "app.yaml"
    burst: dict[str, Any] = {"provider": provider, "spot": {"enabled": True}}
    if provider == "generic":  # a generic virtual node is routed by the patch
        burst["podTemplatePatch"] = {"spec": {"nodeSelector": {"vk": "mine"}, "tolerations": [{"operator": "Exists"}]}}
    path.write_text(yaml.safe_dump_all([make_policy(burst=burst)]))
    result = runner.invoke(cli.app, ["lint", str(path)])
    assert result.exit_code == 0, result.output  # the twin runs on-demand: nothing breaks
    lines = [line for line in result.output.splitlines() if "spec.burst.spot.enabled" in line]
    assert len(lines) == 1, result.output
    assert f"provider {provider} has no spot for virtual-node pods ({why}" in lines[0]
    assert lines[0].endswith(f"[warning, {provider}]")


@pytest.mark.parametrize("provider", ["alibaba-eci", "alibaba-vnode"])
def test_spot_on_eci_says_nothing(provider: str, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump_all([make_policy(burst={"provider": provider, "spot": {"enabled": True}})]))
    result = runner.invoke(cli.app, ["lint", str(path)])
    assert result.exit_code == 0 and "spec.burst.spot" not in result.output, result.output


def test_a_patch_setting_spot_annotations_is_refused(tmp_path: pathlib.Path) -> None:
    patch = {"metadata": {"annotations": {"k8s.aliyun.com/eci-spot-strategy": "SpotAsPriceGo"}}}
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump_all([make_policy(burst={"podTemplatePatch": patch}), deployment()]))
    result = runner.invoke(cli.app, ["lint", str(path)])
    assert result.exit_code == 1, result.output
    assert "metadata.annotations.k8s.aliyun.com/eci-spot-strategy: spot instances are set with spec.burst.spot" in (
        result.output
    )
