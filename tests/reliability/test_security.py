"""Security defaults: TLS verification on, the bearer token sent but never shown.

The e2e side (a planted token never reaches the log, Events or status) is in test_metric_faults.py;
least-privilege RBAC, derived from the code, is tests/deploy/test_rbac.py.
"""

from __future__ import annotations

import pathlib
import ssl

import certifi
import pytest

from burstscaler.operator import config, main
from burstscaler.sources import prometheus

TOKEN = "planted-Pr0metheus-t0ken-7f3a9c"


def test_tls_verification_is_on_by_default() -> None:
    settings = prometheus.Settings(url="https://prometheus.example:9090")
    assert (settings.insecure_skip_verify, settings.ca_file) == (False, None)
    assert config.PrometheusConfig().insecure is False
    context = prometheus.PrometheusSource(settings).tls_context()
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)


@pytest.mark.parametrize(
    ("ca_file", "insecure", "verify_mode"),
    [
        pytest.param(None, False, ssl.CERT_REQUIRED, id="default-verifies"),
        pytest.param(certifi.where(), False, ssl.CERT_REQUIRED, id="private-ca"),
        pytest.param(None, True, ssl.CERT_NONE, id="insecure-only-when-asked"),
    ],
)
def test_session_verification(ca_file: str | None, insecure: bool, verify_mode: ssl.VerifyMode) -> None:
    source = prometheus.PrometheusSource(
        prometheus.Settings(url="https://p:9090", ca_file=ca_file, insecure_skip_verify=insecure)
    )
    assert source.tls_context().verify_mode == verify_mode


def test_the_token_is_sent_as_a_header_and_never_shown(tmp_path: pathlib.Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    operator_config = config.PrometheusConfig(url="https://p:9090", token_file=str(token_file))
    fetcher = main.fetcher_for(operator_config)
    assert fetcher is not None
    try:
        settings = prometheus.Settings(url="https://user:pw@p:9090", bearer_token=TOKEN)
        source = prometheus.PrometheusSource(settings)
        assert source.headers == {"Authorization": f"Bearer {TOKEN}"}
        for shown in (repr(settings), source.describe(), repr(operator_config), repr(config.OperatorConfig())):
            assert TOKEN not in shown and "pw" not in shown.replace("https://", ""), shown
        source.close()
    finally:
        fetcher.close()


def test_the_start_up_log_never_shows_a_password_in_the_prometheus_url() -> None:
    # The operator logs its whole configuration at start-up (operator/main.py: "burstscaler starting").
    url = "https://monitor:hunter2-S3cret@prometheus.example:9090"
    shown = repr(config.OperatorConfig(prometheus=config.PrometheusConfig(url=url)))
    assert "hunter2-S3cret" not in shown
    assert "https://***@prometheus.example:9090" in shown
    source = prometheus.PrometheusSource(prometheus.Settings(url=url))
    assert source.headers["Authorization"].startswith("Basic "), "the credentials still authenticate"
    assert "hunter2" not in source.describe()
