"""Factories of BurstPolicy documents as an SRE would write them (plain dicts, camelCase)."""

from __future__ import annotations

import copy
from typing import Any


def make_policy(**spec: Any) -> dict[str, Any]:
    """A minimal valid BurstPolicy document; keyword arguments replace or add spec fields."""
    document: dict[str, Any] = {
        "apiVersion": "burstscaler.io/v1alpha1",
        "kind": "BurstPolicy",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "maxReplicas": 10},
    }
    document["spec"].update(copy.deepcopy(spec))
    return document


def prometheus_metric(target: dict[str, Any], query: str = "sum(rate(http_requests_total[1m]))") -> dict[str, Any]:
    """A metrics[] entry with a Prometheus source."""
    return {"prometheus": {"query": query, "target": target}}
