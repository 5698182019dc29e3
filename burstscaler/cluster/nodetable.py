"""The cluster's nodes as the snapshot reads them, kept between ticks while the nodes do not change.

Why: at 5,000 nodes, turning records into the allocatable matrix and the eligibility filters' views,
and filtering every policy's placement against them, costs more than the core's plan. Node records
change rarely in what planning reads (a heartbeat rebuilds a record with equal content), so this
keeps those arrays, and each distinct placement's eligibility row, until the node list differs by
content; a policy whose placement was seen before costs a dictionary lookup.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np

from burstscaler.cluster import objects
from burstscaler.core import eligibility, snapshot


class NodeTable:
    """The node list of the last ``update`` and what is derived from it (arrays, eligibility rows)."""

    def __init__(self) -> None:
        self._nodes: list[objects.NodeRecord] | None = None
        self.index: dict[str, int] = {}
        self.views: list[eligibility.NodeView] = []
        self.unschedulable = np.zeros(0, dtype=bool)
        self.virtual = np.zeros(0, dtype=bool)
        self._allocatable: dict[tuple[str, ...], snapshot.FloatArray] = {}
        self._rows: dict[Hashable, snapshot.BoolArray] = {}

    def update(self, nodes: Sequence[objects.NodeRecord]) -> None:
        """Hold `nodes`; everything derived is kept when they equal the previous list (identity first)."""
        if self._nodes is not None and self._nodes == list(nodes):
            return
        self._nodes = list(nodes)
        self.index = {node.name: row for row, node in enumerate(nodes)}
        self.views = [
            eligibility.NodeView(
                labels=node.labels, taints=node.taints, unschedulable=node.unschedulable, name=node.name
            )
            for node in nodes
        ]
        self.unschedulable = np.array([not node.ready for node in nodes], dtype=bool).reshape(len(nodes))
        self.virtual = np.array([node.virtual for node in nodes], dtype=bool).reshape(len(nodes))
        self._allocatable = {}
        self._rows = {}

    @property
    def nodes(self) -> Sequence[objects.NodeRecord]:
        """The records of the last update."""
        return self._nodes or []

    def allocatable(self, resources: tuple[str, ...]) -> snapshot.FloatArray:
        """``[N, R]`` allocatable per node over `resources` (a missing resource is 0). Do not modify."""
        found = self._allocatable.get(resources)
        if found is None:
            nodes = self.nodes
            values = [[float(node.allocatable.get(name, 0.0)) for name in resources] for node in nodes]
            # The shape is explicit: with no nodes at all (an empty index at start-up) it cannot be inferred.
            found = np.array(values, dtype=np.float64).reshape(len(nodes), len(resources))
            self._allocatable = {resources: found}  # one column set at a time: policies change it rarely
        return found

    def mask(self, placements: Sequence[eligibility.PodPlacement]) -> snapshot.BoolArray:
        """``[P, N]``: ``eligibility.mask`` of `placements`, each distinct placement filtered once per node list."""
        keys = [_key(placement) for placement in placements]
        missing: dict[Hashable, eligibility.PodPlacement] = {}
        for key, placement in zip(keys, placements, strict=True):
            if key not in self._rows and key not in missing:
                missing[key] = placement
        if missing:
            if len(self._rows) > 4 * max(len(keys), 256):
                self._rows = {}  # bounded: placements that churn while the nodes stay are forgotten
                missing = {key: placement for key, placement in zip(keys, placements, strict=True)}
            computed = eligibility.mask(nodes=self.views, policies=list(missing.values()))
            self._rows.update(zip(missing, computed.reshape(len(missing), len(self.views)), strict=True))
        if not keys:
            return np.zeros((0, len(self.views)), dtype=bool)
        return np.stack([self._rows[key] for key in keys]).reshape(len(keys), len(self.views))


def _key(placement: eligibility.PodPlacement) -> Hashable:
    # Equal placements filter equally; the selector is the only unhashable field.
    selector: Mapping[str, str] = placement.node_selector
    return (tuple(sorted(selector.items())), placement.affinity_terms, placement.tolerations)
