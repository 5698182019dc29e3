"""Fixtures of the source tests: the real Prometheus server (shared with other test packages)."""

from tests.fixtures.prometheus import prometheus_server  # noqa: F401
