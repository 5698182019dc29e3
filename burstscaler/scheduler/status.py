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
    return Verdict(codes=codes, reason_of=lambda _index: (reason,))
