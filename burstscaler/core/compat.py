"""ECI compatibility lint: can the virtual node run this pod template, and if not, what instead.

Pure: plain mappings (as the Kubernetes API returns them) in, findings out. The rules are DESIGN §1's
table of what a virtual node cannot run, each with the platform's recommended alternative, plus the
per-provider size limits. An *error* means burst replicas would fail to start, so the template must
not be burst; a *warning* is advice (it runs, but slower or dearer than it could).
"""

from __future__ import annotations

import dataclasses
import decimal
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from burstscaler.api import quantity

Severity = Literal["error", "warning"]

ALTERNATIVES = {
    "hostPath": "use an emptyDir, a cloud disk or a NAS volume instead",
    "hostNetwork": "drop hostNetwork and expose the pods through a type=LoadBalancer Service",
    "hostPort": "drop hostPort and expose the port through a type=LoadBalancer Service",
    "DaemonSet": "run the agent as a sidecar container in the workload's pods",
    "privileged": "drop privileged and add only the capabilities needed under securityContext.capabilities.add",
    "NodePort": "use a type=LoadBalancer Service instead of NodePort",
}

#: The largest pod each provider runs (vCPU, GiB). Why: a request above it never starts on the virtual
#: node, however long it waits. Sources (checked for issue 17):
#: - ECI (ACK virtual node and self-built VNode alike): up to 64 vCPU / 512 GiB per instance,
#:   https://www.alibabacloud.com/help/en/eci/product-overview/limits
#: - ACI: standard limits 31 vCPU / 240 GB per container group (GB as ACI counts memory: read as GiB here),
#:   https://learn.microsoft.com/en-us/azure/container-instances/container-instances-resource-and-quota-limits
#: - Fargate: 16 vCPU / 120 GB per pod, https://docs.aws.amazon.com/eks/latest/userguide/fargate-pod-configuration.html
PROVIDER_LIMITS: dict[str, tuple[decimal.Decimal, decimal.Decimal]] = {
    "alibaba-eci": (decimal.Decimal(64), decimal.Decimal(512)),
    "alibaba-vnode": (decimal.Decimal(64), decimal.Decimal(512)),
    "aws-fargate": (decimal.Decimal(16), decimal.Decimal(120)),
    "azure-aci": (decimal.Decimal(31), decimal.Decimal(240)),
}

#: ECI's per-instance limits (https://www.alibabacloud.com/help/en/eci/product-overview/limits): ports its
#: own agent listens on (rpcbind, the kubelet's 10250 and read-only 10255) cannot be a container's, and an
#: instance runs at most 20 containers (init containers included here: they run in the same instance) and
#: mounts at most 20 volumes.
ECI_PROVIDERS = frozenset({"alibaba-eci", "alibaba-vnode"})
ECI_RESERVED_PORTS = frozenset({111, 10250, 10255})
ECI_MAX_CONTAINERS = 20
ECI_MAX_VOLUMES = 20
_GIB = decimal.Decimal(2**30)


@dataclasses.dataclass(frozen=True)
class Finding:
    """One thing the virtual node cannot (error) or should not (warning) run, with the fix."""

    path: str
    feature: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def incompatible(findings: Iterable[Finding]) -> bool:
    """True when any finding is an error: such a template must never be burst."""
    return any(finding.severity == "error" for finding in findings)


def lint_workload(workload: Mapping[str, Any], *, provider: str = "alibaba-eci") -> list[Finding]:
    """Lint a Deployment, StatefulSet, DaemonSet, Job or Pod object for the given provider."""
    kind = workload.get("kind", "")
    if kind == "DaemonSet":
        return [
            Finding(
                "kind",
                "DaemonSet",
                f"a DaemonSet runs one pod per host and the virtual node has no hosts; {ALTERNATIVES['DaemonSet']}",
            )
        ]
    if kind == "Pod":
        return lint_pod_spec(workload.get("spec") or {}, provider=provider, path="spec")
    template = (workload.get("spec") or {}).get("template") or {}
    if kind in ("CronJob",):
        job = ((workload.get("spec") or {}).get("jobTemplate") or {}).get("spec") or {}
        template = job.get("template") or {}
        return lint_pod_spec(template.get("spec") or {}, provider=provider, path="spec.jobTemplate.spec.template.spec")
    return lint_pod_spec(template.get("spec") or {}, provider=provider, path="spec.template.spec")


def lint_pod_spec(pod_spec: Mapping[str, Any], *, provider: str, path: str = "spec") -> list[Finding]:
    """Lint one pod spec; `path` prefixes every finding's field path."""
    findings: list[Finding] = []
    for index, volume in enumerate(pod_spec.get("volumes") or []):
        if isinstance(volume, Mapping) and "hostPath" in volume:
            name = volume.get("name", index)
            findings.append(
                Finding(
                    f"{path}.volumes[{index}].hostPath",
                    "hostPath",
                    f"volume {name!r} mounts a host path, which the virtual node does not have; "
                    f"{ALTERNATIVES['hostPath']}",
                )
            )
    if pod_spec.get("hostNetwork"):
        findings.append(
            Finding(
                f"{path}.hostNetwork",
                "hostNetwork",
                f"hostNetwork maps host ports, which the virtual node does not have; {ALTERNATIVES['hostNetwork']}",
            )
        )
    for group in ("initContainers", "containers"):
        for index, container in enumerate(pod_spec.get(group) or []):
            if isinstance(container, Mapping):
                findings.extend(_lint_container(container, path=f"{path}.{group}[{index}]"))
    findings.extend(_lint_size(pod_spec, provider=provider, path=path))
    if provider in ECI_PROVIDERS:
        findings.extend(_lint_eci_limits(pod_spec, path=path))
    return findings


