"""The scheduler model's cluster state as per-node numpy arrays, plus the indexes the plugins share.

Why arrays: the model must place thousands of pods per second on thousands of nodes, so every
plugin answers for all nodes at once. What is kept, and why:
- ``alloc``/``used`` (nodes x resource columns) and ``pod_count``: NodeResourcesFit and the
  resource scores; ``nz_used`` (cpu, memory with the non-zero defaults) for LeastAllocated;
- *label groups*: bound pods grouped by (namespace, labels), counted per node, all and not
  terminating. Any label selector is matched once per group, never once per pod, and a count per
  node is a sum of a few rows. A group gets a dense row (``group_all``/``group_live``, rows x nodes)
  once it holds ``DENSE_AT`` pods; smaller ones stay {node: count} dicts, so pods with unique labels
  (a StatefulSet's pod-name label) cost a dict entry, not a row of every node;
- *term groups*: the affinity terms bound pods carry (required anti-affinity for the symmetry
  check, required affinity and preferred terms for scoring), grouped by (kind, owner namespace,
  term) and counted per node the same way;
- *domains*: for each topology key, the domain index of every node (-1 without the label), so a
  per-node count becomes a per-domain count with one ``bincount``;
- per-pod-shape caches of node-static answers (taints, node affinity), dropped when nodes change.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from burstscaler.scheduler import labels as labels_mod
from burstscaler.scheduler import objects, requests

#: Fixed resource columns; extended resources and hugepages get columns as they appear.
BASE_RESOURCES = ("cpu", "memory", "ephemeral-storage")

LabelShape = tuple[str, tuple[tuple[str, str], ...]]

#: Pods a label group holds before its counts move from a dict to a dense row over all nodes.
DENSE_AT = 32


@dataclasses.dataclass(frozen=True)
class NamespaceFilter:
    """Which namespaces an affinity term covers: a list, a selector on namespace labels, or the owner's own."""

    names: frozenset[str]
    selector: str | None  # canonical JSON of the namespaceSelector, None when absent

    @classmethod
    def of_term(cls, term: Mapping[str, Any], *, owner_namespace: str) -> NamespaceFilter:
        """The namespaces a pod affinity term applies to (kube's ``GetNamespacesFromPodAffinityTerm``)."""
        names = frozenset(term.get("namespaces") or ())
        selector = term.get("namespaceSelector")
        if not names and selector is None:
            return cls(names=frozenset({owner_namespace}), selector=None)
        return cls(names=names, selector=None if selector is None else json.dumps(selector, sort_keys=True))


@dataclasses.dataclass
class PodRecord:
    """A bound pod and what it added to the arrays (so removing it subtracts exactly that)."""

    pod: objects.Pod
    node: int
    terminating: bool
    request: dict[str, int]
    non_zero: tuple[int, int]
    group: int
    terms: list[int]
    ports: tuple[tuple[str, str, int], ...]


@dataclasses.dataclass(frozen=True)
class TermGroup:
    """Affinity terms carried by bound pods, all alike: kind, owner namespace, the raw term, its weight."""

    kind: str  # "anti" | "aff" (required), "pref_aff" | "pref_anti" (preferred)
    owner_namespace: str
    term: Mapping[str, Any]
    weight: int
    namespaces: NamespaceFilter


