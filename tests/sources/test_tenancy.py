"""Namespace pinning of tenant PromQL: every selector gets the policy's namespace; nothing slips through."""

from __future__ import annotations

import pytest

from burstscaler.sources import tenancy

NS = 'namespace="shop"'


@pytest.mark.parametrize(
    ("query", "pinned"),
    [
        pytest.param("up", f"up{{{NS}}}", id="bare-name"),
        pytest.param('{__name__=~".+"}', f'{{{NS},__name__=~".+"}}', id="every-series"),
        pytest.param(
            'sum(rate(http_requests_total{job="web"}[5m])) by (code)',
            f'sum(rate(http_requests_total{{{NS},job="web"}}[5m])) by (code)',
            id="rate-by",
        ),
        pytest.param(
            "sum without (job) (x offset 5m) / on(pod) group_left(node) kube_pod_info",
            f"sum without (job) (x{{{NS}}} offset 5m) / on(pod) group_left(node) kube_pod_info{{{NS}}}",
            id="label-lists-and-offset",
        ),
        pytest.param(
            'topk(3, count_values("v", build_info))', f'topk(3, count_values("v", build_info{{{NS}}}))', id="strings"
        ),
        pytest.param("rate(x[5m])[30m:1m]", f"rate(x{{{NS}}}[5m])[30m:1m]", id="subquery"),
        pytest.param("x @ start()", f"x{{{NS}}} @ start()", id="at-modifier"),
        pytest.param("a:b:rate5m unless ignoring(x) y", f"a:b:rate5m{{{NS}}} unless ignoring(x) y{{{NS}}}", id="rules"),
        pytest.param('sum(x{path="/a}b"})', f'sum(x{{{NS},path="/a}}b"}})', id="brace-in-a-string"),
        pytest.param('x{namespace="other"}', f'x{{{NS},namespace="other"}}', id="other-namespace-is-anded"),
        pytest.param("vector(1) + 2", "vector(1) + 2", id="no-selectors"),
        pytest.param("up # a comment\n", f"up{{{NS}}} # a comment\n", id="comment"),
    ],
)
def test_every_selector_is_pinned(query: str, pinned: str) -> None:
    assert tenancy.pin(query, namespace="shop") == pinned


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("sum(up", id="unclosed"),
        pytest.param("up}", id="unbalanced"),
        pytest.param("up ¤ 1", id="unknown-character"),
    ],
)
def test_what_cannot_be_read_is_refused_not_run_unpinned(query: str) -> None:
    with pytest.raises(tenancy.Unpinnable):
        tenancy.pin(query, namespace="shop")


def test_the_namespace_is_quoted() -> None:
    assert tenancy.pin("up", namespace='a"b') == 'up{namespace="a\\"b"}'
