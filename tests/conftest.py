"""Suite-wide fixtures and options: the real Prometheus, and the opt-in tier against a real cluster."""

from __future__ import annotations

import pytest

from tests.fixtures.prometheus import prometheus_server  # noqa: F401  (the real Prometheus, for every tier)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--with-cluster",
        action="store_true",
        default=False,
        help="also run tests marked `cluster` against the current kubeconfig context (kind, k3d, ACK)",
    )
    parser.addoption(
        "--cluster-prometheus-url",
        default=None,
        help="cluster tier: a Prometheus URL the operator reads (default: none, policies scale on minReplicas)",
    )
    parser.addoption(
        "--cluster-emulated",
        action="store_true",
        default=False,
        help="cluster tier: the cluster is the emulator stand-in (no scheduler/kubelet); tests needing one skip",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--with-cluster"):
        return
    skip = pytest.mark.skip(reason="needs a real cluster: run with --with-cluster")
    for item in items:
        if item.get_closest_marker("cluster") is not None:
            item.add_marker(skip)
