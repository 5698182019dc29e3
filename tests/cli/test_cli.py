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
    # 40 vCPU: above ACI's 31 per container group, within ECI's 64 per instance.
    big = _deployment(containers=[{"name": "w", "resources": {"requests": {"cpu": "40", "memory": "8Gi"}}}])
    path.write_text(yaml.safe_dump_all([make_policy(burst={"provider": "azure-aci"}), big]))
    result = runner.invoke(cli.app, ["lint", str(path)])
    assert result.exit_code == 1
    assert "azure-aci runs at most 31 vCPU and 240 GiB per pod" in result.output
    assert runner.invoke(cli.app, ["lint", "--provider", "alibaba-eci", str(path)]).exit_code == 1
    path.write_text(yaml.safe_dump_all([big]))
    assert runner.invoke(cli.app, ["lint", str(path)]).exit_code == 0


# -- tenant exploits refused by lint (issue 12), each naming the field -------------------------------------

EXPLOITS = [
    pytest.param({"burst": {"podTemplatePatch": {"spec": {"serviceAccountName": "deployer-admin"}}}},
                 "spec.burst.podTemplatePatch.spec.serviceAccountName", id="service-account"),
    pytest.param({"burst": {"podTemplatePatch": {"spec": {"containers": [{"name": "x", "image": "evil/x"}]}}}},
                 "spec.burst.podTemplatePatch.spec.containers", id="containers"),
    pytest.param({"burst": {"podTemplatePatch": {"spec": {"volumes": [{"name": "r", "hostPath": {"path": "/"}}]}}}},
                 "spec.burst.podTemplatePatch.spec.volumes", id="host-path-volume"),
    pytest.param({"burst": {"podTemplatePatch": {"spec": {"volumes": [{"name": "s", "secret": {"secretName": "x"}}]}}}},
                 "spec.burst.podTemplatePatch.spec.volumes", id="secret-volume"),
    pytest.param({"burst": {"podTemplatePatch": {"spec": {"hostNetwork": True}}}},
                 "spec.burst.podTemplatePatch.spec.hostNetwork", id="host-network"),
    pytest.param({"burst": {"podTemplatePatch": {"spec": {"hostPID": True}}}},
                 "spec.burst.podTemplatePatch.spec.hostPID", id="host-pid"),
    pytest.param({"burst": {"podTemplatePatch": {"spec": {"nodeName": "master-1"}}}},
                 "spec.burst.podTemplatePatch.spec.nodeName", id="node-name"),
    pytest.param({"burst": {"podTemplatePatch": {"spec": {"securityContext": {"runAsUser": 0}}}}},
                 "spec.burst.podTemplatePatch.spec.securityContext", id="security-context"),
    pytest.param({"burst": {"podTemplatePatch": {"metadata": {"labels": {"burstscaler.io/tier": "base"}}}}},
                 "spec.burst.podTemplatePatch.metadata.labels", id="tier-label"),
    pytest.param({"burst": {"podTemplatePatch": {"spec": {"tolerations": [{"key": "k"}] * 33}}}},
                 "spec.burst.podTemplatePatch.spec.tolerations", id="too-many-tolerations"),
    pytest.param({"metrics": [{"cpu": {"targetAverageUtilization": 50}}] * 9}, "spec.metrics", id="too-many-metrics"),
    pytest.param({"metrics": [{"prometheus": {"query": "x" * 5000, "target": {"type": "Value", "value": "1"}}}]},
                 "spec.metrics[0].prometheus.query", id="huge-query"),
    pytest.param({"metrics": [{"prometheus": {"query": "up", "target": {"type": "Value", "value": "1"},
                                              "serverUrl": "http://127.0.0.1:9090"}}]},
                 "spec.metrics[0].prometheus.serverUrl", id="loopback-server"),
    pytest.param({"metrics": [{"prometheus": {"query": "up", "target": {"type": "Value", "value": "1"},
                                              "serverUrl": "http://169.254.169.254"}}]},
                 "spec.metrics[0].prometheus.serverUrl", id="metadata-server"),
    pytest.param({"metrics": [{"prometheus": {"query": "up", "target": {"type": "Value", "value": "1"},
                                              "serverUrl": "http://prom:9090/api/v1/admin?x="}}]},
                 "spec.metrics[0].prometheus.serverUrl", id="path-through-query-string"),
    pytest.param({"burst": {"budget": {"maxCostPerHour": "1"}},
                  "pricing": {"eciPerVCPUSecond": "0", "eciPerGiBSecond": "0"}}, "spec", id="free-replicas"),
]  # fmt: skip


@pytest.mark.parametrize(("spec", "field"), EXPLOITS)
def test_lint_refuses_tenant_exploits_naming_the_field(
    tmp_path: pathlib.Path, spec: dict[str, object], field: str
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(make_policy(**spec)))
    result = runner.invoke(cli.app, ["lint", str(path)])
    assert result.exit_code == 1
    assert f"{field}:" in result.output


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        pytest.param(
            {"metadata": {"labels": {"app": "other"}}},
            "spec.burst.podTemplatePatch.metadata.labels.app: the base's selector uses this label",
            id="selector-label",
        ),
        pytest.param(
            {"spec": {"nodeSelector": {"type": "ecs"}}},
            "spec.burst.podTemplatePatch.spec.nodeSelector.type: overrides provider alibaba-eci's routing",
            id="reroutes-the-twin",
        ),
    ],
)
def test_lint_checks_the_patch_against_the_base(
    tmp_path: pathlib.Path, patch: dict[str, object], expected: str
) -> None:
    base = _deployment()
    base["spec"]["selector"] = {"matchLabels": {"app": "web"}}  # type: ignore[index]
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump_all([make_policy(burst={"podTemplatePatch": patch}), base]))
    result = runner.invoke(cli.app, ["lint", str(path)])
    assert result.exit_code == 1
    assert expected in result.output


def test_lint_runs_the_eci_check_on_the_rendered_twin(tmp_path: pathlib.Path) -> None:
    # The workload is linted as the twin the operator renders (base + profile + patch), and says so.
    patch = {"metadata": {"annotations": {"k8s.aliyun.com/eci-use-specs": "2-4Gi"}}}
    path = tmp_path / "app.yaml"
    base = _deployment(volumes=[{"name": "l", "hostPath": {"path": "/x"}}])
    path.write_text(yaml.safe_dump_all([make_policy(burst={"podTemplatePatch": patch}), base]))
    result = runner.invoke(cli.app, ["lint", str(path)])
    assert result.exit_code == 1
    assert "spec.template.spec.volumes[0].hostPath" in result.output
    assert "as burst twin of BurstPolicy" in result.output
