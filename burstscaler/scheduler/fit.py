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


def checked_resources(request: dict[str, int], args: FitArgs) -> list[str]:
    """The requested resources the Filter checks, in its order (zero and ignored ones left out)."""
    return [name for name in _ordered(request) if not _ignored(name, args)]


def _rows(st: state.State, rows: np.ndarray | None) -> np.ndarray | slice:
    return slice(0, st.n) if rows is None else rows


def filter_node_resources_fit(
    st: state.State,
    pod: objects.Pod,
    *,
    args: FitArgs | None = None,
    request: dict[str, int] | None = None,
    rows: np.ndarray | None = None,
) -> status.Verdict:
    """NodeResourcesFit's Filter for every node (or only ``rows``: then the verdict is indexed like ``rows``).

    ``request`` overrides rule R, for callers that computed it already.
    """
    args = args or FitArgs()
    if request is None:
        request = requests.pod_request(pod, pod_level_resources=st.pod_level_resources)
    at = _rows(st, rows)
    count = st.n if rows is None else len(rows)
    pods_over = st.pod_count[at] + 1 > st.alloc_pods[at]
    failing = pods_over.copy()
    beyond = pods_over & (st.alloc_pods[at] < 1)
    checks: list[tuple[str, np.ndarray]] = []
    for name in _ordered(request):
        if _ignored(name, args):
            continue
        amount = request[name]
        column = st.columns.get(name)
        if column is None:
            short = np.ones(count, dtype=bool)
            total_short = short
        else:
            alloc = st.alloc[at, column]
            short = amount > alloc - st.used[at, column]
            total_short = amount > alloc
        checks.append((name, short))
        failing |= short
        beyond |= total_short
    codes = np.where(failing, np.where(beyond, status.UNRESOLVABLE, status.UNSCHEDULABLE), status.SUCCESS)

    def reason_of(index: int) -> tuple[str, ...]:
        reasons = ["Too many pods"] if pods_over[index] else []
        reasons.extend(f"Insufficient {name}" for name, short in checks if short[index])
        return tuple(reasons)

    def histogram(mask: np.ndarray) -> dict[str, int]:
        counts = {"Too many pods": int((pods_over & mask).sum())}
        for name, short in checks:
            counts[f"Insufficient {name}"] = int((short & mask).sum())
        return counts

    return status.Verdict(codes=codes.astype(np.int8), reason_of=reason_of, histogram=histogram)


def _scored_columns(
    st: state.State, *, request: dict[str, int], resources: Sequence[tuple[str, int]]
) -> list[tuple[str, int, int]]:
    """(name, weight, column) of the resources a score looks at: scalar ones only when the pod asks,
    none the cluster has no column for (allocatable 0 everywhere, so skipped anyway)."""
    found = []
    for name, weight in resources:
        if name not in ("cpu", "memory", "ephemeral-storage") and request.get(name, 0) == 0:
            continue
        column = st.columns.get(name)
        if column is not None:
            found.append((name, weight, column))
    return found


