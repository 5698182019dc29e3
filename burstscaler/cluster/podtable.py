"""The cluster's pods kept between ticks, so that building a snapshot costs what changed, not what exists.

Why: at 50,000 pods, a per-tick pass in Python that reads every pod's requests and sorts it into its
workload costs several times the core's whole plan. The operator's indices hand the tick the same
record objects for pods that did not change (a record is rebuilt only on a watch event), so a table
that remembers records by identity sees, each tick, only the pods added and removed since the last
one, and keeps:
- every pod's requests as one row of a numpy array, with the node it is bound to as an integer code,
  so the per-node sums are one ``np.bincount`` per resource;
- the live (not finished, not deleting) pods of each workload, with per-workload facts (ready count,
  unbound count, the admitted requests of the current revision) recomputed only when that workload's
  pods changed;
- the few pods a tick reads one by one: unbound live pods (reservations), deleting pods of a
  workload (they hold room), failed pods of a workload (burst health), pods with required
  anti-affinity (the symmetry check).
The table holds a reference to each record it knows, so no record's ``id`` can be reused while it
is in the table. Results equal a from-scratch pass (``tests/cluster/test_snapshot.py`` checks it on
generated clusters, after rounds of changes).
"""

from __future__ import annotations

import dataclasses
import itertools
import operator
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from burstscaler.cluster import objects

Workload = tuple[str, str, str]

#: Request columns every table has; an extended resource a pod requests adds one when first seen.
BASE_COLUMNS = ("cpu", "memory", "pods", "ephemeral-storage")
_FINISHED = ("Succeeded", "Failed")
_BURST, _READY, _NODE = operator.attrgetter("burst"), operator.attrgetter("ready"), operator.attrgetter("node_name")
_STARTED, _REQUESTS = operator.attrgetter("started"), operator.attrgetter("requests")


@dataclasses.dataclass(frozen=True)
class BaseFacts:
    """What a workload's live pods say when it is a policy's base (its pods without the burst label)."""

    pods: tuple[objects.PodRecord, ...]
    ready: int
    unbound: int
    admitted: Mapping[str, float] | None  # the current revision's requests (None: no base pods)


@dataclasses.dataclass(frozen=True)
class TwinFacts:
    """What a workload's live pods say when it is a policy's twin (every pod of it)."""

    pods: tuple[objects.PodRecord, ...]
    ready: int
    started: tuple[float | None, ...]  # None: no start time yet (the snapshot uses its `now`)


