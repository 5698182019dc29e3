"""The operator's Deployment: peered replicas, restricted pod security, and settings the code knows.

Every BURSTSCALER_* variable the manifests set must be an option of `burstscaler run` (a typo would be
ignored silently), and the ports, probe and peering object must agree with the values they configure.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest
import typer.main

from burstscaler import cli
from burstscaler.cli import docs
from tests.deploy import bundle

DEPLOYMENT = bundle.find(bundle.documents(bundle.BASE / "deployment.yaml"), "Deployment")
POD = DEPLOYMENT["spec"]["template"]["spec"]
CONTAINER = POD["containers"][0]
ENV = {e["name"]: e.get("value") for e in CONTAINER["env"]}
KUSTOMIZATION = bundle.documents(bundle.BASE / "kustomization.yaml")[0]
CONFIG = dict(str(literal).split("=", 1) for literal in KUSTOMIZATION["configMapGenerator"][0]["literals"])
OPTIONS = {param.envvar: param for param in docs.run_options()}


def _port(name: str) -> int:
    return int(next(p["containerPort"] for p in CONTAINER["ports"] if p["name"] == name))


def _overlay_literals_of(overlay: str) -> dict[str, str]:
    kustomization = bundle.documents(bundle.MANIFESTS / "overlays" / overlay / "kustomization.yaml")[0]
    literals = [
        literal for generator in kustomization.get("configMapGenerator", []) for literal in generator["literals"]
    ]
    return dict(str(literal).split("=", 1) for literal in literals)


def _overlay_literals() -> dict[str, str]:
    merged: dict[str, str] = {}
    for overlay in bundle.OVERLAYS:
        merged |= _overlay_literals_of(overlay)
    return merged


@pytest.mark.parametrize(
    ("where", "value"),
    [
        pytest.param("pod.runAsNonRoot", POD["securityContext"]["runAsNonRoot"], id="pod-non-root"),
        pytest.param("pod.seccompProfile", POD["securityContext"]["seccompProfile"]["type"], id="pod-seccomp"),
        pytest.param("container.runAsNonRoot", CONTAINER["securityContext"]["runAsNonRoot"], id="non-root"),
        pytest.param(
            "container.allowPrivilegeEscalation",
            CONTAINER["securityContext"]["allowPrivilegeEscalation"],
            id="no-escalation",
        ),
        pytest.param(
            "container.readOnlyRootFilesystem", CONTAINER["securityContext"]["readOnlyRootFilesystem"], id="ro-root"
        ),
        pytest.param("container.capabilities.drop", CONTAINER["securityContext"]["capabilities"]["drop"], id="caps"),
        pytest.param("container.seccompProfile", CONTAINER["securityContext"]["seccompProfile"]["type"], id="seccomp"),
    ],
)
def test_restricted_pod_security(where: str, value: Any) -> None:
    expected = {"seccompProfile": "RuntimeDefault", "drop": ["ALL"], "allowPrivilegeEscalation": False}
    key = next((k for k in expected if where.endswith(k)), None)
    assert value == (expected[key] if key else True), where


def test_runs_as_a_numeric_non_root_user_matching_the_image() -> None:
    assert POD["securityContext"]["runAsUser"] >= 1000
    assert f"USER {POD['securityContext']['runAsUser']}:" in (bundle.ROOT / "Dockerfile").read_text()


def test_writable_tmp_on_a_read_only_root() -> None:
    mounts = {m["mountPath"]: m["name"] for m in CONTAINER["volumeMounts"]}
    volumes = {v["name"]: v for v in POD["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]


def test_resources_have_requests_and_limits() -> None:
    resources = CONTAINER["resources"]
    assert set(resources["requests"]) == {"cpu", "memory"} and set(resources["limits"]) == {"cpu", "memory"}


def test_two_replicas_peered_not_standalone() -> None:
    assert DEPLOYMENT["spec"]["replicas"] == 2
    assert ENV["BURSTSCALER_STANDALONE"] == "false"
    peering = bundle.find(bundle.documents(bundle.BASE / "peering.yaml"), "ClusterKopfPeering")
    assert peering["metadata"]["name"] == CONFIG["BURSTSCALER_PEERING_NAME"]
    assert peering["apiVersion"] == "kopf.dev/v1"
    pdb = bundle.find(bundle.documents(bundle.BASE / "deployment.yaml"), "PodDisruptionBudget")
    assert pdb["spec"]["selector"] == DEPLOYMENT["spec"]["selector"] and pdb["spec"]["minAvailable"] == 1


def test_replicas_get_distinct_peering_priorities() -> None:
    # Kopf's documented remedy is a random priority per process; the option must not default to a constant.
    option = OPTIONS.get("BURSTSCALER_PRIORITY")
    assert option is not None and option.default is None


def test_liveness_probe_is_the_kopf_liveness_endpoint() -> None:
    url = urllib.parse.urlsplit(ENV["BURSTSCALER_LIVENESS"])
    probe = CONTAINER["livenessProbe"]["httpGet"]
    assert probe["path"] == url.path == "/healthz"
    assert _port(probe["port"]) == url.port == 8080


def test_metrics_port_is_the_one_the_service_scrapes() -> None:
    service = bundle.find(bundle.documents(bundle.BASE / "service.yaml"), "Service")
    port = service["spec"]["ports"][0]
    assert _port(port["targetPort"]) == int(ENV["BURSTSCALER_METRICS_PORT"]) == port["port"] == 9090
    labels = DEPLOYMENT["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()


def test_every_variable_the_manifests_set_is_an_option_of_run() -> None:
    names = {n for n in {*ENV, *CONFIG, *_overlay_literals()} if n.startswith("BURSTSCALER_")}
    assert names - set(OPTIONS) == set()
    assert "BURSTSCALER_PROMETHEUS_URL" in CONFIG


def test_the_config_map_is_what_the_container_reads() -> None:
    generator = KUSTOMIZATION["configMapGenerator"][0]
    assert CONTAINER["envFrom"] == [{"configMapRef": {"name": generator["name"]}}]
    assert generator["namespace"] == DEPLOYMENT["metadata"]["namespace"]


@pytest.mark.parametrize("overlay", [None, *bundle.OVERLAYS])
def test_the_settings_parse_as_run_expects(overlay: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    # What the container sees: the ConfigMap (merged by the overlay), then the Deployment's own env.
    settings = CONFIG | (_overlay_literals_of(overlay) if overlay else {}) | {k: v for k, v in ENV.items() if v}
    for name in OPTIONS:
        monkeypatch.delenv(name, raising=False)
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    command: Any = typer.main.get_command(cli.app)
    params = command.commands["run"].make_context("run", []).params
    assert params["standalone"] is False and params["dry_run"] is False
    assert params["log_format"] == "json" and params["metrics_port"] == 9090
    assert params["prometheus_url"] == settings["BURSTSCALER_PROMETHEUS_URL"]
