"""The real-cluster tier: fixtures against the cluster of ``KUBECONFIG`` (kind + kwok, k3d, ACK).

Opt-in: ``pytest --with-cluster`` (``tests/conftest.py`` skips every ``cluster`` test without it).
Everything goes through ``kubectl`` and the real operator process, as a user would: no emulator
internals, no object reached into. Each test gets its own namespace, deleted afterwards. The operator
runs once per session, cluster-wide and standalone, so the cluster must not run another burstscaler.

Options (``tests/conftest.py``):
- ``--cluster-prometheus-url``: a Prometheus the operator reads (none: policies use minReplicas only);
- ``--cluster-emulated``: the cluster is the sandbox's stand-in (``emulator_stand_in``), with no
  scheduler, kubelet or server-side validation of a CRD applied by kubectl: tests that need those skip.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e.operator_process import OperatorProcess

ROOT = pathlib.Path(__file__).resolve().parents[2]
CRD = ROOT / "crds" / "burstpolicy.yaml"
TIMEOUT = 90.0  # generous: a real cluster's watch and the operator's tick, on a loaded machine


class Kubectl:
    """``kubectl`` against the tier's kubeconfig; objects as JSON in and out."""

    def __init__(self, kubeconfig: pathlib.Path) -> None:
        self.kubeconfig = kubeconfig

    def run(self, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run kubectl; with `check`, a failure raises with kubectl's own words."""
        done = subprocess.run(
            ["kubectl", "--kubeconfig", str(self.kubeconfig), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {done.stderr.strip()}")
        return done

    def create(self, body: dict[str, Any], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Create an object. --validate=false: the schema check under test is the API server's own,
        which kubectl's client-side one would pre-empt (and the stand-in serves no OpenAPI)."""
        return self.run("create", "--validate=false", "-f", "-", stdin=json.dumps(body), check=check)

    def get(self, kind: str, name: str, *, namespace: str) -> dict[str, Any] | None:
        """The object as JSON, or None when it does not exist."""
        done = self.run("get", kind, name, "-n", namespace, "-o", "json", check=False)
        if done.returncode != 0:
            if "NotFound" in done.stderr or "not found" in done.stderr:
                return None
            raise AssertionError(f"kubectl get {kind} {name} failed: {done.stderr.strip()}")
        found: dict[str, Any] = json.loads(done.stdout)
        return found


def eventually(check: Callable[[], Any], *, timeout: float = TIMEOUT, message: str = "") -> Any:
    """Poll `check` until it returns something truthy; fail with `message` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {message or check}")
        time.sleep(0.5)


@pytest.fixture(scope="session")
def kubectl() -> Kubectl:
    """kubectl on ``KUBECONFIG`` (else ~/.kube/config); fails, never skips, when the cluster is not there:
    --with-cluster asked for it."""
    path = pathlib.Path(os.environ.get("KUBECONFIG") or pathlib.Path.home() / ".kube" / "config")
    if not path.exists():
        pytest.fail(f"--with-cluster: no kubeconfig at {path}; set KUBECONFIG (see docs/testing.md)")
    tool = Kubectl(path)
    reachable = tool.run("get", "--raw", "/version", check=False)
    if reachable.returncode != 0:
        pytest.fail(f"--with-cluster: the API server of {path} does not answer: {reachable.stderr.strip()}")
    return tool


@pytest.fixture(scope="session")
def emulated(request: pytest.FixtureRequest) -> bool:
    """True when the cluster is the sandbox's stand-in (``--cluster-emulated``)."""
    return bool(request.config.getoption("--cluster-emulated"))


@pytest.fixture
def real_server(emulated: bool) -> None:
    """Skip a test that needs a real API server, scheduler and kubelet when the cluster is the stand-in."""
    if emulated:
        pytest.skip("needs a real API server, scheduler and kubelet (the cluster is the emulator stand-in)")


@pytest.fixture(scope="session")
def crd(kubectl: Kubectl) -> None:
    """The committed BurstPolicy CRD applied (idempotent) and Established."""
    kubectl.run("apply", "--validate=false", "-f", str(CRD))
    kubectl.run("wait", "--for", "condition=Established", "--timeout", "60s", "crd/burstpolicies.burstscaler.io")


@pytest.fixture(scope="session")
def operator(
    kubectl: Kubectl, crd: None, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    """`burstscaler run` against the cluster for the whole session (tick 2 s); its log tail is printed."""
    log = tmp_path_factory.mktemp("operator") / "operator.log"
    process = OperatorProcess(
        kubeconfig=kubectl.kubeconfig,
        log_path=log,
        prometheus_url=request.config.getoption("--cluster-prometheus-url"),
        tick_seconds=2.0,
    ).start()
    yield process
    process.stop()
    print(process.log()[-20000:])


@pytest.fixture
def namespace(kubectl: Kubectl) -> Iterator[str]:
    """A fresh namespace for one test, deleted (without waiting) afterwards."""
    name = f"bs-tier-{uuid.uuid4().hex[:8]}"
    kubectl.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    kubectl.run("delete", "namespace", name, "--wait=false", check=False)


def deployment(name: str, *, namespace: str, replicas: int, **pod_spec: Any) -> dict[str, Any]:
    """A Deployment of `replicas` small pods (10m CPU, 16Mi) selecting ``app=<name>``."""
    container = {
        "name": "app",
        "image": "registry.k8s.io/pause:3.10",
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container], **pod_spec}},
        },
    }


def burst_policy(name: str, *, namespace: str, target: str, **spec: Any) -> dict[str, Any]:
    """A BurstPolicy on Deployment `target`; `spec` fields as in the CRD (camelCase)."""
    return {
        "apiVersion": "burstscaler.io/v1alpha1",
        "kind": "BurstPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"targetRef": {"kind": "Deployment", "name": target}, **spec},
    }


def condition(body: dict[str, Any] | None, kind: str) -> dict[str, Any] | None:
    """A condition of a BurstPolicy's status, or None."""
    conditions = ((body or {}).get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c.get("type") == kind), None)
