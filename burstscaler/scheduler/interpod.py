"""InterPodAffinity (filter and score), as ``pkg/scheduler/framework/plugins/interpodaffinity``.

Filter, in kube's order (the first failing check names the reason):
1. affinity (UnschedulableAndUnresolvable, "node(s) didn't match pod affinity rules"): the node
   must carry every required term's topologyKey, and for every term an existing pod matching *all*
   the terms must run in the node's domain for that key; the first pod of a group passes anyway when
   no such pod exists anywhere and the pod matches all its own terms;
2. anti-affinity (Unschedulable, "node(s) didn't match pod anti-affinity rules"): no existing pod
   matching a term in the node's domain;
3. symmetry (Unschedulable, "node(s) didn't satisfy existing pods anti-affinity rules"): no existing
   pod whose required anti-affinity term matches the incoming pod shares a domain with the node.
Only pods on nodes carrying the key count. An invalid label value in the pod's required terms fails
PreFilter (every node UnschedulableAndUnresolvable); PreFilter returns Skip when the pod has no
required terms and no existing anti-affinity term matches it. Terminating pods still count: kube's
NodeInfo keeps them until they are gone.

Score: preferred terms of the incoming pod (+/- weight per matching existing pod in the domain), and
the existing pods' terms that match the incoming pod (required affinity at hardPodAffinityWeight 1,
preferred affinity +weight, preferred anti-affinity -weight); normalised min..max to 0..100 over the
feasible nodes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from burstscaler.scheduler import labels, objects, state, status

REASON_AFFINITY = "node(s) didn't match pod affinity rules"
REASON_ANTI = "node(s) didn't match pod anti-affinity rules"
REASON_SYMMETRY = "node(s) didn't satisfy existing pods anti-affinity rules"
HARD_POD_AFFINITY_WEIGHT = 1


def _terms(pod: objects.Pod, section: str, field: str) -> list[Mapping[str, Any]]:
    return list(((pod.affinity or {}).get(section) or {}).get(field) or ())


def required_affinity(pod: objects.Pod) -> list[Mapping[str, Any]]:
    """The pod's required pod-affinity terms."""
    return _terms(pod, "podAffinity", "requiredDuringSchedulingIgnoredDuringExecution")


def required_anti_affinity(pod: objects.Pod) -> list[Mapping[str, Any]]:
    """The pod's required pod-anti-affinity terms."""
    return _terms(pod, "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution")


def has_preferred(pod: objects.Pod) -> bool:
    """Whether the pod has preferred pod affinity or anti-affinity terms (its own InterPodAffinity score)."""
    field = "preferredDuringSchedulingIgnoredDuringExecution"
    return bool(_terms(pod, "podAffinity", field) or _terms(pod, "podAntiAffinity", field))


def term_matches_pod(st: state.State, term: state.TermGroup | Mapping[str, Any], pod: objects.Pod, owner: str) -> bool:
    """Whether an affinity term (owned by a pod in namespace ``owner``) selects ``pod``."""
    raw = term.term if isinstance(term, state.TermGroup) else term
    namespaces = state.NamespaceFilter.of_term(raw, owner_namespace=owner)
    if not st.namespace_matches(namespaces, pod.namespace):
        return False
    return labels.label_selector_matches(raw.get("labelSelector"), pod.labels)


def _term_counts(st: state.State, term: Mapping[str, Any], *, owner: str) -> np.ndarray:
    namespaces = state.NamespaceFilter.of_term(term, owner_namespace=owner)
    groups = st.matching_groups(term.get("labelSelector"), namespaces=namespaces)
    return st.count_matching(groups, live=False)


def _matching_symmetry(st: state.State, pod: objects.Pod, kinds: Sequence[str]) -> list[int]:
    """Indexes of the bound pods' term groups of ``kinds`` that select the incoming pod."""
    found = []
    for index, group in enumerate(st.term_groups):
        if group.kind in kinds and term_matches_pod(st, group, pod, group.owner_namespace):
            found.append(index)
    return found


