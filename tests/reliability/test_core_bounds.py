"""The plan's spend and size bounds, by hypothesis on the same random clusters as tests/core.

tests/core/test_agreement.py checks the vectorized core against the reference and its accounting
identities; these are the two promises an SRE reads in the policy, stated directly:
- burst spend per second (burst replicas x price per replica-second) never exceeds the budget;
- base + burst never exceed maxReplicas, apart from the base surge of a drain-back move in flight
  (make-before-break: those base pods replace burst pods that are still serving).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings

from burstscaler.core import plan, snapshot
from tests.core.test_agreement import NOW, snapshots


@settings(max_examples=200, deadline=None)
@given(snapshots())
def test_burst_spend_never_exceeds_the_budget(snap: snapshot.Snapshot) -> None:
    result = plan.plan(snap, now=NOW)
    pol = snap.policies
    spend = result.burst * pol.burst_cost_per_second
    # A tiny relative slack: the budget cap is a floor of a float division.
    assert np.all(spend <= pol.max_cost_per_second * (1 + 1e-9)), (spend, pol.max_cost_per_second)


@settings(max_examples=200, deadline=None)
@given(snapshots())
def test_base_and_burst_never_exceed_max_replicas(snap: snapshot.Snapshot) -> None:
    result = plan.plan(snap, now=NOW)
    serving = result.base + result.burst - result.history.drain_moves
    assert np.all(serving <= snap.policies.max_replicas)
    assert np.all(result.burst <= snap.policies.max_replicas)
