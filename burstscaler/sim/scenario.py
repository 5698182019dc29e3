"""The built-in scenario: one day of diurnal web traffic with a flash crowd, per minute.

``burstscaler simulate`` with no trace replays this, so a new user sees the whole story in one
command: a quiet night that ECS covers alone, a daily peak larger than the base pool, and a sudden
flash crowd (a launch, a sale) that no node autoscaler can boot nodes for in time. It is
deterministic: the noise comes from a seeded generator, so the same seed gives the same numbers.

Its rates are in requests per second and meant for ``CAPACITY_PER_REPLICA`` requests per second per
replica: the night needs about 6 replicas, the daily peak about 28, the flash crowd about 42.
"""

from __future__ import annotations

import datetime

import numpy as np

from burstscaler.sim import traces

#: Requests per second one replica serves at target utilisation, for this scenario's rates.
CAPACITY_PER_REPLICA = 10.0
#: Where the scenario's day starts (only labels charts; the simulation counts seconds from 0).
START = datetime.datetime(2024, 3, 12, tzinfo=datetime.UTC)

_MINUTES = 24 * 60
_NIGHT_RATE = 60.0  # req/s at the 04:00 trough
_DAY_SWING = 220.0  # req/s added at the 16:00 peak
_FLASH_AT_MINUTE = 11 * 60 + 10  # 11:10, while the daily ramp is still climbing
_FLASH_RATE = 250.0  # req/s added at the flash crowd's top
_FLASH_RISE_MINUTES = 3.0
_FLASH_DECAY_MINUTES = 25.0
_NOISE = 0.04  # relative, log-normal, per minute


def builtin_trace(*, seed: int = 0) -> traces.Trace:
    """Return the scenario as a per-minute ``Trace`` (rates in requests per second)."""
    minutes = np.arange(_MINUTES, dtype=np.float64)
    hours = minutes / 60.0
    diurnal = _NIGHT_RATE + _DAY_SWING * ((1.0 - np.cos(2.0 * np.pi * (hours - 4.0) / 24.0)) / 2.0) ** 1.5
    since_flash = minutes - _FLASH_AT_MINUTE
    rise = np.clip((since_flash + 1.0) / _FLASH_RISE_MINUTES, 0.0, 1.0)
    decay = np.exp(-np.clip(since_flash - _FLASH_RISE_MINUTES, 0.0, None) / _FLASH_DECAY_MINUTES)
    flash = np.where(since_flash >= -1.0, _FLASH_RATE * rise * decay, 0.0)
    noise = np.random.default_rng(seed).lognormal(mean=0.0, sigma=_NOISE, size=_MINUTES)
    rates = (diurnal + flash) * noise
    return traces.Trace(name="built-in: diurnal + flash crowd", interval=60.0, start=START.timestamp(), rates=rates)
