"""One cached value per policy, valid for the version of its inputs it was computed for.

Why: at 1,000 policies the tick re-derived, every 5 s, what depends only on a policy's spec and its base
workload's template (one replica's requests, node placement, inter-pod terms, price): work that changes
only when one of those objects gets a new ``metadata.generation``. A version is whatever identifies those
inputs (the generations, the workload's key, the provider); a new version replaces the entry, so the cache
holds at most one entry per policy, and ``retain`` drops the policies that are gone.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable
from typing import Generic, TypeVar

Key = tuple[str, str]  # (namespace, name) of the policy
Value = TypeVar("Value")


class PerPolicy(Generic[Value]):
    """Values by policy, each with the version it was computed for."""

    def __init__(self) -> None:
        self._entries: dict[Key, tuple[Hashable, Value]] = {}

    def get(self, key: Key, version: Hashable | None, compute: Callable[[], Value]) -> Value:
        """The value for `key` at `version`, computed when absent or stale; None: unversioned, never cached."""
        if version is None:
            return compute()
        entry = self._entries.get(key)
        if entry is None or entry[0] != version:
            entry = self._entries[key] = (version, compute())
        return entry[1]

    def retain(self, keys: Collection[Key]) -> None:
        """Forget every policy not in `keys`."""
        for gone in self._entries.keys() - keys:
            del self._entries[gone]

    def __len__(self) -> int:
        return len(self._entries)