def score_least_allocated(
    st: state.State,
    pod: objects.Pod,
    *,
    resources: Sequence[tuple[str, int]] = DEFAULT_RESOURCES,
    rows: np.ndarray | None = None,
    request: dict[str, int] | None = None,
    non_zero: tuple[int, int] | None = None,
) -> np.ndarray:
    """NodeResourcesFit's LeastAllocated score per node (or per ``rows``), 0..100.

    ``request`` / ``non_zero`` are rule R's values when the caller has them already.
    """
    at = _rows(st, rows)
    if request is None:
        request = requests.pod_request(pod, pod_level_resources=st.pod_level_resources)
    if non_zero is None:
        non_zero = requests.non_zero_request(pod, pod_level_resources=st.pod_level_resources)
    total: np.ndarray | int = 0
    weights: np.ndarray | int = 0
    for name, weight, column in _scored_columns(st, request=request, resources=resources):
        alloc = st.alloc[at, column]
        if name == "cpu":
            used = st.nz_used[at, 0] + non_zero[0]
        elif name == "memory":
            used = st.nz_used[at, 1] + non_zero[1]
        else:
            used = st.used[at, column] + request.get(name, 0)
        counted = alloc > 0
        score = np.where(used > alloc, 0, (alloc - used) * 100 // np.maximum(alloc, 1))
        total = total + np.where(counted, score * weight, 0)
        weights = weights + counted * weight
    count = st.n if rows is None else len(rows)
    if isinstance(total, int) or isinstance(weights, int):
        return np.zeros(count, dtype=np.int64)
    return np.where(weights > 0, total // np.maximum(weights, 1), 0).astype(np.int64)


def score_balanced_allocation(
    st: state.State,
    pod: objects.Pod,
    *,
    resources: Sequence[tuple[str, int]] = DEFAULT_RESOURCES,
    rows: np.ndarray | None = None,
    request: dict[str, int] | None = None,
) -> np.ndarray:
    """NodeResourcesBalancedAllocation's score per node (or per ``rows``), 0..100 (standard-deviation formula)."""
    at = _rows(st, rows)
    count = st.n if rows is None else len(rows)
    if request is None:
        request = requests.pod_request(pod, pod_level_resources=st.pod_level_resources)
    fractions = []
    masks = []
    for name, _weight, column in _scored_columns(st, request=request, resources=resources):
        alloc = st.alloc[at, column]
        used = st.used[at, column] + request.get(name, 0)
        counted = alloc > 0
        fractions.append(np.where(counted, np.minimum(used / np.maximum(alloc, 1), 1.0), 0.0))
        masks.append(counted)
    if not fractions:
        return np.full(count, 100, dtype=np.int64)
    if len(fractions) == 2:
        # kube's two-resource form |f1 - f2| / 2, where both resources count on the node.
        both = masks[0] & masks[1]
        std = np.where(both, np.abs(fractions[0] - fractions[1]) / 2, 0.0)
        return ((1 - std) * 100).astype(np.int64)
    values = np.stack(fractions)
    present = np.stack(masks)
    counted_resources = present.sum(axis=0)
    mean = (values * present).sum(axis=0) / np.maximum(counted_resources, 1)
    variance = (((values - mean) ** 2) * present).sum(axis=0) / np.maximum(counted_resources, 1)
    std = np.where(counted_resources >= 2, np.sqrt(variance), 0.0)
    return ((1 - std) * 100).astype(np.int64)


def node_answers(
    st: state.State,
    index: int,
    *,
    request: dict[str, int],
    non_zero: tuple[int, int],
    args: FitArgs,
    resources: Sequence[tuple[str, int]],
) -> tuple[bool, int, int]:
    """The Filter verdict (passes?), LeastAllocated and BalancedAllocation scores of one node, in plain Python.

    The same arithmetic as the array functions above, for the one or two nodes a bind changed:
    on a single row, numpy's per-call overhead costs more than the sums (``podclass`` uses it;
    ``tests/scheduler/test_podclass.py`` checks both forms agree).
    """
    alloc = st.alloc[index].tolist()
    used = st.used[index].tolist()
    ok = int(st.pod_count[index]) + 1 <= int(st.alloc_pods[index])
    for name in _ordered(request):
        if not ok:
            break
        if _ignored(name, args):
            continue
        column = st.columns.get(name)
        ok = column is not None and request[name] <= alloc[column] - used[column]
    nz_cpu, nz_mem = int(st.nz_used[index, 0]), int(st.nz_used[index, 1])
    total = weights = 0
    fractions: list[float] = []
    for name, weight, column in _scored_columns(st, request=request, resources=resources):
        have = alloc[column]
        if have <= 0:
            continue
        if name == "cpu":
            wanted = nz_cpu + non_zero[0]
        elif name == "memory":
            wanted = nz_mem + non_zero[1]
        else:
            wanted = used[column] + request.get(name, 0)
        total += (0 if wanted > have else (have - wanted) * 100 // have) * weight
        weights += weight
        fractions.append(min((used[column] + request.get(name, 0)) / have, 1.0))
    least = total // weights if weights > 0 else 0
    if len(fractions) == 2:
        std = abs(fractions[0] - fractions[1]) / 2
    elif len(fractions) > 2:
        mean = 0.0
        for value in fractions:
            mean += value
        mean /= len(fractions)
        variance = 0.0
        for value in fractions:
            variance += (value - mean) ** 2
        std = float(np.sqrt(variance / len(fractions)))
    else:
        std = 0.0
    return ok, least, int((1 - std) * 100)
