"""What a pod asks of a node: rule R of kube-scheduler's resource accounting, and the scoring defaults.

Follows ``k8s.io/component-helpers/resource.PodRequests`` as NodeResourcesFit calls it:
- the regular containers are summed;
- init containers run one at a time, so each needs only its own request, plus every restartable
  (sidecar, ``restartPolicy: Always``) init container started before it, which keeps running;
- sidecars also run beside the regular containers, so they are added to the sum;
- the pod needs the larger of the sum and the largest init-container need, plus ``overhead``;
- pod-level ``spec.resources.requests`` (PodLevelResources) replace the container-derived cpu, memory
  and hugepages; extended resources still come from the containers.

A container whose request for a resource is absent but whose limit is set requests the limit (the
API server's defaulting), so hand-built pods behave like those read back from the server.
"""

from __future__ import annotations

from collections.abc import Mapping

from burstscaler.scheduler import objects

#: kube-scheduler's non-zero defaults (``pkg/scheduler/util.DefaultMilliCPURequest`` / ``DefaultMemoryRequest``).
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024

#: Resources pod-level ``spec.resources`` may set (cpu, memory, hugepages-*).
_POD_LEVEL_PREFIX = "hugepages-"


def container_requests(container: objects.Container) -> dict[str, int]:
    """A container's requests with absent keys defaulted from its limits."""
    return {**container.limits, **container.requests}


def _combine(pod: objects.Pod, *, regular: list[dict[str, int]], init: list[dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for request in regular:
        _add(total, request)
    sidecars: dict[str, int] = {}
    init_need: dict[str, int] = {}
    for container, request in zip(pod.init_containers, init, strict=True):
        if container.restart_policy == "Always":
            _add(total, request)
            _add(sidecars, request)
            # A sidecar is started while the earlier sidecars run: its start needs them too.
            need = dict(sidecars)
        else:
            need = dict(sidecars)
            _add(need, request)
        for name, amount in need.items():
            init_need[name] = max(init_need.get(name, 0), amount)
    for name, amount in init_need.items():
        total[name] = max(total.get(name, 0), amount)
    _add(total, pod.overhead)
    return total


def _add(into: dict[str, int], values: Mapping[str, int]) -> None:
    for name, amount in values.items():
        into[name] = into.get(name, 0) + amount


def pod_request(pod: objects.Pod, *, pod_level_resources: bool = True) -> dict[str, int]:
    """The pod's effective request per resource (rule R), as NodeResourcesFit checks it against a node."""
    total = _combine(
        pod,
        regular=[container_requests(c) for c in pod.containers],
        init=[container_requests(c) for c in pod.init_containers],
    )
    if pod_level_resources and pod.pod_requests:
        for name, amount in pod.pod_requests.items():
            if name in ("cpu", "memory") or name.startswith(_POD_LEVEL_PREFIX):
                # Pod-level values replace the container-derived ones; overhead still comes on top.
                total[name] = amount + pod.overhead.get(name, 0)
    return total


def non_zero_request(pod: objects.Pod, *, pod_level_resources: bool = True) -> tuple[int, int]:
    """Milli-cpu and memory with kube-scheduler's non-zero defaults, as LeastAllocated scores them.

    A container with no cpu key counts 100m, one with no memory key 200 MiB (an explicit 0 stays 0);
    a pod without containers counts 0.
    """
    total = _combine(
        pod,
        regular=[_non_zero(c) for c in pod.containers],
        init=[_non_zero(c) for c in pod.init_containers],
    )
    if pod_level_resources and pod.pod_requests:
        for name in ("cpu", "memory"):
            if name in pod.pod_requests:
                total[name] = pod.pod_requests[name] + pod.overhead.get(name, 0)
    return total.get("cpu", 0), total.get("memory", 0)


def _non_zero(container: objects.Container) -> dict[str, int]:
    request = container_requests(container)
    return {
        "cpu": request.get("cpu", DEFAULT_MILLI_CPU_REQUEST),
        "memory": request.get("memory", DEFAULT_MEMORY_REQUEST),
    }


def host_ports(pod: objects.Pod) -> tuple[tuple[str, str, int], ...]:
    """Every (hostIP, protocol, hostPort) the pod's regular containers bind (NodePorts reads only those)."""
    ports: list[tuple[str, str, int]] = []
    for container in pod.containers:
        ports.extend(container.host_ports)
    return tuple(ports)
