"""Exceptions of the simulator, documented in one place.

- ``SimulationError``: base of everything the simulator raises on purpose; the CLI prints its message
  as one line and exits non-zero, with no traceback.
  - ``TraceError``: a trace file cannot be replayed (missing file, no numeric column, a negative
    rate, an empty trace, an unparsable time); the message names the file and the problem.
  - ``SettingsError``: the simulation settings contradict each other or the trace (for example a
    pod that fits on no node).
"""

from __future__ import annotations


class SimulationError(Exception):
    """Base of the simulator's deliberate errors: the message is meant for the user, as is."""


class TraceError(SimulationError):
    """A trace cannot be read or replayed; the message names the file and what is wrong."""


class SettingsError(SimulationError):
    """Simulation settings that cannot work together; the message says which and why."""
