"""The ``cpu`` shortcut: average CPU utilisation of the target's pods against their requests, in percent.

So that users need not write this PromQL by hand. For a Deployment ``web`` in namespace ``shop`` with
the default 1m rate window, ``query_for`` generates exactly the expansion of::

    100 * sum(USAGE and on (namespace, pod) REQUESTS) / sum(REQUESTS and on (namespace, pod) USAGE)

    USAGE    = sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{SEL,container!="",container!="POD"}[1m]))
    REQUESTS = sum by (namespace, pod) (kube_pod_container_resource_requests{SEL,resource="cpu",container!=""})
    SEL      = namespace="shop",pod=~"web(-burst)?-[a-z0-9]+-[a-z0-9]{5}"

(for a StatefulSet the pod pattern is ``web(-burst)?-[0-9]+``).

Why this shape:
- usage is cAdvisor's ``container_cpu_usage_seconds_total`` (kubelet /metrics/cadvisor), requests are
  kube-state-metrics' ``kube_pod_container_resource_requests{resource="cpu"}`` (in cores);
- ``container!=""`` drops cAdvisor's pod-level cgroup series and ``container!="POD"`` the pause
  container, which would otherwise count usage twice;
- both sums run only over pods that have *both* a usage and a request (``and on (namespace, pod)``),
  as the HPA's utilization does: a pod just started (no usage yet) or already gone (no request) does
  not dilute the average;
- pods are matched by name: the Deployment's ``<name>-<hash>-<suffix>`` (StatefulSet:
  ``<name>-<ordinal>``), and the burst twin's ``<name>-burst-...`` too, because the recommendation is
  for the whole workload, base and burst together. The anchored pattern does not match a sibling
  workload such as ``web-api``'s pods.
The result is a single number, compared with ``targetAverageUtilization`` by the HPA's Utilization rule.
"""

from __future__ import annotations

import re

from burstscaler.api import spec

DEFAULT_WINDOW = "1m"
_POD_PATTERNS = {
    "Deployment": r"{name}(-burst)?-[a-z0-9]+-[a-z0-9]{{5}}",
    "StatefulSet": r"{name}(-burst)?-[0-9]+",
}


def pod_pattern(target: spec.TargetRef) -> str:
    """The regular expression (anchored by PromQL) matching the target's pods and its burst twin's."""
    return _POD_PATTERNS[target.kind].format(name=re.escape(target.name))


def query_for(target: spec.TargetRef, *, namespace: str, window: str = DEFAULT_WINDOW) -> str:
    """The PromQL of the cpu shortcut for ``target`` in ``namespace`` (see the module docstring)."""
    selector = f'namespace="{_quote(namespace)}",pod=~"{_quote(pod_pattern(target))}"'
    usage = (
        f'sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{{{selector},container!="",'
        f'container!="POD"}}[{window}]))'
    )
    requests = (
        f'sum by (namespace, pod) (kube_pod_container_resource_requests{{{selector},resource="cpu",container!=""}})'
    )
    return f"100 * sum({usage} and on (namespace, pod) {requests}) / sum({requests} and on (namespace, pod) {usage})"


def _quote(text: str) -> str:
    # PromQL string literals use Go escaping: a backslash or a quote must be escaped.
    return text.replace("\\", "\\\\").replace('"', '\\"')