class State:
    """Nodes and bound pods of one cluster as arrays; mutated only through its methods."""

    def __init__(
        self, *, namespaces: Mapping[str, Mapping[str, str]] | None = None, pod_level_resources: bool = True
    ) -> None:
        self.namespace_labels: dict[str, dict[str, str]] = {k: dict(v) for k, v in (namespaces or {}).items()}
        self.pod_level_resources = pod_level_resources
        self.nodes: list[objects.Node] = []
        self.index: dict[str, int] = {}
        self.columns: dict[str, int] = {name: i for i, name in enumerate(BASE_RESOURCES)}
        self._cap = 0
        self.alloc = np.zeros((0, len(BASE_RESOURCES)), dtype=np.int64)
        self.alloc_pods = np.zeros(0, dtype=np.int64)
        self.used = np.zeros((0, len(BASE_RESOURCES)), dtype=np.int64)
        self.nz_used = np.zeros((0, 2), dtype=np.int64)
        self.pod_count = np.zeros(0, dtype=np.int64)
        # Bumped whenever a node's pods or allocatable change: caches refresh only the nodes that moved.
        self.epoch = np.zeros(0, dtype=np.int64)
        self._clock = 0
        self.pods: dict[str, PodRecord] = {}
        self.node_pods: list[dict[str, PodRecord]] = []
        self.node_ports: list[dict[tuple[str, str, int], int]] = []
        self.groups: dict[LabelShape, int] = {}
        self.group_shapes: list[LabelShape] = []
        self.group_all = np.zeros((0, 0), dtype=np.int32)
        self.group_live = np.zeros((0, 0), dtype=np.int32)
        self.group_row: list[int] = []  # dense row of each group, -1 while it is sparse
        self.group_size: list[int] = []
        self.sparse_all: list[dict[int, int]] = []
        self.sparse_live: list[dict[int, int]] = []
        self._dense_rows = 0
        self.term_groups: list[TermGroup] = []
        self.term_index: dict[tuple[str, str, str, int], int] = {}
        self.term_counts = np.zeros((0, 0), dtype=np.int32)
        self.term_totals: list[int] = []  # per term group, bound pods carrying it (a cheap "any?")
        # Per priority: requests and count of the live (not terminating) pods per node, so preemption
        # sees at once where evicting every lower-priority pod would make room.
        self.priority_used: dict[int, np.ndarray] = {}
        self.priority_count: dict[int, np.ndarray] = {}
        self.node_version = 0
        self._domains: dict[str, tuple[np.ndarray, int]] = {}
        self._keyed: dict[str, bool] = {}
        self._special: tuple[int, list[int], list[int]] | None = None
        self._selector_cache: dict[tuple[str, NamespaceFilter | None], tuple[int, list[int]]] = {}
        self._shape_cache: dict[tuple[str, str], Any] = {}
        self._shape_version = -1

    # ------------------------------------------------------------------ nodes

    @property
    def n(self) -> int:
        """How many nodes there are."""
        return len(self.nodes)

    def _column(self, name: str) -> int:
        column = self.columns.get(name)
        if column is None:
            column = self.columns[name] = len(self.columns)
            pad = ((0, 0), (0, 1))
            self.alloc = np.pad(self.alloc, pad)
            self.used = np.pad(self.used, pad)
            for priority, used in self.priority_used.items():
                self.priority_used[priority] = np.pad(used, pad)
        return column

    def _grow_nodes(self) -> None:
        if self.n < self._cap:
            return
        new_cap = max(16, self._cap * 2)
        extra = new_cap - self._cap
        self.alloc = np.pad(self.alloc, ((0, extra), (0, 0)))
        self.used = np.pad(self.used, ((0, extra), (0, 0)))
        self.nz_used = np.pad(self.nz_used, ((0, extra), (0, 0)))
        self.alloc_pods = np.pad(self.alloc_pods, (0, extra))
        self.pod_count = np.pad(self.pod_count, (0, extra))
        self.epoch = np.pad(self.epoch, (0, extra))
        for priority in self.priority_used:
            self.priority_used[priority] = np.pad(self.priority_used[priority], ((0, extra), (0, 0)))
            self.priority_count[priority] = np.pad(self.priority_count[priority], (0, extra))
        self.group_all = np.pad(self.group_all, ((0, 0), (0, extra)))
        self.group_live = np.pad(self.group_live, ((0, 0), (0, extra)))
        self.term_counts = np.pad(self.term_counts, ((0, 0), (0, extra)))
        self._cap = new_cap

    def _set_alloc(self, index: int, node: objects.Node) -> None:
        self.alloc[index, :] = 0
        for name, amount in node.allocatable.items():
            if name == "pods":
                continue
            column = self._column(name)  # may widen the arrays: index them afterwards
            self.alloc[index, column] = amount
        self.alloc_pods[index] = node.allocatable.get("pods", 0)
        self._touch(index)

    def _touch(self, index: int) -> None:
        self._clock += 1
        self.epoch[index] = self._clock

    def _nodes_changed(self) -> None:
        self.node_version += 1
        self._domains.clear()
        self._keyed.clear()

    def add_node(self, node: objects.Node) -> None:
        """Add a node with no pods; a node of that name must not exist yet."""
        if node.name in self.index:
            raise ValueError(f"node {node.name!r} already exists")
        self._grow_nodes()
        index = self.n
        self.nodes.append(node)
        self.index[node.name] = index
        self.node_pods.append({})
        self.node_ports.append({})
        self._set_alloc(index, node)
        self._nodes_changed()

    def update_node(self, node: objects.Node) -> None:
        """Replace a node's labels, taints, cordon flag and allocatable; its pods stay."""
        index = self.index[node.name]
        self.nodes[index] = node
        self._set_alloc(index, node)
        self._nodes_changed()

    def remove_node(self, name: str) -> None:
        """Remove a node and forget its pods; later nodes move up one index."""
        index = self.index[name]
        for key in list(self.node_pods[index]):
            self.remove_pod(key)
        last = self.n - 1
        for array in (self.alloc, self.used, self.nz_used, *self.priority_used.values()):
            array[index:last] = array[index + 1 : last + 1]
            array[last] = 0
        for array in self.priority_count.values():
            array[index:last] = array[index + 1 : last + 1]
            array[last] = 0
        for array_name in ("alloc_pods", "pod_count", "epoch"):
            array = getattr(self, array_name)
            array[index:last] = array[index + 1 : last + 1]
            array[last] = 0
        for array_name in ("group_all", "group_live", "term_counts"):
            array = getattr(self, array_name)
            array[:, index:last] = array[:, index + 1 : last + 1]
            array[:, last] = 0
        for sparse in (self.sparse_all, self.sparse_live):
            for group, counts in enumerate(sparse):
                if counts:
                    sparse[group] = {k - (k > index): v for k, v in counts.items() if k != index}
        del self.nodes[index]
        del self.node_pods[index]
        del self.node_ports[index]
        self.index = {node.name: i for i, node in enumerate(self.nodes)}
        for record in self.pods.values():
            if record.node > index:
                record.node -= 1
        self._nodes_changed()

    # ------------------------------------------------------------------ pods

    def _group(self, shape: LabelShape) -> int:
        group = self.groups.get(shape)
        if group is None:
            group = self.groups[shape] = len(self.group_shapes)
            self.group_shapes.append(shape)
            self.group_row.append(-1)
            self.group_size.append(0)
            self.sparse_all.append({})
            self.sparse_live.append({})
        return group

    def _densify(self, group: int) -> None:
        row = self._dense_rows
        width = self.group_all.shape[1]
        if row >= self.group_all.shape[0]:
            extra = max(8, self.group_all.shape[0])
            self.group_all = np.concatenate([self.group_all, np.zeros((extra, width), dtype=np.int32)])
            self.group_live = np.concatenate([self.group_live, np.zeros((extra, width), dtype=np.int32)])
        self._dense_rows += 1
        self.group_row[group] = row
        for node, count in self.sparse_all[group].items():
            self.group_all[row, node] = count
        for node, count in self.sparse_live[group].items():
            self.group_live[row, node] = count
        self.sparse_all[group] = {}
        self.sparse_live[group] = {}

    def _count_group(self, group: int, node: int, *, sign: int, everything: bool, live: bool) -> None:
        """Add ``sign`` to the group's count on ``node``: to all pods and/or to the live ones."""
        if everything:
            self.group_size[group] += sign
            if self.group_row[group] < 0 and self.group_size[group] >= DENSE_AT:
                self._densify(group)
        row = self.group_row[group]
        if row >= 0:
            if everything:
                self.group_all[row, node] += sign
            if live:
                self.group_live[row, node] += sign
            return
        for wanted, sparse in ((everything, self.sparse_all[group]), (live, self.sparse_live[group])):
            if wanted:
                count = sparse.get(node, 0) + sign
                if count:
                    sparse[node] = count
                else:
                    del sparse[node]

    def _term_group(self, *, kind: str, owner_namespace: str, term: Mapping[str, Any], weight: int) -> int:
        key = (kind, owner_namespace, json.dumps(term, sort_keys=True), weight)
        group = self.term_index.get(key)
        if group is None:
            group = self.term_index[key] = len(self.term_groups)
            self.term_totals.append(0)
            self.term_groups.append(
                TermGroup(
                    kind=kind,
                    owner_namespace=owner_namespace,
                    term=term,
                    weight=weight,
                    namespaces=NamespaceFilter.of_term(term, owner_namespace=owner_namespace),
                )
            )
            if group >= self.term_counts.shape[0]:
                extra = max(8, self.term_counts.shape[0])
                width = self.term_counts.shape[1]
                self.term_counts = np.concatenate([self.term_counts, np.zeros((extra, width), dtype=np.int32)])
        return group

    def _pod_terms(self, pod: objects.Pod) -> list[int]:
        affinity = pod.affinity or {}
        found: list[int] = []
        for kind, section, field in (
            ("aff", "podAffinity", "requiredDuringSchedulingIgnoredDuringExecution"),
            ("anti", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution"),
            ("pref_aff", "podAffinity", "preferredDuringSchedulingIgnoredDuringExecution"),
            ("pref_anti", "podAntiAffinity", "preferredDuringSchedulingIgnoredDuringExecution"),
        ):
            for entry in (affinity.get(section) or {}).get(field) or ():
                if kind.startswith("pref"):
                    term, weight = entry.get("podAffinityTerm") or {}, int(entry.get("weight", 0))
                else:
                    term, weight = entry, 0
                found.append(self._term_group(kind=kind, owner_namespace=pod.namespace, term=term, weight=weight))
        return found

    def add_pod(self, pod: objects.Pod, *, node: str, terminating: bool = False) -> None:
        """Record ``pod`` as bound to ``node``; a pod of the same key is replaced."""
        if pod.key in self.pods:
            self.remove_pod(pod.key)
        index = self.index[node]
        request = requests.pod_request(pod, pod_level_resources=self.pod_level_resources)
        record = PodRecord(
            pod=pod,
            node=index,
            terminating=terminating,
            request=request,
            non_zero=requests.non_zero_request(pod, pod_level_resources=self.pod_level_resources),
            group=self._group(pod.label_shape),
            terms=self._pod_terms(pod),
            ports=requests.host_ports(pod),
        )
        self._apply(record, sign=1)
        self.pods[pod.key] = record
        self.node_pods[index][pod.key] = record

    def remove_pod(self, key: str) -> PodRecord | None:
        """Forget a bound pod; returns its record (None when unknown)."""
        record = self.pods.pop(key, None)
        if record is None:
            return None
        self._apply(record, sign=-1)
        del self.node_pods[record.node][key]
        return record

    def mark_terminating(self, key: str) -> None:
        """The pod keeps its room but stops counting where kube skips terminating pods."""
        record = self.pods[key]
        if not record.terminating:
            record.terminating = True
            self._count_group(record.group, record.node, sign=-1, everything=False, live=True)
            self._count_priority(record, sign=-1)
            self._touch(record.node)

    def _apply(self, record: PodRecord, *, sign: int) -> None:
        index = record.node
        self._touch(index)
        for name, amount in record.request.items():
            if name == "pods":
                continue
            column = self._column(name)
            self.used[index, column] += sign * amount
        self.nz_used[index, 0] += sign * record.non_zero[0]
        self.nz_used[index, 1] += sign * record.non_zero[1]
        self.pod_count[index] += sign
        self._count_group(record.group, index, sign=sign, everything=True, live=not record.terminating)
        if not record.terminating:
            self._count_priority(record, sign=sign)
        for term in record.terms:
            self.term_counts[term, index] += sign
            self.term_totals[term] += sign
        ports = self.node_ports[index]
        for port in record.ports:
            ports[port] = ports.get(port, 0) + sign
            if ports[port] <= 0:
                del ports[port]

    def _count_priority(self, record: PodRecord, *, sign: int) -> None:
        priority = record.pod.priority
        if priority not in self.priority_used:
            self.priority_used[priority] = np.zeros_like(self.used)
            self.priority_count[priority] = np.zeros_like(self.pod_count)
        used = self.priority_used[priority]
        for name, amount in record.request.items():
            if name != "pods":
                used[record.node, self.columns[name]] += sign * amount
        self.priority_count[priority][record.node] += sign

    def lower_priority(self, priority: int) -> tuple[np.ndarray, np.ndarray]:
        """Per node, the requests (nodes x columns) and count of live pods with priority below ``priority``."""
        used = np.zeros((self.n, len(self.columns)), dtype=np.int64)
        count = np.zeros(self.n, dtype=np.int64)
        for level, level_used in self.priority_used.items():
            if level < priority:
                used += level_used[: self.n]
                count += self.priority_count[level][: self.n]
        return used, count

    # ------------------------------------------------------------------ shared indexes

    def has_terms(self, *kinds: str) -> bool:
        """Whether some bound pod carries an affinity term of one of ``kinds``."""
        return any(g.kind in kinds and self.term_totals[i] > 0 for i, g in enumerate(self.term_groups))

    def namespace_matches(self, namespaces: NamespaceFilter, namespace: str) -> bool:
        """Whether a term's namespace filter covers ``namespace``."""
        if namespace in namespaces.names:
            return True
        if namespaces.selector is None:
            return False
        selector = json.loads(namespaces.selector)
        return labels_mod.label_selector_matches(selector, self.namespace_labels.get(namespace, {}))

    def matching_groups(
        self, selector: Mapping[str, Any] | None, *, namespaces: NamespaceFilter | None, key: str | None = None
    ) -> list[int]:
        """Label groups whose pods a (valid) selector picks, in the given namespaces (None: any namespace).

        Cached per selector and extended as new groups appear, so a template's selector is matched
        against each (namespace, labels) combination once.
        """
        cache_key = (json.dumps(selector, sort_keys=True) if key is None else key, namespaces)
        checked, found = self._selector_cache.get(cache_key, (0, []))
        if checked < len(self.group_shapes):
            found = list(found)
            for group in range(checked, len(self.group_shapes)):
                namespace, pairs = self.group_shapes[group]
                if namespaces is not None and not self.namespace_matches(namespaces, namespace):
                    continue
                if labels_mod.label_selector_matches(selector, dict(pairs)):
                    found.append(group)
            self._selector_cache[cache_key] = (len(self.group_shapes), found)
        return found

    def count_matching(self, groups: list[int], *, live: bool) -> np.ndarray:
        """Per node, how many bound pods fall in ``groups`` (``live``: terminating pods left out)."""
        source = self.group_live if live else self.group_all
        sparse = self.sparse_live if live else self.sparse_all
        rows = [self.group_row[g] for g in groups if self.group_row[g] >= 0]
        if len(rows) == 1:
            result = source[rows[0], : self.n].astype(np.int64)
        elif rows:
            result = source[rows, : self.n].sum(axis=0, dtype=np.int64)
        else:
            result = np.zeros(self.n, dtype=np.int64)
        for group in groups:
            if self.group_row[group] < 0:
                for node, count in sparse[group].items():
                    result[node] += count
        return result

    def domains(self, key: str) -> tuple[np.ndarray, int]:
        """Per node, the index of its domain for topology ``key`` (-1 without the label), and the domain count."""
        cached = self._domains.get(key)
        if cached is None:
            values: dict[str, int] = {}
            ids = np.full(self.n, -1, dtype=np.int64)
            for i, node in enumerate(self.nodes):
                value = node.labels.get(key)
                if value is not None:
                    ids[i] = values.setdefault(value, len(values))
            cached = self._domains[key] = (ids, len(values))
        return cached

    def special_nodes(self) -> tuple[list[int], list[int]]:
        """Indexes of the nodes with taints, and of the cordoned ones (most nodes are neither)."""
        if self._special is None or self._special[0] != self.node_version:
            tainted = [i for i, node in enumerate(self.nodes) if node.taints]
            cordoned = [i for i, node in enumerate(self.nodes) if node.unschedulable]
            self._special = (self.node_version, tainted, cordoned)
        return self._special[1], self._special[2]

    def keyed_everywhere(self, key: str) -> bool:
        """Whether every node carries the topology ``key``."""
        cached = self._keyed.get(key)
        if cached is None:
            cached = self._keyed[key] = bool((self.domains(key)[0] >= 0).all())
        return cached

    def per_domain(self, key: str, counts: np.ndarray, *, counted: np.ndarray | None = None) -> np.ndarray:
        """Per node, the sum of ``counts`` over the nodes of its domain (0 for a node without ``key``).

        ``counted`` restricts which nodes contribute (their domain still exists for the others).
        """
        ids, size = self.domains(key)
        if size == 0:
            return np.zeros(self.n, dtype=np.int64)
        if counted is None and size == self.n:
            # One domain per node (the hostname): the sum over a node's domain is its own count.
            return counts.astype(np.int64, copy=False)
        contributes = ids >= 0 if counted is None else (ids >= 0) & counted
        totals = np.bincount(ids[contributes], weights=counts[contributes], minlength=size)
        return np.where(ids >= 0, totals[np.maximum(ids, 0)], 0).astype(np.int64)

    def shape_cached(self, pod: objects.Pod, what: str, compute: Callable[[], Any]) -> Any:
        """A node-static answer for the pod's placement shape, recomputed when nodes changed."""
        if self._shape_version != self.node_version:
            self._shape_cache.clear()
            self._shape_version = self.node_version
        key = (what, pod.placement_shape)
        if key not in self._shape_cache:
            self._shape_cache[key] = compute()
        return self._shape_cache[key]