class PodTable:
    """Pod records by identity, with their requests as rows and their workloads' facts, updated by ``sync``."""

    def __init__(self) -> None:
        self._records: dict[int, objects.PodRecord] = {}
        self._slot: dict[int, int] = {}
        self._free: list[int] = []
        self._columns: dict[str, int] = {name: column for column, name in enumerate(BASE_COLUMNS)}
        self._requests = np.zeros((0, len(BASE_COLUMNS)), dtype=np.float64)
        self._node_code = np.zeros(0, dtype=np.int64)  # -1: not counted in any node's room
        self._codes: dict[str, int] = {}
        self._code_names: list[str] = []
        self._live: dict[Workload, dict[int, objects.PodRecord]] = {}
        self._deleting: dict[Workload, dict[int, objects.PodRecord]] = {}
        self._failed: dict[Workload, dict[int, objects.PodRecord]] = {}
        self._unbound: dict[int, objects.PodRecord] = {}
        self._anti: dict[int, objects.PodRecord] = {}
        self._base_facts: dict[Workload, BaseFacts] = {}
        self._twin_facts: dict[Workload, TwinFacts] = {}
        self._order: list[objects.PodRecord] = []  # the last sync's sequence (for the positional check)
        self._rows_of_codes: tuple[Mapping[str, int], np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self._records)

    def sync(self, pods: Sequence[objects.PodRecord]) -> None:
        """Make the table hold exactly `pods` (the same record object twice counts once)."""
        order = self._order
        if len(pods) == len(order) == len(self._records):
            # The indices keep their order between ticks: the usual tick changes a few records in place.
            # (Equal lengths and no duplicate last time: a record at an unchanged position is still there.)
            changed = np.flatnonzero(~np.fromiter(map(operator.is_, pods, order), bool, len(pods))).tolist()
            if len(changed) * 8 < len(pods):
                gone = {id(order[position]): order[position] for position in changed}
                came = {id(pods[position]): pods[position] for position in changed}
                for key in gone.keys() - came.keys():
                    self._remove(key)
                for key in came.keys() - gone.keys():
                    if key not in self._records:
                        self._add(key, came[key])
                self._order = list(pods)
                return
        current = dict(zip(map(id, pods), pods, strict=True))
        known = self._records
        self._order = list(pods)
        if len(current) == len(known) and current.keys() == known.keys():
            return
        for key in known.keys() - current.keys():
            self._remove(key)
        for key in current.keys() - known.keys():
            self._add(key, current[key])

    # -- what a tick reads ---------------------------------------------------------------------

    def records(self) -> Iterable[objects.PodRecord]:
        """Every record in the table."""
        return self._records.values()

    def requested(self, *, node_index: Mapping[str, int], resources: Sequence[str]) -> np.ndarray:
        """``[N, R]``: per node row, the summed requests of the unfinished pods bound to it (deleting ones too)."""
        count = len(node_index)
        result = np.zeros((count, len(resources)), dtype=np.float64)
        if not self._records or not count:
            return result
        to_row = self._to_row(node_index)
        codes = self._node_code
        rows = np.where(codes >= 0, to_row[np.maximum(codes, 0)], -1) if len(to_row) else np.full(len(codes), -1)
        counted = rows >= 0
        rows = rows[counted]
        for column, name in enumerate(resources):
            source = self._columns.get(name)
            if source is not None:
                result[:, column] = np.bincount(rows, weights=self._requests[counted, source], minlength=count)
        return result

    def _to_row(self, node_index: Mapping[str, int]) -> np.ndarray:
        # Node code -> row of this tick's nodes (-1: not a node of this tick); kept while neither changes.
        names = self._code_names
        cached = self._rows_of_codes
        if cached is not None and cached[0] is node_index and len(cached[1]) == len(names):
            return cached[1]
        rows = np.fromiter(map(node_index.get, names, itertools.repeat(-1)), np.int64, len(names))
        self._rows_of_codes = (node_index, rows)
        return rows

    def live(self, workload: Workload) -> Sequence[objects.PodRecord]:
        """The workload's pods that are neither finished nor deleting."""
        return tuple((self._live.get(workload) or {}).values())

    def base(self, workload: Workload) -> BaseFacts:
        """The workload's facts as a policy's base (cached until its pods change)."""
        facts = self._base_facts.get(workload)
        if facts is None:
            members = (self._live.get(workload) or {}).values()
            # attrgetter maps run in C: a churning cluster recomputes many workloads each tick.
            pods = tuple(itertools.compress(members, [not burst for burst in map(_BURST, members)]))
            facts = BaseFacts(
                pods=pods,
                ready=sum(map(_READY, pods)),
                unbound=list(map(_NODE, pods)).count(""),
                admitted=admitted_requests(pods),
            )
            self._base_facts[workload] = facts
        return facts

    def twin(self, workload: Workload) -> TwinFacts:
        """The workload's facts as a policy's twin (cached until its pods change)."""
        facts = self._twin_facts.get(workload)
        if facts is None:
            pods = tuple((self._live.get(workload) or {}).values())
            facts = TwinFacts(pods=pods, ready=sum(map(_READY, pods)), started=tuple(map(_STARTED, pods)))
            self._twin_facts[workload] = facts
        return facts

    def deleting(self, workload: Workload) -> Sequence[objects.PodRecord]:
        """The workload's unfinished pods with a deletionTimestamp."""
        members = self._deleting.get(workload)
        return tuple(members.values()) if members else ()

    def failed(self, workload: Workload) -> Sequence[objects.PodRecord]:
        """The workload's pods in phase Failed (not deleting)."""
        members = self._failed.get(workload)
        return tuple(members.values()) if members else ()

    def unbound(self) -> Sequence[objects.PodRecord]:
        """Live pods with no node name."""
        return tuple(self._unbound.values())

    def anti(self) -> Sequence[objects.PodRecord]:
        """Unfinished pods carrying required pod anti-affinity."""
        return tuple(self._anti.values())

    # -- upkeep --------------------------------------------------------------------------------

    def _add(self, key: int, pod: objects.PodRecord) -> None:
        self._records[key] = pod
        slot = self._free.pop() if self._free else self._grow()
        self._slot[key] = slot
        for name in pod.requests:
            if name not in self._columns:
                self._add_column(name)
        row = self._requests[slot]
        row[:] = 0.0
        for name, value in pod.requests.items():
            row[self._columns[name]] = value
        finished = pod.phase in _FINISHED
        self._node_code[slot] = -1 if finished or not pod.node_name else self._code(pod.node_name)
        workload = pod.workload
        if finished:
            if pod.phase == "Failed" and not pod.deleting:
                self._failed.setdefault(workload, {})[key] = pod
            return
        if pod.anti_terms:
            self._anti[key] = pod
        if pod.deleting:
            self._deleting.setdefault(workload, {})[key] = pod
            return
        self._live.setdefault(workload, {})[key] = pod
        self._base_facts.pop(workload, None)
        self._twin_facts.pop(workload, None)
        if not pod.node_name:
            self._unbound[key] = pod

    def _remove(self, key: int) -> None:
        pod = self._records.pop(key)
        slot = self._slot.pop(key)
        self._node_code[slot] = -1
        self._free.append(slot)
        workload = pod.workload
        for group in (self._live, self._deleting, self._failed):
            members = group.get(workload)
            if members is not None and members.pop(key, None) is not None:
                if not members:
                    del group[workload]
                if group is self._live:
                    self._base_facts.pop(workload, None)
                    self._twin_facts.pop(workload, None)
        self._unbound.pop(key, None)
        self._anti.pop(key, None)

    def _grow(self) -> int:
        size = len(self._node_code)
        grown = max(1024, 2 * size)
        self._requests = np.vstack([self._requests, np.zeros((grown - size, self._requests.shape[1]))])
        self._node_code = np.concatenate([self._node_code, np.full(grown - size, -1, dtype=np.int64)])
        self._free.extend(range(grown - 1, size, -1))
        return size

    def _add_column(self, name: str) -> None:
        self._columns[name] = self._requests.shape[1]
        column = np.zeros((self._requests.shape[0], 1))
        for key, pod in self._records.items():  # once per new resource name, for the pods already known
            column[self._slot[key], 0] = pod.requests.get(name, 0.0)
        self._requests = np.hstack([self._requests, column])

    def _code(self, node_name: str) -> int:
        code = self._codes.get(node_name)
        if code is None:
            code = self._codes[node_name] = len(self._code_names)
            self._code_names.append(node_name)
        return code


