"""The pods of each workload, in the order the indices hand them, kept between ticks.

Why: the tick reads each policy's base and twin pods (readiness, the pending-pod signal, spot). Sorting
50,000 pods into their workloads every tick, then filtering and converting each group again, costs more
than the rest of the recommendation. The indices hand the same record objects for pods that did not change
and keep their order, so when a tick's pods are the last tick's with a few records replaced in place, only
the workloads of those records change. Anything else (pods added or removed, a reordering) regroups
everything, and a group whose records are the very same as before keeps its version. Each group carries a
version that changes with its members, for caches of what is derived from a group (``version``).
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Sequence

import numpy as np

from burstscaler.cluster import objects

Workload = tuple[str, str, str]


class PodGroups:
    """Pod records by workload, in input order, updated by ``sync``."""

    def __init__(self) -> None:
        self._order: list[objects.PodRecord] = []
        self._members: dict[Workload, dict[int, objects.PodRecord]] = {}  # position -> record
        self._groups: dict[Workload, tuple[objects.PodRecord, ...]] = {}  # in position order (cached)
        self._versions: dict[Workload, int] = {}
        self._counter = itertools.count(1)

    def sync(self, pods: Sequence[objects.PodRecord]) -> None:
        """Make the groups those of `pods`."""
        order = self._order
        if len(pods) == len(order) and order:
            changed = np.flatnonzero(~np.fromiter(map(operator.is_, pods, order), bool, len(pods))).tolist()
            if len(changed) * 8 < len(pods):
                for position in changed:
                    self._move(position, order[position], pods[position])
                self._order = list(pods)
                return
        # Anything else (pods added or removed, a reordering): regroup all, then keep the version of each
        # group whose records are the same as before, in the same order (the usual case for most).
        self._order = list(pods)
        members: dict[Workload, dict[int, objects.PodRecord]] = {}
        for position, pod in enumerate(self._order):
            members.setdefault(pod.workload, {})[position] = pod
        before, versions = self._groups, self._versions
        self._members, self._groups, self._versions = members, {}, {}
        version = next(self._counter)  # one new version for every group that changed
        for workload, group in members.items():
            records = tuple(group.values())  # positions were inserted in ascending order
            self._groups[workload] = records
            previous = before.get(workload)
            same = previous is not None and len(previous) == len(records) and all(map(operator.is_, previous, records))
            self._versions[workload] = versions[workload] if same else version

    def get(self, workload: Workload) -> Sequence[objects.PodRecord]:
        """The workload's pods (every phase), in the order of the last ``sync``'s sequence."""
        group = self._groups.get(workload)
        if group is None:
            members = self._members.get(workload)
            if not members:
                return ()
            group = self._groups[workload] = tuple(map(members.__getitem__, sorted(members)))
        return group

    def version(self, workload: Workload) -> int:
        """A number that changes whenever the workload's pods change (0: it has none)."""
        return self._versions.get(workload, 0)

    def _move(self, position: int, old: objects.PodRecord, new: objects.PodRecord) -> None:
        members = self._members[old.workload]
        del members[position]
        if not members:
            del self._members[old.workload]
        self._touch(old.workload)
        self._members.setdefault(new.workload, {})[position] = new
        self._touch(new.workload)

    def _touch(self, workload: Workload) -> None:
        self._groups.pop(workload, None)
        if workload in self._members:
            self._versions[workload] = next(self._counter)
        else:
            self._versions.pop(workload, None)
