"""``burstscaler``: the real core deciding each step; a fixed ECS pool, overflow to the virtual node.

Not wired yet: the recommender (``burstscaler.core.recommend``) and the planner
(``burstscaler.core.plan``) have not landed. Rather than fake numbers with a stand-in, building this
strategy raises ``NotImplementedError`` until they exist.
"""

from __future__ import annotations

from burstscaler.sim import settings, traces
from burstscaler.sim.strategies import protocol

NAME = "burstscaler"
SUMMARY = "the real core: base on a fixed ECS pool, overflow to ECI, make-before-break drain-back"

#: Why the strategy cannot run yet; tests skip with this reason.
NOT_LANDED = "core not landed"


def build(config: settings.Settings, *, load: traces.StepLoad, initial_load: float) -> protocol.Setup:
    """Build burstscaler on a fixed ECS pool (``settings.base_pool``); needs the core's planner."""
    raise NotImplementedError(
        f"the burstscaler strategy needs burstscaler.core.plan and burstscaler.core.recommend ({NOT_LANDED})"
    )
