"""What ECI bills a pod for: its *effective spec*, from the pod template, rounded to a supported size.

ECI does not bill what kube-scheduler counts (requests). It sizes the instance, and bills per second
on that size (Alibaba Cloud, "Specify vCPUs and memory to create an ECI pod",
https://help.aliyun.com/document_detail/451261.htm, and the English page
https://www.alibabacloud.com/help/en/eci/user-guide/specify-the-number-of-vcpus-and-memory-size-to-create-a-pod-1):

- the annotation ``k8s.aliyun.com/eci-use-specs`` wins when given (a comma-separated list tried in
  order; a ``<vCPU>-<memory>Gi`` entry is sized here, an ECS instance-type name such as
  ``ecs.c6.large`` cannot be sized without the vendor's catalogue and falls through to the containers);
- else the containers: where limits are set they are summed (requests ignored), else requests;
  here per container and resource (a container's limit where it sets one, else its request), which is
  the same in the documented cases and defined in the mixed ones;
- init containers run one after another before the app: the largest one counts when it exceeds the
  app's sum; native sidecars (init containers with ``restartPolicy: Always``) run beside the app and
  are added to it (as kube-scheduler adds them);
- a size that is not a supported spec is rounded **up** to the next one (7 vCPU / 13 GiB is billed as
  8 / 14 in the regions that offer 8 / 14, 8 / 16 elsewhere);
- nothing set at all: 2 vCPU / 4 GiB.

Supported specs: the table "supported in every region where ECI is available" of the pages above
(checked 2026-12-02). Some regions offer extra sizes (for example 8 vCPU with 10-62 GiB); rounding to
the every-region table never bills less than the real instance, so cost and budgets built on it are
upper bounds, never optimistic. Among the specs at least as large as the pod, the smallest vCPU and
then the smallest memory is taken: vCPU dominates the price (one vCPU-second costs as much as eight
GiB-seconds at list), so this is also the cheapest fitting spec in every row of the table.

Pure: no I/O. Quantities are parsed with :mod:`burstscaler.api.quantity`.
"""

from __future__ import annotations

import dataclasses
import decimal
import re
from collections.abc import Iterable, Mapping
from typing import Any

from burstscaler.api import quantity

#: The annotation that sizes an ECI pod explicitly.
USE_SPECS_ANNOTATION = "k8s.aliyun.com/eci-use-specs"

#: vCPU -> the memory sizes (GiB) ECI offers with it, in every region (see the module docstring).
SUPPORTED_SPECS: Mapping[float, tuple[float, ...]] = {
    0.25: (0.5, 1),
    0.5: (1, 2),
    1: (2, 4, 8),
    2: (1, 2, 4, 8, 16),
    4: (2, 4, 8, 16, 32),
    8: (4, 8, 16, 32, 64),
    12: (12, 24, 48, 96),
    16: (16, 32, 64, 128),
    24: (24, 48, 96, 192),
    32: (32, 64, 128, 256),
    52: (96, 192, 384),
    64: (128, 256, 512),
}

_SPEC_TEXT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)\s*(?:Gi|G)?\s*$")
_GIB = decimal.Decimal(2**30)


@dataclasses.dataclass(frozen=True)
class EciSpec:
    """An ECI instance size: vCPUs and GiB of memory."""

    vcpu: float
    memory_gib: float


#: What ECI creates when a pod sets no size at all.
DEFAULT_SPEC = EciSpec(vcpu=2.0, memory_gib=4.0)

#: Every supported spec, smallest vCPU first, then smallest memory.
_ORDERED = tuple(
    EciSpec(vcpu=float(vcpu), memory_gib=float(memory))
    for vcpu in sorted(SUPPORTED_SPECS)
    for memory in sorted(SUPPORTED_SPECS[vcpu])
)


class SpecTooLarge(ValueError):
    """The pod needs more than the largest ECI spec: ECI cannot run it at all."""


