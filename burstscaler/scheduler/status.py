"""Filter outcomes: kube-scheduler's status codes, per node and per plugin.

A filter plugin answers for every node at once (a :class:`Verdict`: an int8 code per node and a
function giving the reason texts of one node, computed only when someone reads them: the hot path
of scheduling never builds strings). :class:`Status` is the per-node answer the acceptance tests and
messages use, named as kube's ``framework.Code``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

#: Codes as stored in a Verdict's array.
SUCCESS = 0
UNSCHEDULABLE = 1
UNRESOLVABLE = 2

#: kube-scheduler's names of the codes.
CODE_NAMES = {SUCCESS: "Success", UNSCHEDULABLE: "Unschedulable", UNRESOLVABLE: "UnschedulableAndUnresolvable"}


@dataclasses.dataclass(frozen=True)
class Status:
    """One plugin's answer for one node: ``code`` is "Success", "Unschedulable" or "UnschedulableAndUnresolvable"."""

    code: str = "Success"
    reasons: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the node passed."""
        return self.code == "Success"


@dataclasses.dataclass(frozen=True)
class Verdict:
    """One filter plugin's answer for every node of a cluster state, in node-index order.

    ``prefilter`` is the PreFilter outcome when it was not plain success ("Skip", or the code name
    when PreFilter itself rejected the pod for every node).
    """

    codes: np.ndarray
    reason_of: Callable[[int], tuple[str, ...]]
    prefilter: str | None = None
    # Optional fast form of ``reason_counts`` for plugins whose reasons are arrays already.
    histogram: Callable[[np.ndarray], dict[str, int]] | None = None

    def reason_counts(self, mask: np.ndarray) -> dict[str, int]:
        """How many of the nodes in ``mask`` carry each reason (a node may carry several)."""
        if self.histogram is not None:
            return {reason: count for reason, count in self.histogram(mask).items() if count}
        counts: dict[str, int] = {}
        for index in np.flatnonzero(mask).tolist():
            for reason in self.reason_of(index):
                counts[reason] = counts.get(reason, 0) + 1
        return counts

    def status(self, index: int) -> Status:
        """The Status of the node at ``index``."""
        code = int(self.codes[index])
        if code == SUCCESS:
            return Status()
        return Status(code=CODE_NAMES[code], reasons=self.reason_of(index))


def passing(count: int, *, prefilter: str | None = None) -> Verdict:
    """A verdict that lets every one of ``count`` nodes through."""
    return Verdict(codes=np.zeros(count, dtype=np.int8), reason_of=lambda _index: (), prefilter=prefilter)


def uniform(codes: np.ndarray, reason: str) -> Verdict:
    """A verdict whose failing nodes all carry the one ``reason``."""
    return Verdict(codes=codes, reason_of=lambda _index: (reason,), histogram=lambda mask: {reason: int(mask.sum())})


def coded(codes: np.ndarray, reasons: np.ndarray, texts: dict[int, str]) -> Verdict:
    """A verdict whose failing nodes carry one of a few reasons, given per node as a small code."""

    def histogram(mask: np.ndarray) -> dict[str, int]:
        counts = np.bincount(reasons[mask], minlength=max(texts) + 1)
        return {text: int(counts[code]) for code, text in texts.items()}

    return Verdict(
        codes=codes, reason_of=lambda i: (texts[int(reasons[i])],) if reasons[i] else (), histogram=histogram
    )