def revision(pod: objects.PodRecord) -> str:
    """The pod's revision of its workload: ``pod-template-hash`` or ``controller-revision-hash`` ("" if none)."""
    return pod.labels.get("pod-template-hash") or pod.labels.get("controller-revision-hash") or ""


def current_revision(base: Sequence[objects.PodRecord]) -> str:
    """The revision of the newest of ``base`` (by start time, then name): the workload's current one."""
    return revision(max(base, key=lambda pod: (pod.started or 0.0, pod.name)))


def admitted_requests(base: Sequence[objects.PodRecord]) -> dict[str, float] | None:
    """What admission gave the pods of the base's current revision (the newest pod's), largest per resource.

    Injected sidecars, LimitRange defaults and RuntimeClass overhead show here, not in the template.
    None when there are no base pods.
    """
    if not base:
        return None
    requests = list(map(_REQUESTS, base))
    first = requests[0]
    if requests.count(first) == len(requests):  # the usual case: every pod got the same (C-speed compare)
        return dict(first)

    latest = current_revision(base)
    current = [pod.requests for pod in base if revision(pod) == latest]
    head = current[0]
    if all(request == head for request in current):
        return dict(head)
    names = {name for request in current for name in request}
    return {name: max(request.get(name, 0.0) for request in current) for name in sorted(names)}
