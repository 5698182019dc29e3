"""NodeAffinity (filter and score) and NodeName, as kube-scheduler's plugins of those names.

Filter order: the plugin argument ``addedAffinity`` first ("node(s) didn't match
scheduler-enforced node affinity"), then the pod's nodeSelector (every pair present) and required
node affinity ("node(s) didn't match Pod's node affinity/selector"); both UnschedulableAndUnresolvable.
Score: the sum of the weights of matching preferred terms, normalised so the best node gets 100.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from burstscaler.scheduler import labels, objects, state, status

REASON_POD = "node(s) didn't match Pod's node affinity/selector"
REASON_ENFORCED = "node(s) didn't match scheduler-enforced node affinity"
REASON_NODE_NAME = "node(s) didn't match the requested node name"


def required_selector(pod: objects.Pod) -> Mapping[str, Any] | None:
    """The pod's required node selector (``None``: no constraint)."""
    node_affinity = (pod.affinity or {}).get("nodeAffinity") or {}
    selector: Mapping[str, Any] | None = node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
    return selector


def pod_matches_node(pod: objects.Pod, node: objects.Node) -> bool:
    """The pod's nodeSelector and required node affinity against one node."""
    if any(node.labels.get(k) != v for k, v in pod.node_selector.items()):
        return False
    return labels.node_selector_matches(required_selector(pod), node_name=node.name, labels=node.labels)


def filter_node_affinity(
    st: state.State, pod: objects.Pod, *, added_affinity: Mapping[str, Any] | None = None
) -> status.Verdict:
    """NodeAffinity's Filter for every node; ``prefilter`` is "Skip" when the pod and args set nothing."""
    added = (added_affinity or {}).get("requiredDuringSchedulingIgnoredDuringExecution")
    has_own = bool(pod.node_selector) or required_selector(pod) is not None

    def compute() -> tuple[np.ndarray, list[str]]:
        codes = np.zeros(st.n, dtype=np.int8)
        reasons = [""] * st.n
        if added is None and not has_own:
            return codes, reasons  # nothing to match: every node passes
        for i, node in enumerate(st.nodes):
            if added is not None and not labels.node_selector_matches(added, node_name=node.name, labels=node.labels):
                codes[i], reasons[i] = status.UNRESOLVABLE, REASON_ENFORCED
            elif not pod_matches_node(pod, node):
                codes[i], reasons[i] = status.UNRESOLVABLE, REASON_POD
        return codes, reasons

    codes, reasons = st.shape_cached(pod, "node-affinity" + json.dumps(added, sort_keys=True), compute)
    prefilter = None if has_own or added is not None else "Skip"
    if has_own and _fields_conflict(required_selector(pod)):
        prefilter = "UnschedulableAndUnresolvable"
    return status.Verdict(codes=codes, reason_of=lambda i: (reasons[i],) if reasons[i] else (), prefilter=prefilter)


def _fields_conflict(selector: Mapping[str, Any] | None) -> bool:
    """PreFilter's check: every term pins ``metadata.name`` to sets with an empty intersection.

    kube's PreFilter narrows the nodes to the names every term's matchFields allow; when that set is
    empty it rejects the pod outright ("pod affinity terms conflict"). The Filter then agrees.
    """
    if selector is None:
        return False
    terms = selector.get("nodeSelectorTerms") or ()
    if not terms:
        return False
    for term in terms:
        names: set[str] | None = None
        for field in term.get("matchFields") or ():
            if field.get("key") == "metadata.name" and field.get("operator") == "In":
                values = set(field.get("values") or ())
                names = values if names is None else names & values
        if names is None or names:
            return False
    return True


def affinity_mask(st: state.State, pod: objects.Pod) -> np.ndarray:
    """Per node, whether the pod's nodeSelector and required node affinity hold (nodeAffinityPolicy: Honor)."""

    def compute() -> np.ndarray:
        if not pod.node_selector and required_selector(pod) is None:
            return np.ones(st.n, dtype=bool)
        return np.array([pod_matches_node(pod, node) for node in st.nodes], dtype=bool)

    result: np.ndarray = st.shape_cached(pod, "affinity-mask", compute)
    return result


def score_node_affinity(st: state.State, pod: objects.Pod) -> np.ndarray:
    """Raw NodeAffinity score per node: the summed weights of the preferred terms the node matches."""
    node_affinity = (pod.affinity or {}).get("nodeAffinity") or {}
    preferred = node_affinity.get("preferredDuringSchedulingIgnoredDuringExecution") or ()

    def compute() -> np.ndarray:
        scores = np.zeros(st.n, dtype=np.int64)
        for entry in preferred:
            weight = int(entry.get("weight", 0))
            term = entry.get("preference") or {}
            if weight == 0:
                continue
            for i, node in enumerate(st.nodes):
                if labels.node_selector_term_matches(term, node_name=node.name, labels=node.labels):
                    scores[i] += weight
        return scores

    result: np.ndarray = st.shape_cached(pod, "node-affinity-score", compute)
    return result


def filter_node_name(st: state.State, pod: objects.Pod) -> status.Verdict:
    """NodeName's Filter: a pod with ``spec.nodeName`` fits only that node."""
    if pod.node_name is None:
        return status.passing(st.n)
    codes = np.full(st.n, status.UNRESOLVABLE, dtype=np.int8)
    index = st.index.get(pod.node_name)
    if index is not None:
        codes[index] = status.SUCCESS
    return status.uniform(codes, REASON_NODE_NAME)
