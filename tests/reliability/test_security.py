"""Security defaults: TLS verification on, the bearer token sent but never shown.

The e2e side (a planted token never reaches the log, Events or status) is in test_metric_faults.py;
least-privilege RBAC, derived from the code, is tests/deploy/test_rbac.py.
"""

from __future__ import annotations

import pathlib

import pytest

from burstscaler.operator import config, main
from burstscaler.sources import prometheus

TOKEN = "planted-Pr0metheus-t0ken-7f3a9c"


def test_tls_verification_is_on_by_default() -> None:
    settings = prometheus.Settings(url="https://prometheus.example:9090")
    assert (settings.insecure_skip_verify, settings.ca_file) == (False, None)
    assert config.PrometheusConfig().insecure is False
    source = prometheus.PrometheusSource(settings)
    try:
        assert source._session.verify is True  # requests: True = verify against the system CAs
    finally:
        source.close()


@pytest.mark.parametrize(
    ("ca_file", "insecure", "verify"),
    [
        pytest.param(None, False, True, id="default-verifies"),
        pytest.param("/etc/ca.pem", False, "/etc/ca.pem", id="private-ca"),
        pytest.param(None, True, False, id="insecure-only-when-asked"),
    ],
)
def test_session_verification(ca_file: str | None, insecure: bool, verify: object) -> None:
    source = prometheus.PrometheusSource(
        prometheus.Settings(url="https://p:9090", ca_file=ca_file, insecure_skip_verify=insecure)
    )
    try:
        assert source._session.verify == verify
    finally:
        source.close()


def test_the_token_is_sent_as_a_header_and_never_shown(tmp_path: pathlib.Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    operator_config = config.PrometheusConfig(url="https://p:9090", token_file=str(token_file))
    fetcher = main.fetcher_for(operator_config)
    assert fetcher is not None
    try:
        settings = prometheus.Settings(url="https://user:pw@p:9090", bearer_token=TOKEN)
        source = prometheus.PrometheusSource(settings)
        assert source._client.headers == {"Authorization": f"Bearer {TOKEN}"}
        for shown in (repr(settings), source.describe(), repr(operator_config), repr(config.OperatorConfig())):
            assert TOKEN not in shown and "pw" not in shown.replace("https://", ""), shown
        source.close()
    finally:
        fetcher.close()
