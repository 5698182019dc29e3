"""`burstscaler run` start-up failures as a person meets them (issue 17, item 9): the real CLI in a subprocess.

Each case must end with exit code 1 and one line on stderr naming what was tried and what to do, with no
traceback unless `--verbose`. The Kubernetes API and Prometheus are faked at the network boundary: a
loopback HTTP server answering with the status a real server would give, or a port nobody listens on.
"""

from __future__ import annotations

import collections.abc
import http.server
import json
import os
import pathlib
import socket
import subprocess
import sys
import threading

import pytest
import yaml

CRD_PATH = "/apis/burstscaler.io/v1alpha1/burstpolicies"


def _closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(status_for: collections.abc.Callable[[str], int]) -> tuple[http.server.HTTPServer, str]:
    """A loopback HTTP server answering every GET with ``status_for(path)`` and a Kubernetes-shaped body."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status = status_for(self.path)
            if status == 200 and self.path.startswith("/api/v1/query"):
                body = {"status": "success", "data": {"resultType": "vector", "result": []}}
            elif status == 200:
                body = {"apiVersion": "burstscaler.io/v1alpha1", "kind": "BurstPolicyList", "items": []}
            else:
                body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": status}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _kubeconfig(directory: pathlib.Path, server: str) -> pathlib.Path:
    path = directory / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "laptop", "cluster": {"server": server}}],
                "users": [{"name": "me", "user": {"token": "expired-token"}}],
                "contexts": [{"name": "laptop", "context": {"cluster": "laptop", "user": "me"}}],
                "current-context": "laptop",
            }
        )
    )
    return path


def _run(home: pathlib.Path, *args: str, kubeconfig: pathlib.Path | None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("KUBERNETES_", "BURSTSCALER_"))}
    env["HOME"] = str(home)
    env.pop("KUBECONFIG", None)
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    return subprocess.run(
        [sys.executable, "-m", "burstscaler", "run", "--standalone", "--metrics-port", "0", "--liveness", "", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def api_server() -> collections.abc.Iterator[collections.abc.Callable[..., str]]:
    servers: list[http.server.HTTPServer] = []

    def start(status_for: collections.abc.Callable[[str], int]) -> str:
        server, url = _serve(status_for)
        servers.append(server)
        return url

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _status(*, crd: int = 200, prometheus: int = 200) -> collections.abc.Callable[[str], int]:
    return lambda path: crd if path.startswith(CRD_PATH) else prometheus if path.startswith("/api/v1/") else 404


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        pytest.param(
            "no-kubeconfig", ["no Kubernetes configuration", "not in a cluster", "KUBECONFIG"], id="no-kubeconfig"
        ),
        pytest.param(
            "malformed-kubeconfig", ["no usable kubeconfig at", "expected ','", "KUBECONFIG"], id="malformed-kubeconfig"
        ),
        pytest.param(
            "unreachable", ["cannot reach the Kubernetes API server", "kubectl cluster-info"], id="unreachable"
        ),
        pytest.param("unauthorized", ["refused the credentials", "401", "context 'laptop'"], id="credentials-refused"),
        pytest.param(
            "no-crd", ["BurstPolicy CRD", "not installed", "burstscaler crd | kubectl apply -f -"], id="no-crd"
        ),
        pytest.param("prometheus-down", ["Prometheus at http://127.0.0.1:", "--prometheus-url"], id="prometheus-down"),
    ],
)
def test_start_up_failure_is_one_actionable_line(
    case: str, expected: list[str], tmp_path: pathlib.Path, api_server: collections.abc.Callable[..., str]
) -> None:
    args: list[str] = []
    kubeconfig: pathlib.Path | None = None
    if case == "malformed-kubeconfig":
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text("clusters: [unclosed\n")
    elif case == "unreachable":
        kubeconfig = _kubeconfig(tmp_path, f"http://127.0.0.1:{_closed_port()}")
    elif case == "unauthorized":
        kubeconfig = _kubeconfig(tmp_path, api_server(_status(crd=401)))
    elif case == "no-crd":
        kubeconfig = _kubeconfig(tmp_path, api_server(_status(crd=404)))
    elif case == "prometheus-down":
        kubeconfig = _kubeconfig(tmp_path, api_server(_status()))
        args = ["--prometheus-url", f"http://127.0.0.1:{_closed_port()}"]
    result = _run(tmp_path, *args, kubeconfig=kubeconfig)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for text in expected:
        assert text in lines[0], lines[0]


def test_verbose_adds_the_traceback(tmp_path: pathlib.Path) -> None:
    result = _run(tmp_path, "--verbose", kubeconfig=None)
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("burstscaler run: no Kubernetes configuration")


def test_checks_pass_against_a_healthy_api_and_prometheus(api_server: collections.abc.Callable[..., str]) -> None:
    """The checks themselves, in process: a healthy server passes both (so the cases above fail for their cause)."""
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config

    from burstscaler.cluster import kube
    from burstscaler.operator import config, main

    url = api_server(_status())
    previous = k8s.Configuration.get_default_copy()
    try:
        k8s_config.load_kube_config_from_dict(yaml.safe_load(_kubeconfig_text(url)))
        kube.check_api_server(source="test")
        main.check_prometheus(config.PrometheusConfig(url=url))
    finally:
        k8s.Configuration.set_default(previous)


def _kubeconfig_text(server: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "laptop", "cluster": {"server": server}}],
            "users": [{"name": "me", "user": {"token": "t"}}],
            "contexts": [{"name": "laptop", "context": {"cluster": "laptop", "user": "me"}}],
            "current-context": "laptop",
        }
    )
