"""NodeResourcesFit (filter and LeastAllocated score) and NodeResourcesBalancedAllocation.

Filter (``noderesources/fit.go``, 1.36 era): the pod count first ("Too many pods"), then cpu, memory,
ephemeral-storage and every other requested resource ("Insufficient <name>"); a zero request is never
checked; an extended resource named in ``ignoredResources`` or under a prefix of
``ignoredResourceGroups`` is skipped; a resource the node does not list has allocatable 0. A node
fails UnschedulableAndUnresolvable when some failing request exceeds the node's whole allocatable
(evicting pods cannot help), Unschedulable otherwise.

Scores (``least_allocated.go``, ``balanced_allocation.go``, ``resource_allocation.go``): a scalar
resource the pod does not request is skipped, as is any resource with allocatable 0.
- LeastAllocated: per resource ``(alloc - req) * 100 // alloc`` (0 when over), weighted mean with
  integer division; cpu and memory use the non-zero request defaults.
- BalancedAllocation: the standard deviation of ``min(req / alloc, 1)`` over the resources (real
  requests), ``int((1 - std) * 100)``: the formula of released schedulers up to v1.35.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from burstscaler.scheduler import objects, requests, state, status

#: The default profile's scoring resources (``NodeResourcesFitArgs.scoringStrategy.resources``).
DEFAULT_RESOURCES: tuple[tuple[str, int], ...] = (("cpu", 1), ("memory", 1))


@dataclasses.dataclass(frozen=True)
class FitArgs:
    """NodeResourcesFitArgs' filter part."""

    ignored_resources: frozenset[str] = frozenset()
    ignored_resource_groups: frozenset[str] = frozenset()


def _extended(name: str) -> bool:
    """``IsExtendedResourceName``: a domain-prefixed name outside ``kubernetes.io/`` (and not ``requests.``)."""
    if "/" not in name or name.startswith("requests."):
        return False
    prefix = name.split("/", 1)[0]
    return not (prefix == "kubernetes.io" or prefix.endswith(".kubernetes.io"))


def _ignored(name: str, args: FitArgs) -> bool:
    if not _extended(name):
        return False
    return name in args.ignored_resources or name.split("/", 1)[0] in args.ignored_resource_groups


def _ordered(request: dict[str, int]) -> list[str]:
    """Requested resources in the filter's order: cpu, memory, ephemeral-storage, then the others."""
    base = [name for name in state.BASE_RESOURCES if request.get(name, 0) > 0]
    rest = sorted(name for name, amount in request.items() if name not in state.BASE_RESOURCES and amount > 0)
    return base + [name for name in rest if name != "pods"]


def filter_node_resources_fit(
    st: state.State, pod: objects.Pod, *, args: FitArgs | None = None, request: dict[str, int] | None = None
) -> status.Verdict:
    """NodeResourcesFit's Filter for every node (``request`` overrides rule R, for callers that know it)."""
    args = args or FitArgs()
    if request is None:
        request = requests.pod_request(pod, pod_level_resources=st.pod_level_resources)
    n = st.n
    pods_over = st.pod_count[:n] + 1 > st.alloc_pods[:n]
    failing = pods_over.copy()
    beyond = pods_over & (st.alloc_pods[:n] < 1)
    checks: list[tuple[str, np.ndarray, np.ndarray]] = []
    for name in _ordered(request):
        if _ignored(name, args):
            continue
        amount = request[name]
        column = st.columns.get(name)
        if column is None:
            short = np.ones(n, dtype=bool)
            total_short = short
        else:
            alloc = st.alloc[:n, column]
            short = amount > alloc - st.used[:n, column]
            total_short = amount > alloc
        checks.append((name, short, total_short))
        failing |= short
        beyond |= total_short
    codes = np.where(failing, np.where(beyond, status.UNRESOLVABLE, status.UNSCHEDULABLE), status.SUCCESS)

    def reason_of(index: int) -> tuple[str, ...]:
        reasons = ["Too many pods"] if pods_over[index] else []
        reasons.extend(f"Insufficient {name}" for name, short, _total in checks if short[index])
        return tuple(reasons)

    return status.Verdict(codes=codes.astype(np.int8), reason_of=reason_of)


def _scored_columns(
    st: state.State, *, request: dict[str, int], resources: Sequence[tuple[str, int]]
) -> list[tuple[str, int, int | None]]:
    """(name, weight, column) of the resources a score looks at, scalar ones only when the pod asks."""
    found = []
    for name, weight in resources:
        if name not in ("cpu", "memory", "ephemeral-storage") and request.get(name, 0) == 0:
            continue
        found.append((name, weight, st.columns.get(name)))
    return found


def score_least_allocated(
    st: state.State, pod: objects.Pod, *, resources: Sequence[tuple[str, int]] = DEFAULT_RESOURCES
) -> np.ndarray:
    """NodeResourcesFit's LeastAllocated score per node, 0..100."""
    n = st.n
    request = requests.pod_request(pod, pod_level_resources=st.pod_level_resources)
    non_zero = requests.non_zero_request(pod, pod_level_resources=st.pod_level_resources)
    total = np.zeros(n, dtype=np.int64)
    weights = np.zeros(n, dtype=np.int64)
    for name, weight, column in _scored_columns(st, request=request, resources=resources):
        if column is None:
            continue
        alloc = st.alloc[:n, column]
        if name == "cpu":
            used = st.nz_used[:n, 0] + non_zero[0]
        elif name == "memory":
            used = st.nz_used[:n, 1] + non_zero[1]
        else:
            used = st.used[:n, column] + request.get(name, 0)
        counted = alloc > 0
        safe = np.where(counted, alloc, 1)
        score = np.where(used > alloc, 0, (alloc - used) * 100 // safe)
        total += np.where(counted, score * weight, 0)
        weights += np.where(counted, weight, 0)
    return np.where(weights > 0, total // np.maximum(weights, 1), 0)


def score_balanced_allocation(
    st: state.State, pod: objects.Pod, *, resources: Sequence[tuple[str, int]] = DEFAULT_RESOURCES
) -> np.ndarray:
    """NodeResourcesBalancedAllocation's score per node, 0..100 (standard-deviation formula)."""
    n = st.n
    request = requests.pod_request(pod, pod_level_resources=st.pod_level_resources)
    fractions = []
    masks = []
    for name, _weight, column in _scored_columns(st, request=request, resources=resources):
        if column is None:
            continue
        alloc = st.alloc[:n, column]
        used = st.used[:n, column] + request.get(name, 0)
        counted = alloc > 0
        fractions.append(np.where(counted, np.minimum(used / np.where(counted, alloc, 1), 1.0), 0.0))
        masks.append(counted)
    if not fractions:
        return np.full(n, 100, dtype=np.int64)
    values = np.stack(fractions)
    present = np.stack(masks)
    count = present.sum(axis=0)
    mean = np.where(count > 0, (values * present).sum(axis=0) / np.maximum(count, 1), 0.0)
    variance = np.where(count > 0, (((values - mean) ** 2) * present).sum(axis=0) / np.maximum(count, 1), 0.0)
    std = np.sqrt(variance)
    if values.shape[0] == 2:
        # kube's two-resource shortcut, |f1 - f2| / 2: equal to the population std, but exact in floats.
        std = np.where(count == 2, np.abs(values[0] - values[1]) / 2, 0.0)
    std = np.where(count >= 2, std, 0.0)
    return ((1 - std) * 100).astype(np.int64)