def filter_inter_pod_affinity(st: state.State, pod: objects.Pod) -> status.Verdict:
    """InterPodAffinity's PreFilter and Filter for every node."""
    n = st.n
    affinity = required_affinity(pod)
    anti = required_anti_affinity(pod)
    try:
        for term in (*affinity, *anti):
            labels.validate_label_selector(term.get("labelSelector"))
    except labels.InvalidSelector as error:
        codes = np.full(n, status.UNRESOLVABLE, dtype=np.int8)
        message = f"PreFilter error: {error} in a required affinity term"
        return status.Verdict(codes=codes, reason_of=lambda _i: (message,), prefilter="UnschedulableAndUnresolvable")
    # Like kube's existingAntiAffinityCounts: a bound pod's term counts only where its node has the key.
    symmetry = [
        g
        for g in _matching_symmetry(st, pod, ("anti",))
        if st.term_counts[g, :n][st.domains(st.term_groups[g].term.get("topologyKey", ""))[0] >= 0].any()
    ]
    if not affinity and not anti and not symmetry:
        return status.passing(n, prefilter="Skip")
    codes = np.zeros(n, dtype=np.int8)
    reasons = np.zeros(n, dtype=np.int8)  # 1 affinity, 2 anti, 3 symmetry

    def fail(mask: np.ndarray, *, code: int, reason: int) -> None:
        fresh = mask & (codes == status.SUCCESS)
        codes[fresh] = code
        reasons[fresh] = reason

    if affinity:
        fail(_affinity_fails(st, pod, affinity), code=status.UNRESOLVABLE, reason=1)
    for term in anti:
        key = term.get("topologyKey", "")
        ids, _size = st.domains(key)
        fail((ids >= 0) & (st.per_domain(key, _term_counts(st, term, owner=pod.namespace)) > 0), code=1, reason=2)
    for group in symmetry:
        key = st.term_groups[group].term.get("topologyKey", "")
        ids, _size = st.domains(key)
        counts = st.term_counts[group, :n].astype(np.int64)
        fail((ids >= 0) & (st.per_domain(key, counts) > 0), code=status.UNSCHEDULABLE, reason=3)
    texts = {1: REASON_AFFINITY, 2: REASON_ANTI, 3: REASON_SYMMETRY}
    return status.coded(codes, reasons, texts)


def _affinity_fails(st: state.State, pod: objects.Pod, terms: list[Mapping[str, Any]]) -> np.ndarray:
    """Per node, whether the required affinity terms reject it (with the first-pod exception)."""
    n = st.n
    has_keys = np.ones(n, dtype=bool)
    for term in terms:
        has_keys &= st.domains(term.get("topologyKey", ""))[0] >= 0
    # Pods matching *all* terms: intersect the label groups each term selects.
    common: set[int] | None = None
    for term in terms:
        namespaces = state.NamespaceFilter.of_term(term, owner_namespace=pod.namespace)
        groups = set(st.matching_groups(term.get("labelSelector"), namespaces=namespaces))
        common = groups if common is None else common & groups
    counts = st.count_matching(sorted(common or ()), live=False)
    satisfied = has_keys.copy()
    anywhere = False
    for term in terms:
        key = term.get("topologyKey", "")
        ids, _size = st.domains(key)
        anywhere = anywhere or bool(counts[ids >= 0].sum() > 0)
        satisfied &= st.per_domain(key, counts) > 0
    if not anywhere and all(term_matches_pod(st, term, pod, pod.namespace) for term in terms):
        return np.asarray(~has_keys)
    return np.asarray(~satisfied)


def score_inter_pod_affinity(st: state.State, pod: objects.Pod) -> np.ndarray:
    """Raw InterPodAffinity score per node (before normalisation)."""
    n = st.n
    scores = np.zeros(n, dtype=np.int64)
    for sign, section in ((1, "podAffinity"), (-1, "podAntiAffinity")):
        for entry in _terms(pod, section, "preferredDuringSchedulingIgnoredDuringExecution"):
            term = entry.get("podAffinityTerm") or {}
            weight = int(entry.get("weight", 0))
            try:
                labels.validate_label_selector(term.get("labelSelector"))
            except labels.InvalidSelector:
                continue
            key = term.get("topologyKey", "")
            scores += sign * weight * st.per_domain(key, _term_counts(st, term, owner=pod.namespace))
    for group in _matching_symmetry(st, pod, ("aff", "pref_aff", "pref_anti")):
        info = st.term_groups[group]
        counts = st.term_counts[group, :n].astype(np.int64)
        if not counts.any():
            continue
        weight = {"aff": HARD_POD_AFFINITY_WEIGHT, "pref_aff": info.weight, "pref_anti": -info.weight}[info.kind]
        scores += weight * st.per_domain(info.term.get("topologyKey", ""), counts)
    return scores


def normalize(scores: np.ndarray) -> np.ndarray:
    """InterPodAffinity's NormalizeScore: min..max onto 0..100 (all 0 when they are equal)."""
    if scores.size == 0:
        return scores
    low, high = int(scores.min()), int(scores.max())
    if high == low:
        return np.zeros_like(scores)
    return (100 * (scores - low) / (high - low)).astype(np.int64)
