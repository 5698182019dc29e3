"""The judge: a pure model of kube-scheduler's default profile, placing one pod at a time.

Rule: pure and independent. Only the standard library, numpy and ``burstscaler.api.quantity``; it
never imports ``burstscaler.core`` and ``core`` never imports it (import-linter keeps both ways), so
what the planner predicts and what the scheduler would really do are computed by separate code.
Used by the simulator's cluster and the e2e cluster actor; checked against Kubernetes' own plugin
test cases (``tests/scheduler/test_sched_cases.py``).

Modules, one job each: ``objects`` (nodes, pods), ``requests`` (rule R), ``labels`` (selectors),
``state`` (per-node arrays), one module per plugin family (``taints``, ``nodeaffinity``, ``ports``,
``fit``, ``spread``, ``interpod``), ``profile`` (order and weights), ``preemption``, ``cluster``
(the public whole) and ``plugins`` (each plugin alone).
"""

from burstscaler.scheduler import plugins
from burstscaler.scheduler.cluster import Cluster, Decision
from burstscaler.scheduler.fit import FitArgs
from burstscaler.scheduler.objects import Container, Node, Pod, Taint
from burstscaler.scheduler.profile import Profile
from burstscaler.scheduler.requests import non_zero_request, pod_request
from burstscaler.scheduler.status import Status

__all__ = [
    "Cluster",
    "Container",
    "Decision",
    "FitArgs",
    "Node",
    "Pod",
    "Profile",
    "Status",
    "Taint",
    "non_zero_request",
    "plugins",
    "pod_request",
]
