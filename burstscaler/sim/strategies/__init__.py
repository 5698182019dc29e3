"""The strategies the simulator compares, one module each, behind ``protocol.Strategy``.

``REGISTRY`` is ordered the way results are shown: the two ECS-only baselines, the serverless one,
ACK's ResourcePolicy, then burstscaler. Adding a strategy is: a module with ``NAME``, ``SUMMARY`` and
``build``, and an entry here with a comment saying what it stands for.
"""

from __future__ import annotations

import dataclasses

from burstscaler.sim.strategies import burstscaler, eci_only, hpa_ca, protocol, resourcepolicy, static_peak


@dataclasses.dataclass(frozen=True)
class Entry:
    """A registered strategy: its name on the command line, a one-line summary, and its builder."""

    name: str
    summary: str
    build: protocol.Build


REGISTRY: tuple[Entry, ...] = (
    # Hindsight provisioning on ECS: the unserved-demand floor, and the cost of that safety.
    Entry(static_peak.NAME, static_peak.SUMMARY, static_peak.build),
    # Today's elastic default: HPA plus cluster-autoscaler; pays for the node boot delay in misses.
    Entry(hpa_ca.NAME, hpa_ca.SUMMARY, hpa_ca.build),
    # ASK: no nodes at all; pays ECI's per-second price for the steady load too.
    Entry(eci_only.NAME, eci_only.SUMMARY, eci_only.build),
    # ACK's own overflow (ResourcePolicy): the same pool, ECS first then ECI, no drain-back.
    Entry(resourcepolicy.NAME, resourcepolicy.SUMMARY, resourcepolicy.build),
    # The product: ECS for what fits, ECI for the overflow, drain-back when room frees up.
    Entry(burstscaler.NAME, burstscaler.SUMMARY, burstscaler.build),
)

NAMES: tuple[str, ...] = tuple(entry.name for entry in REGISTRY)


def lookup(name: str) -> Entry:
    """Return the registered strategy called ``name``; ``KeyError`` names the known ones."""
    for entry in REGISTRY:
        if entry.name == name:
            return entry
    raise KeyError(f"no strategy {name!r}; choose from {', '.join(NAMES)}")
