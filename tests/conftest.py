"""Suite-wide options: the opt-in tier against a real cluster (`pytest --with-cluster`)."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--with-cluster",
        action="store_true",
        default=False,
        help="also run tests marked `cluster` against the current kubeconfig context (kind, k3d, ACK)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--with-cluster"):
        return
    skip = pytest.mark.skip(reason="needs a real cluster: run with --with-cluster")
    for item in items:
        if item.get_closest_marker("cluster") is not None:
            item.add_marker(skip)
