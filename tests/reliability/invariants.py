"""Invariants checked on every write the emulator saw, not on samples: its watch log replayed in order.

The emulator stamps every write with one global resourceVersion and keeps a log of them (the watch
log). Replaying it gives, after each single write, each workload's spec.replicas and how many of its
pods were Ready: an exact timeline where a sampler could miss a 50-ms dip.

    timeline = Timeline.of(apiserver, "web")
    assert timeline.max_serving() <= 30                       # base + burst, drain surge excluded
    assert timeline.min_ready(since=rv) >= 7                  # no capacity dip after `rv`
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from tests.e2e.harness import hosting

DRAIN_ANNOTATION = "burstscaler.io/drain-back"  # the operator's move record (cluster.apply), read as data
LOG_SIZE = 2_000_000  # watch-log entries kept: a scenario writes a few tens of thousands


def keep_everything(apiserver: hosting.ApiServer) -> None:
    """Make the emulator keep its whole watch log (the default bound would forget early writes)."""
    apiserver.call(lambda emulator: setattr(emulator, "watch_log_size", LOG_SIZE))


@dataclasses.dataclass(frozen=True)
class Row:
    """The state of one workload right after one write."""

    rv: int
    base: int | None  # spec.replicas of the base (None: it does not exist)
    twin: int | None  # spec.replicas of the twin
    surge: int  # base replicas of a drain-back move in flight (make-before-break, not serving yet)
    ready: int  # Ready pods of base and twin
    record: str | None  # the drain-back record on the base

    @property
    def total(self) -> int:
        """base + burst replicas asked for."""
        return (self.base or 0) + (self.twin or 0)

    @property
    def serving(self) -> int:
        """base + burst without the surge of a move in flight: what maxReplicas bounds."""
        return self.total - self.surge


@dataclasses.dataclass(frozen=True)
class Timeline:
    """Rows of one workload (selected by its ``app`` label) for every write, in order."""

    name: str
    rows: tuple[Row, ...]

    @classmethod
    def of(cls, apiserver: hosting.ApiServer, name: str) -> Timeline:
        """Replay the emulator's watch log for the workload `name` and its twin."""
        changes = apiserver.call(lambda emulator: list(emulator._log))
        return cls(name, tuple(_replay(changes, name)))

    @property
    def last_rv(self) -> int:
        """The resourceVersion of the newest write seen."""
        return self.rows[-1].rv if self.rows else 0

    def since(self, rv: int, until: int | None = None) -> list[Row]:
        """The rows after the write `rv` (up to `until`, inclusive)."""
        return [row for row in self.rows if row.rv > rv and (until is None or row.rv <= until)]

    def max_serving(self) -> int:
        """The most base + burst replicas asked for at any time, drain surge excluded."""
        return max((row.serving for row in self.rows if row.base is not None), default=0)

    def min_total(self, *, since: int = 0) -> int:
        """The fewest base + burst replicas asked for after `since` (while the base exists)."""
        return min((row.total for row in self.since(since) if row.base is not None), default=0)

    def min_ready(self, *, since: int = 0, until: int | None = None) -> int:
        """The fewest Ready pods after `since` (up to `until`)."""
        return min((row.ready for row in self.since(since, until)), default=0)

    def max_base(self, *, since: int = 0) -> int:
        """The highest base spec.replicas after `since`."""
        return max((row.base or 0 for row in self.since(since)), default=0)

    def base_values(self, *, since: int = 0) -> list[int]:
        """Successive distinct base spec.replicas from `since` on, the value in force at `since` first.

        A double-applied move shows as a second step. Starting from the value in force (not the first
        write after `since`) keeps the answer independent of whether any pod changed in between.
        """
        before = [row for row in self.rows if row.rv <= since and row.base is not None]
        values: list[int] = [before[-1].base] if before and before[-1].base is not None else []
        for row in self.since(since):
            if row.base is not None and (not values or values[-1] != row.base):
                values.append(row.base)
        return values


def _replay(changes: list[Any], name: str) -> list[Row]:
    twin = f"{name}-burst"
    spec: dict[str, int | None] = {name: None, twin: None}
    annotations: dict[str, str | None] = {name: None}
    ready: dict[str, bool] = {}
    rows: list[Row] = []
    for change in changes:
        plural, obj = change.resource.plural, change.obj
        meta = obj.get("metadata", {})
        if meta.get("namespace") not in (None, "default"):
            continue
        if plural == "deployments" and meta.get("name") in spec:
            gone = change.type == "DELETED"
            spec[meta["name"]] = None if gone else int(obj.get("spec", {}).get("replicas", 1))
            if meta["name"] == name:
                annotations[name] = None if gone else (meta.get("annotations") or {}).get(DRAIN_ANNOTATION)
        elif plural == "pods" and (meta.get("labels") or {}).get("app") == name:
            if change.type == "DELETED" or meta.get("deletionTimestamp"):
                ready.pop(meta["name"], None)
            else:
                ready[meta["name"]] = _is_ready(obj)
        else:
            continue
        rows.append(
            Row(
                rv=change.rv,
                base=spec[name],
                twin=spec[twin],
                surge=_surge(annotations[name], spec[twin]),
                ready=sum(ready.values()),
                record=annotations[name],
            )
        )
    return rows


def _surge(record: str | None, twin: int | None) -> int:
    # A move is in flight while the twin has not come down by its size yet (cluster.apply's rule).
    if not record:
        return 0
    try:
        data = json.loads(record)
        moves, burst_from = int(data["moves"]), int(data["burst_from"])
    except (ValueError, KeyError, TypeError):
        return 0
    return moves if (twin or 0) > burst_from - moves else 0


def _is_ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
