"""ServiceMonitor, PrometheusRule and the Grafana dashboard: right shape, real metrics, valid PromQL.

kubernetes-validate has no schema for the Prometheus Operator's kinds, so their shape is checked here
by hand (the fields the Prometheus Operator requires and the ones we rely on). Every burstscaler_*
name they query must be a series the operator exports: the names come from a live
``operator.metrics.Metrics`` registry (prometheus_client adds ``_total`` to counters and
``_bucket``/``_count``/``_sum`` to histograms). PromQL is checked with promtool when it is installed
(Debian's prometheus package, which the test suite installs, ships it).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Any

import pytest
import yaml

from burstscaler.operator import metrics as operator_metrics
from tests.deploy import bundle

DOCS = bundle.objects(sorted(bundle.MONITORING.glob("*.yaml")))
RULE = bundle.find(DOCS, "PrometheusRule")
MONITOR = bundle.find(DOCS, "ServiceMonitor")
DASHBOARD = json.loads((bundle.MONITORING / "dashboard.json").read_text())
ALERTS = {rule["alert"]: rule for group in RULE["spec"]["groups"] for rule in group["rules"] if "alert" in rule}
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__range": "1h", "$namespace": ".*", "$policy": ".*"}
needs_promtool = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")


def exported_series() -> set[str]:
    """Every sample name the operator's registry can expose."""
    metrics = operator_metrics.Metrics()
    names = set()
    for family in metrics.registry.collect():
        if family.type == "counter":
            names |= {f"{family.name}_total", f"{family.name}_created"}
        elif family.type == "histogram":
            names |= {f"{family.name}_{suffix}" for suffix in ("bucket", "count", "sum", "created")}
        else:
            names.add(family.name)
    return names


def dashboard_queries() -> list[str]:
    panels = [p for p in DASHBOARD["panels"] if p["type"] != "row"]
    return [target["expr"] for panel in panels for target in panel["targets"]]


def _grafana_free(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def _queried(exprs: list[str]) -> set[str]:
    return {name for expr in exprs for name in re.findall(r"\bburstscaler_[a-z_]+", expr)}


@pytest.mark.parametrize(
    ("alert", "metric", "for_"),
    [
        pytest.param("BurstscalerOperatorDown", "up", "5m", id="operator-down"),
        pytest.param("BurstscalerMetricsUnavailable", "burstscaler_metrics_available == 0", "5m", id="metrics"),
        pytest.param("BurstscalerBudgetLimited", "burstscaler_budget_limited == 1", "5m", id="budget"),
        pytest.param("BurstscalerDrainBackStuck", "burstscaler_drain_back_in_flight > 0", "15m", id="drain-stuck"),
    ],
)
def test_required_alert(alert: str, metric: str, for_: str) -> None:
    rule = ALERTS[alert]
    assert metric in " ".join(rule["expr"].split())
    assert rule["for"] == for_
    assert rule["labels"]["severity"] in {"critical", "warning"}
    assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_alerts_and_dashboard_query_only_exported_metrics() -> None:
    exprs = [rule["expr"] for rule in ALERTS.values()] + dashboard_queries()
    exprs += [v["definition"] for v in DASHBOARD["templating"]["list"] if "definition" in v]
    unknown = _queried(exprs) - exported_series()
    assert not unknown, f"queries of metrics burstscaler does not export: {sorted(unknown)}"


def test_dashboard_shows_every_policy_metric() -> None:
    metrics = operator_metrics.Metrics()
    families = {family.name for family in metrics.registry.collect()}
    shown = {re.sub(r"_(total|bucket|count|sum)$", "", name) for name in _queried(dashboard_queries())}
    assert families - shown == set()


def test_service_monitor_shape() -> None:
    service = bundle.find(bundle.documents(bundle.BASE / "service.yaml"), "Service")
    spec = MONITOR["spec"]
    assert MONITOR["apiVersion"] == "monitoring.coreos.com/v1"
    assert spec["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert spec["namespaceSelector"]["matchNames"] == [service["metadata"]["namespace"]]
    [endpoint] = spec["endpoints"]
    assert endpoint["port"] == service["spec"]["ports"][0]["name"] and endpoint["path"] == "/metrics"
    # The metrics' own `namespace` label is the BurstPolicy's; without this it becomes exported_namespace.
    assert endpoint["honorLabels"] is True
    # The job label is the Service's app name: what BurstscalerOperatorDown selects on.
    assert service["metadata"]["labels"][spec["jobLabel"]] == "burstscaler"
    assert 'job="burstscaler"' in ALERTS["BurstscalerOperatorDown"]["expr"]


def test_prometheus_rule_shape() -> None:
    assert RULE["apiVersion"] == "monitoring.coreos.com/v1"
    for group in RULE["spec"]["groups"]:
        assert group["name"] and group["rules"]
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}
            assert isinstance(rule["expr"], str) and rule["alert"].startswith("Burstscaler")


def test_dashboard_shape() -> None:
    ids = [panel["id"] for panel in DASHBOARD["panels"]]
    assert len(ids) == len(set(ids))
    variables = {v["name"] for v in DASHBOARD["templating"]["list"]}
    assert {"datasource", "namespace", "policy"} <= variables
    for panel in DASHBOARD["panels"]:
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"]) and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}" and panel["targets"]


def test_dashboard_config_map_is_labelled_for_the_grafana_sidecar() -> None:
    kustomization = bundle.documents(bundle.MONITORING / "kustomization.yaml")[0]
    [generator] = kustomization["configMapGenerator"]
    assert generator["options"]["labels"] == {"grafana_dashboard": "1"}
    assert generator["files"] == ["burstscaler.json=dashboard.json"]


@needs_promtool
def test_alert_rules_pass_promtool(tmp_path: Any) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": RULE["spec"]["groups"]}))
    result = subprocess.run(["promtool", "check", "rules", str(rules)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_dashboard_queries_are_valid_promql(tmp_path: Any) -> None:
    # promtool parses expressions only inside rules: each query becomes a recording rule.
    records = [{"record": f"dashboard:query{i}", "expr": _grafana_free(e)} for i, e in enumerate(dashboard_queries())]
    rules = tmp_path / "dashboard.yaml"
    rules.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": records}]}))
    result = subprocess.run(["promtool", "check", "rules", str(rules)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