def round_up(*, vcpu: float, memory_gib: float) -> EciSpec:
    """Return the supported spec ECI would create for a pod of ``vcpu`` / ``memory_gib``.

    The smallest vCPU, then the smallest memory, that covers both. Raises :class:`SpecTooLarge` when no
    spec is large enough (more than 64 vCPU or 512 GiB, or a ratio no spec offers).
    """
    for spec in _ORDERED:
        if spec.vcpu >= vcpu and spec.memory_gib >= memory_gib:
            return spec
    raise SpecTooLarge(f"{vcpu:g} vCPU / {memory_gib:g} GiB is larger than every ECI spec (at most 64 vCPU / 512 GiB)")


def effective_spec(*, pod_spec: Mapping[str, Any], annotations: Mapping[str, str] | None = None) -> EciSpec:
    """Return the spec ECI bills a pod of this template for (rules in the module docstring).

    ``pod_spec`` is the pod template's ``spec`` as Kubernetes JSON (camelCase); ``annotations`` the pod
    template's annotations. Raises ValueError naming the text for a quantity that does not parse, and
    :class:`SpecTooLarge` when no ECI spec can hold the pod.
    """
    declared = _declared_spec((annotations or {}).get(USE_SPECS_ANNOTATION, ""))
    if declared is not None:
        return round_up(vcpu=declared.vcpu, memory_gib=declared.memory_gib)
    sized = _containers_size(pod_spec)
    if sized is None:
        return DEFAULT_SPEC
    vcpu, memory_gib = sized
    # A pod that sizes only one of the two gets ECI's smallest spec holding it; 0 of the other
    # resource is covered by every spec.
    return round_up(vcpu=vcpu, memory_gib=memory_gib)


def _declared_spec(text: str) -> EciSpec | None:
    """The first ``<vCPU>-<memory>Gi`` entry of an eci-use-specs annotation, or None."""
    for entry in text.split(","):
        match = _SPEC_TEXT.match(entry)
        if match is not None:
            return EciSpec(vcpu=float(match.group(1)), memory_gib=float(match.group(2)))
    return None


def _containers_size(pod_spec: Mapping[str, Any]) -> tuple[float, float] | None:
    """(vCPU, GiB) summed over the containers as ECI sizes them, or None when nothing is set."""
    containers = _list(pod_spec.get("containers"))
    init_containers = _list(pod_spec.get("initContainers"))
    sidecars = [c for c in init_containers if c.get("restartPolicy") == "Always"]
    ordinary_init = [c for c in init_containers if c.get("restartPolicy") != "Always"]
    sizes = [_container_size(c) for c in [*containers, *sidecars]]
    init_sizes = [_container_size(c) for c in ordinary_init]
    if all(size is None for size in [*sizes, *init_sizes]):
        return None
    running_cpu = sum(size[0] for size in sizes if size is not None)
    running_memory = sum(size[1] for size in sizes if size is not None)
    init_cpu = max((size[0] for size in init_sizes if size is not None), default=0.0)
    init_memory = max((size[1] for size in init_sizes if size is not None), default=0.0)
    return max(running_cpu, init_cpu), max(running_memory, init_memory)


def _container_size(container: Mapping[str, Any]) -> tuple[float, float] | None:
    """(vCPU, GiB) of one container: its limit where set, else its request; None when neither is."""
    resources = container.get("resources") or {}
    limits = resources.get("limits") or {}
    requests = resources.get("requests") or {}
    cpu = _amount(limits, requests, "cpu")
    memory = _amount(limits, requests, "memory")
    if cpu is None and memory is None:
        return None
    return (
        float(cpu) if cpu is not None else 0.0,
        float(memory / _GIB) if memory is not None else 0.0,
    )


def _amount(limits: Mapping[str, Any], requests: Mapping[str, Any], name: str) -> decimal.Decimal | None:
    for source in (limits, requests):
        if name in source and source[name] is not None:
            return quantity.parse_quantity(source[name])
    return None


def _list(value: Any) -> Iterable[Mapping[str, Any]]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]
