"""The command line as a user meets it: help, lint exit codes and messages, crd output."""

from __future__ import annotations

import pathlib

import pytest
import yaml
from typer import testing

from burstscaler import cli
from burstscaler.api import crd
from tests.api.factories import make_policy

runner = testing.CliRunner()
EXAMPLES = pathlib.Path(__file__).parents[2] / "manifests" / "examples"


def test_help_lists_every_command() -> None:
    result = runner.invoke(cli.app, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "simulate", "report", "lint", "crd"):
        assert command in result.output


def test_crd_prints_the_generated_definition() -> None:
    result = runner.invoke(cli.app, ["crd"])
    assert result.exit_code == 0
    assert result.output == crd.render_yaml()


def test_lint_accepts_the_examples() -> None:
    result = runner.invoke(cli.app, ["lint", str(EXAMPLES)])
    assert result.exit_code == 0, result.output
    assert result.output.count(": ok") == len(list(EXAMPLES.glob("*.yaml")))


def test_lint_reports_every_problem_with_its_path(tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "bad.yaml"
    documents = [make_policy(minReplicas=-1), make_policy(burst={"provider": "aws"}), make_policy()]
    bad.write_text(yaml.safe_dump_all(documents))
    result = runner.invoke(cli.app, ["lint", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}[0] shop/web: spec.minReplicas: Input should be greater than or equal to 0 (got -1)" in result.output
    assert f"{bad}[1] shop/web: spec.burst.provider: 'aws' is not allowed" in result.output
    assert f"{bad}[2] shop/web: ok" in result.output


def test_lint_skips_other_kinds_and_says_so(tmp_path: pathlib.Path) -> None:
    mixed = tmp_path / "mixed.yaml"
    mixed.write_text(yaml.safe_dump_all([{"kind": "ConfigMap", "metadata": {"name": "s"}}, make_policy()]))
    result = runner.invoke(cli.app, ["lint", str(mixed)])
    assert result.exit_code == 0
    assert "kind ConfigMap skipped" in result.output
    assert "shop/web: ok" in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("spec: [unclosed", "not valid YAML: line 1", id="bad-yaml"),
        pytest.param("", "no BurstPolicy or workload documents found", id="empty"),
    ],
)
def test_lint_bad_files(tmp_path: pathlib.Path, content: str, message: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(content)
    result = runner.invoke(cli.app, ["lint", str(path)])
    assert result.exit_code == 1
    assert message in result.output


def test_lint_missing_file_is_a_usage_error(tmp_path: pathlib.Path) -> None:
    result = runner.invoke(cli.app, ["lint", str(tmp_path / "absent.yaml")])
    assert result.exit_code == 2
    assert "cannot read: No such file or directory" in result.output


def _deployment(**pod_spec: object) -> dict[str, object]:
    pod_spec.setdefault("containers", [{"name": "web", "image": "web:1"}])
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": pod_spec}},
    }


def test_lint_checks_workloads_for_the_virtual_node(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "app.yaml"
    service = {"kind": "Service", "metadata": {"name": "web", "namespace": "shop"}}
    service["spec"] = {"type": "NodePort", "selector": {"app": "web"}}
    path.write_text(yaml.safe_dump_all([_deployment(volumes=[{"name": "l", "hostPath": {"path": "/x"}}]), service]))
    result = runner.invoke(cli.app, ["lint", str(path)])
    assert result.exit_code == 1
    assert "spec.template.spec.volumes[0].hostPath: volume 'l' mounts a host path" in result.output
    assert "use an emptyDir, a cloud disk or a NAS volume instead [error, alibaba-eci]" in result.output
    assert "Service/web.spec.type: Service 'web' is type NodePort" in result.output


def test_lint_uses_the_provider_of_the_policy_targeting_the_workload(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "app.yaml"
    big = _deployment(containers=[{"name": "w", "resources": {"requests": {"cpu": "8", "memory": "8Gi"}}}])
    path.write_text(yaml.safe_dump_all([make_policy(burst={"provider": "azure-aci"}), big]))
    result = runner.invoke(cli.app, ["lint", str(path)])
    assert result.exit_code == 1
    assert "azure-aci runs at most 4 vCPU" in result.output
    assert runner.invoke(cli.app, ["lint", "--provider", "alibaba-eci", str(path)]).exit_code == 1
    path.write_text(yaml.safe_dump_all([big]))
    assert runner.invoke(cli.app, ["lint", str(path)]).exit_code == 0
