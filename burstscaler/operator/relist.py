"""Drop index entries of objects deleted while a watch was gone (a 410 Expired relist).

Why: Kopf's indices forget an object only on its DELETED event. When a watch resumes from a
resourceVersion the API server has compacted away, the server answers 410 Expired and Kopf lists the
resource again, re-indexing every live object; but objects deleted during the gap never get a DELETED
event, and Kopf does not drop what the fresh listing lacks (``kopf._cogs.clients.watching`` restarts
the stream; ``kopf._core.engines.indexing`` only discards on DELETED). A deleted node would stay as
phantom ECS room, a deleted pod as phantom demand or usage, a deleted workload as a phantom target.

How, in two parts:

- **Noticing a relist** without Kopf's internals: a watch event always carries a new
  ``metadata.resourceVersion``; only a LIST replays an unchanged object with the version already
  indexed. So an index handler that sees the same (key, resourceVersion) twice knows Kopf is listing
  that resource again (:meth:`Liveness.seen`).
- **Reconciling** that resource once, with our own LIST of names (:class:`ApiLister`), started after the
  relist was noticed: an entry is stale if its key is absent from that LIST *and* it was last indexed
  before the LIST began (so an object created meanwhile is never dropped). Stale keys are hidden from
  the tick's read (:meth:`Liveness.live`) until Kopf indexes the key again.

Cost: one extra LIST of a resource per relist of it (never on a quiet, healthy watch). For pods, the
largest index, that is at most the size of Kopf's own relist that triggered it; nodes and workloads
are few. A LIST that fails (RBAC, API down) prunes nothing: the view stays as Kopf has it (today's
behaviour), and the next relist tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, Protocol, TypeVar

import kopf

logger = logging.getLogger(__name__)
V = TypeVar("V")

# Each watched resource, by the plural the LIST uses, with the index key its objects get
# (the keys of ``handlers``' indices: a node by name, a pod by (namespace, name), a workload by
# (namespace, kind, name)).
RESOURCES: dict[str, tuple[str, Callable[[Mapping[str, Any]], Hashable]]] = {
    "nodes": ("/api/v1/nodes", lambda meta: str(meta.get("name"))),
    "pods": ("/api/v1/pods", lambda meta: (str(meta.get("namespace")), str(meta.get("name")))),
    "deployments": (
        "/apis/apps/v1/deployments",
        lambda meta: (str(meta.get("namespace")), "Deployment", str(meta.get("name"))),
    ),
    "statefulsets": (
        "/apis/apps/v1/statefulsets",
        lambda meta: (str(meta.get("namespace")), "StatefulSet", str(meta.get("name"))),
    ),
}
# How often the reconciler looks for a noticed relist (no API call unless one was noticed). The
# principle: well under a tick (5 s by default), so the plan after a relist is at most a tick late.
POLL_SECONDS = 1.0
LIST_PAGE = 500  # the LIST page size kubectl uses


class Lister(Protocol):
    """Lists the keys of the live objects of one resource of :data:`RESOURCES`."""

    def keys(self, resource: str) -> set[Hashable]: ...


class Liveness:
    """Which index entries are known stale after a relist; thread-safe (Kopf runs sync index
    handlers in its executor threads, the reconciler runs in the operator's loop)."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, dict[Hashable, tuple[str, float]]] = {name: {} for name in RESOURCES}
        self._stale: dict[str, set[Hashable]] = {name: set() for name in RESOURCES}
        self._relisting: set[str] = set()
        self.pruned: dict[str, int] = dict.fromkeys(RESOURCES, 0)  # stale keys found, per resource

    def seen(self, resource: str, key: Hashable, body: Mapping[str, Any]) -> None:
        """Record that Kopf indexed `key` of `resource` from `body` (call from its index handler)."""
        version = str((body.get("metadata") or {}).get("resourceVersion") or "")
        with self._lock:
            before = self._seen[resource].get(key)
            self._seen[resource][key] = (version, self._clock())
            self._stale[resource].discard(key)
            if version and before is not None and before[0] == version:
                self._relisting.add(resource)  # the same version again: only a LIST replays it

    def relisting(self) -> set[str]:
        """The resources whose relist was noticed since the last call (and forget them)."""
        with self._lock:
            found, self._relisting = self._relisting, set()
        return found

    def reconcile(self, resource: str, lister: Lister) -> int:
        """LIST `resource` and mark stale every entry absent from it and indexed before it began;
        the number marked. A failed LIST marks nothing."""
        started = self._clock()
        try:
            live = lister.keys(resource)
        except Exception as error:  # a failed LIST must not crash the operator
            logger.warning("after a relist of %s, listing it to drop deleted objects failed: %s", resource, error)
            return 0
        with self._lock:
            seen = self._seen[resource]
            gone = {key for key, (_, at) in seen.items() if key not in live and at < started}
            for key in gone:
                del seen[key]
            self._stale[resource] |= gone
            self.pruned[resource] += len(gone)
        if gone:
            logger.info("after a relist of %s, %d deleted during the gap dropped from the view", resource, len(gone))
        return len(gone)

    def live(self, resource: str, entries: Mapping[Any, V]) -> dict[Any, V]:
        """`entries` (one index, as the tick reads it) without the stale keys of `resource`.

        Also forgets what Kopf no longer indexes (its DELETED events), so the bookkeeping stays the
        size of the index."""
        with self._lock:
            stale = self._stale[resource]
            stale.intersection_update(entries.keys())
            seen = self._seen[resource]
            for key in [key for key in seen if key not in entries]:
                del seen[key]
            return {key: value for key, value in entries.items() if key not in stale}


class ApiLister:
    """:class:`Lister` on the official client's API connection: paged LISTs read as raw JSON (only
    the names are kept), cluster-wide or in each of the operator's namespaces."""

    def __init__(self, api_client: Any, *, namespaces: Iterable[str] = ()) -> None:
        self._api = api_client
        self._namespaces = tuple(namespaces)

    def keys(self, resource: str) -> set[Hashable]:
        """The keys of the live objects of `resource`, as its index keys them."""
        path, key_of = RESOURCES[resource]
        keys: set[Hashable] = set()
        for url in self._urls(path, cluster_scoped=resource == "nodes"):
            for meta in self._metadata(url):
                keys.add(key_of(meta))
        return keys

    def _urls(self, path: str, *, cluster_scoped: bool) -> list[str]:
        if cluster_scoped or not self._namespaces:
            return [path]
        if any(char in name for name in self._namespaces for char in "*?[!"):
            raise ValueError(f"namespaces {self._namespaces!r} are patterns: a LIST cannot be scoped to them")
        group, plural = path.rsplit("/", 1)
        return [f"{group}/namespaces/{namespace}/{plural}" for namespace in self._namespaces]

    def _metadata(self, url: str) -> Iterable[Mapping[str, Any]]:
        token = ""
        while True:
            query = [("limit", LIST_PAGE)] + ([("continue", token)] if token else [])
            method, full, headers, _, _ = self._api.param_serialize(
                method="GET",
                resource_path=url,
                query_params=query,
                header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"],
            )
            response = self._api.call_api(method, full, header_params=headers, _request_timeout=60)
            data = response.read()
            if not 200 <= response.status < 300:
                raise RuntimeError(f"LIST {url} answered HTTP {response.status}")
            page = json.loads(data)
            for item in page.get("items") or []:
                yield item.get("metadata") or {}
            token = (page.get("metadata") or {}).get("continue") or ""
            if not token:
                return


def register(registry: kopf.OperatorRegistry, liveness: Liveness, *, lister: Callable[[], Lister] | None) -> None:
    """Run the reconciler for the operator's lifetime (none with no `lister`: no API, e.g. tests)."""
    if lister is None:
        return
    tasks: list[asyncio.Task[None]] = []

    @kopf.on.startup(registry=registry)
    async def start_relist_reconciler(**_: Any) -> None:
        tasks.append(asyncio.create_task(_reconcile_forever(liveness, lister())))

    @kopf.on.cleanup(registry=registry)
    async def stop_relist_reconciler(**_: Any) -> None:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _reconcile_forever(liveness: Liveness, lister: Lister) -> None:
    while True:
        await asyncio.sleep(POLL_SECONDS)
        for resource in sorted(liveness.relisting()):
            # Kopf is still replaying the LIST when a repeat is first noticed; our LIST starts now,
            # and only entries indexed before it (and absent from it) are dropped, so that is safe.
            await asyncio.to_thread(liveness.reconcile, resource, lister)