def _lint_eci_limits(pod_spec: Mapping[str, Any], *, path: str) -> list[Finding]:
    findings: list[Finding] = []
    for group in ("initContainers", "containers"):
        for index, container in enumerate(pod_spec.get(group) or []):
            if not isinstance(container, Mapping):
                continue
            for port_index, port in enumerate(container.get("ports") or []):
                number = port.get("containerPort") if isinstance(port, Mapping) else None
                if number in ECI_RESERVED_PORTS:
                    findings.append(
                        Finding(
                            f"{path}.{group}[{index}].ports[{port_index}].containerPort",
                            "reservedPort",
                            f"container {container.get('name', '?')!r} listens on port {number}, which ECI reserves "
                            f"({', '.join(map(str, sorted(ECI_RESERVED_PORTS)))}); move the container to another port",
                        )
                    )
    containers = len(pod_spec.get("containers") or []) + len(pod_spec.get("initContainers") or [])
    if containers > ECI_MAX_CONTAINERS:
        findings.append(
            Finding(
                f"{path}.containers",
                "containerCount",
                f"the pod has {containers} containers (init containers included); an ECI instance runs at most "
                f"{ECI_MAX_CONTAINERS}; merge sidecars or split the workload",
            )
        )
    volumes = len(pod_spec.get("volumes") or [])
    if volumes > ECI_MAX_VOLUMES:
        findings.append(
            Finding(
                f"{path}.volumes",
                "volumeCount",
                f"the pod mounts {volumes} volumes; an ECI instance mounts at most {ECI_MAX_VOLUMES}; combine them "
                "(a projected volume holds several ConfigMaps and Secrets)",
            )
        )
    return findings


def _lint_container(container: Mapping[str, Any], *, path: str) -> list[Finding]:
    findings: list[Finding] = []
    name = container.get("name", "?")
    if (container.get("securityContext") or {}).get("privileged"):
        findings.append(
            Finding(
                f"{path}.securityContext.privileged",
                "privileged",
                f"container {name!r} is privileged, which the virtual node refuses; {ALTERNATIVES['privileged']}",
            )
        )
    for index, port in enumerate(container.get("ports") or []):
        if isinstance(port, Mapping) and port.get("hostPort"):
            findings.append(
                Finding(
                    f"{path}.ports[{index}].hostPort",
                    "hostPort",
                    f"container {name!r} maps hostPort {port['hostPort']}; {ALTERNATIVES['hostPort']}",
                )
            )
    return findings


def _lint_size(pod_spec: Mapping[str, Any], *, provider: str, path: str) -> list[Finding]:
    limits = PROVIDER_LIMITS.get(provider)
    if limits is None:
        return []
    cpu = memory = decimal.Decimal(0)
    for container in pod_spec.get("containers") or []:
        requests = ((container or {}).get("resources") or {}).get("requests") or {}
        try:
            cpu += quantity.parse_quantity(requests.get("cpu", 0))
            memory += quantity.parse_quantity(requests.get("memory", 0))
        except ValueError as error:
            return [Finding(f"{path}.containers", "requests", f"unreadable resource request: {error}")]
    max_cpu, max_gib = limits
    if cpu > max_cpu or memory / _GIB > max_gib:
        return [
            Finding(
                f"{path}.containers",
                "size",
                f"the pod requests {cpu} vCPU and {memory / _GIB:.1f} GiB; {provider} runs at most {max_cpu} vCPU "
                f"and {max_gib} GiB per pod; lower the requests or split the workload",
            )
        ]
    return []


def lint_spot(*, enabled: bool, provider: str, no_spot: str) -> list[Finding]:
    """A warning when a policy asks for spot on a provider without it (`no_spot`: why; empty: it has spot).

    Not an error: the twin then simply runs on-demand (and is priced and budgeted so).
    """
    if not enabled or not no_spot:
        return []
    return [
        Finding(
            path="spec.burst.spot.enabled",
            feature="spot",
            message=f"provider {provider} has no spot for virtual-node pods ({no_spot}); burst pods run "
            "on-demand and are priced so: remove spec.burst.spot or use alibaba-eci / alibaba-vnode",
            severity="warning",
        )
    ]


def lint_services(
    services: Iterable[Mapping[str, Any]], *, pod_labels: Mapping[str, str], namespace: str | None = None
) -> list[Finding]:
    """Findings for NodePort Services that select pods with `pod_labels` (in `namespace`, when given)."""
    findings: list[Finding] = []
    for service in services:
        metadata = service.get("metadata") or {}
        if namespace is not None and metadata.get("namespace", "default") != namespace:
            continue
        spec = service.get("spec") or {}
        selector = spec.get("selector") or {}
        selects = bool(selector) and all(pod_labels.get(key) == value for key, value in selector.items())
        if selects and spec.get("type") == "NodePort":
            findings.append(
                Finding(
                    f"Service/{metadata.get('name', '?')}.spec.type",
                    "NodePort",
                    f"Service {metadata.get('name', '?')!r} is type NodePort, which maps host ports the virtual "
                    f"node does not have; {ALTERNATIVES['NodePort']}",
                )
            )
    return findings


def services_missing_pods(
    services: Iterable[Mapping[str, Any]],
    *,
    base_labels: Mapping[str, str],
    burst_labels: Mapping[str, str],
) -> list[str]:
    """Names of Services that select the base's pods but would not select the burst twin's pods."""
    missing = []
    for service in services:
        selector = (service.get("spec") or {}).get("selector") or {}
        if not selector:
            continue
        base = all(base_labels.get(key) == value for key, value in selector.items())
        burst = all(burst_labels.get(key) == value for key, value in selector.items())
        if base and not burst:
            missing.append(str((service.get("metadata") or {}).get("name", "?")))
    return missing
