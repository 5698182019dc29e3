"""A Kubernetes API server good enough for Kopf, kubectl and the official client: KMock, filled in.

:class:`Emulator` subclasses KMock 0.8's ``KubernetesEmulator``. It keeps KMock's HTTP plumbing,
request parsing, discovery scaffold, DSL reactions (``emulator['get /x'] << ...`` still wins over
the built-in behaviour) and its ``objects`` array with the full version history of every object
(handy for "never dropped below" assertions), and replaces the stateful part. Each gap of KMock
0.8 it fills, as KMock does it -> as we do it:

- **uid, creationTimestamp**: absent -> set on create (uids from a seeded RNG: reproducible).
- **resourceVersion**: absent -> one global counter, bumped on every write and written into the
  object; lists carry the current one. A write that changes nothing bumps nothing.
- **generation**: absent -> 1 on create, +1 when anything but metadata and status changes.
- **generateName**: ignored -> a name is generated (``prefix`` + 5 random characters).
- **optimistic concurrency**: none -> a PUT or merge patch carrying a stale
  ``metadata.resourceVersion`` gets 409; a JSON-patch whose ``test`` fails gets 422 (Kopf's
  finalizer patch tests ``/metadata/resourceVersion`` and expects exactly that; KMock gave 500).
- **PATCH formats**: every body dict-merged -> JSON-patch, merge patch and strategic merge patch
  each with their own semantics (:mod:`.patching`); server-side apply gets 415.
- **PUT (replace)**: not handled -> replaces the object (or its status, or its scale).
- **status subresource**: status written through the main resource -> writes to the main resource
  keep the old status, ``/status`` writes change only the status, and create drops the status
  (except for nodes, as the real server; pods start ``Pending``). Applies to CRDs declaring it.
- **/scale**: returned the whole object -> ``GET``/``PATCH``/``PUT`` speak ``autoscaling/v1``
  ``Scale`` for deployments, statefulsets and replicasets, and write ``spec.replicas`` through.
- **pods/binding, pods/eviction**: not handled -> bind a pending pod (409 if already bound) and
  evict (delete) a pod, as the scheduler and ``kubectl drain`` do.
- **list responses**: no kind/apiVersion -> ``<Kind>List`` and the group version, items sorted by
  namespace and name; ``Accept: ...;as=Table`` gets a server-side ``Table`` (kubectl's printing),
  with a CRD's ``additionalPrinterColumns`` (so ``kubectl get bp`` shows them).
- **label and field selectors**: ignored -> honoured on lists and watches (:mod:`.selectors`).
- **watch**: replays everything as ADDED, ignores the query -> with a ``resourceVersion``, only
  the newer events (from a bounded log; too old gives an ERROR 410 Expired event, as etcd
  compaction does; ``compact()`` forgets the whole log); without one (or with "0"), the current
  state as ADDED, then live events. ``faults.cut_watches`` drops open streams (see there).
  Selector transitions become ADDED/DELETED as on a real server. ``timeoutSeconds`` ends the
  stream. No BOOKMARK events (leave Kopf's ``initial_streaming`` off).
- **discovery**: ``/api/v1`` said ``groupVersion: "/v1"`` -> ``"v1"``; the built-in resource table
  (kinds, short names, subresources) is loaded from KMock's bundle so kubectl can resolve
  ``deploy``, ``sts``, ``bp``.
- **CRDs**: no effect -> creating a ``CustomResourceDefinition`` (or :meth:`install_crd` from a
  dict) serves its resource at once: kind, short names, scope, status subresource, printer columns;
  deleting it removes the resource and its objects.
- **structural schema of the status**: not checked -> a write of a custom resource's status (the
  ``/status`` subresource) is pruned, defaulted and validated against the CRD's
  ``openAPIV3Schema`` as the real server does (:mod:`.structural`): unknown fields dropped unless
  ``x-kubernetes-preserve-unknown-fields``, wrong types refused with 422 ``Invalid``. The spec is
  stored as sent (CEL rules could not be checked anyway).
- **finalizers**: KMock marks ``deletionTimestamp`` (kept) -> also forbids adding finalizers to an
  object being deleted (422), and removes it when the last finalizer goes.
- **garbage collection**: none -> the garbage collector's three propagation policies (run at once
  after every deletion: a legal, fast schedule of the asynchronous real one). **Background** (the
  default): the owner goes (once its finalizers allow), then every object whose every
  ``ownerReference`` points to a gone owner is deleted, recursively. **Orphan** (or
  ``orphanDependents: true``): the owner gets the ``orphan`` finalizer; the references to it are
  removed from its dependents, then the finalizer. **Foreground**: the owner gets the
  ``foregroundDeletion`` finalizer and stays (with its ``deletionTimestamp``) while its dependents
  are deleted (Foreground again, pods gracefully); the finalizer goes once no dependent with
  ``blockOwnerDeletion: true`` is left (terminating pods still block), then the owner goes. A
  dependent with another live owner (not itself in foreground deletion) is not deleted: only its
  reference to the owner goes, as the real collector does.
- **delete preconditions**: ignored -> ``preconditions.uid``/``resourceVersion`` give 409.
- **Events**: ``v1`` and ``events.k8s.io/v1`` events are ordinary objects (created with
  ``generateName`` by Kopf), listable with selectors.
- **/healthz, /livez, /readyz**: 404 -> ``ok``.
- **request log**: KMock keeps every request and, to route the next one, filters the whole log
  once per reaction (quadratic: a request took 6 ms on a fresh emulator and 110 ms after 1,500) ->
  only the last ``request_log_size`` (64) are kept. DSL reactions still route; assertions over
  KMock's request views see only that tail.
- **errors**: a traceback in ``details`` -> a ``Status`` with the reason the real server uses
  (``NotFound``, ``AlreadyExists``, ``Conflict``, ``Invalid``, ...).
- **fault injection** (not in KMock): arm the next N requests of one client (the operator by
  default, told apart by its User-Agent) matching a method and a path to fail (409, 429 with
  ``Retry-After``, 500, 503, ...) or to stall (:mod:`.faults`); :attr:`Emulator.requests_by_client` counts the
  requests served per client.

- **graceful pod deletion**: pods went at once -> a pod bound to a node gets ``deletionTimestamp``
  and ``deletionGracePeriodSeconds`` (the request's ``gracePeriodSeconds``, else the pod's
  ``terminationGracePeriodSeconds``, 30 by default; a shorter one shortens it) and stays until a
  ``DELETE`` with grace 0 (the cluster actor's kubelet); an unbound or finished pod goes at once.
- **DefaultTolerationSeconds admission**: pods get NoExecute tolerations of
  ``node.kubernetes.io/not-ready`` and ``unreachable`` for ``default_toleration_seconds`` (300)
  unless they tolerate those already.

- **mutating admission webhooks** (not in KMock): :attr:`Emulator.mutations` mutate pods being
  created, after the built-in plugins, as a mesh's sidecar injector does (:mod:`.admission`).

Not emulated: namespace lifecycle (namespaces are not
required to exist), built-in admission other than DefaultTolerationSeconds, validation of built-in kinds
and of custom resources' specs, server-side apply, ``dryRun``, pagination
(``limit`` is ignored: everything comes in one page), BOOKMARKs.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import datetime
import json
import random
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp.web
import attrs
import kmock

from . import admission, faults, patching, selectors, structural

Key = tuple[kmock.resource, str | None, str]

CRDS = kmock.resource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
PODS = kmock.resource("", "v1", "pods")
_SCALABLE = {"deployments", "statefulsets", "replicasets"}
_KEEP_STATUS_ON_CREATE = {"nodes"}
ORPHAN_FINALIZER = "orphan"
FOREGROUND_FINALIZER = "foregroundDeletion"
_GC_FINALIZERS = {"Orphan": ORPHAN_FINALIZER, "Foreground": FOREGROUND_FINALIZER}
_NAMESPACES_PATH = re.compile(r"/api/v1/namespaces(/[^/]+(/(status|finalize))?)?/?")
_NAMESPACES_ALIAS = "namespaces--cluster-scoped"
_SUBRESOURCE_KINDS = {"scale": "Scale", "binding": "Binding", "eviction": "Eviction"}
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_REASONS = {
    400: "BadRequest",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
}


@attrs.frozen(kw_only=True)
class ApiError(kmock.KubernetesError):
    """An API failure rendered as a Kubernetes ``Status`` with the real server's reason."""

    status: int = 500
    reason: str | None = None
    message: str | None = None
    details: Any | None = None


def _error(status: int, message: str, *, reason: str | None = None, **details: Any) -> ApiError:
    return ApiError(
        status=status, reason=reason or _REASONS.get(status, "InternalError"), message=message, details=details
    )


@attrs.frozen(kw_only=True)
class Change:
    """One entry of the watch log: what happened, at which resourceVersion, and the state before."""

    rv: int
    resource: kmock.resource
    type: str
    obj: dict[str, Any]
    old: dict[str, Any] | None


def now() -> str:
    """The API's timestamp format (RFC 3339, whole seconds, UTC)."""
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def api_version(resource: kmock.resource) -> str:
    return f"{resource.group}/{resource.version}" if resource.group else str(resource.version)


@attrs.define(kw_only=True)
class Emulator(kmock.KubernetesEmulator):
    """KMock's Kubernetes emulator with the realism the operator needs (see the module docstring).

    Use it through :class:`.hosting.ApiServer`, which runs it in its own thread and loop. All the
    state lives in that loop; touch it from elsewhere only via ``ApiServer.call``.
    """

    faults: faults.Faults = attrs.field(factory=faults.Faults)
    seed: int = 0
    # Pods with a node are deleted gracefully (deletionTimestamp first; the kubelet removes them).
    graceful_pods: bool = True
    # The DefaultTolerationSeconds admission plugin's default (--default-not-ready-toleration-seconds).
    default_toleration_seconds: int = 300
    # Mutating admission webhooks for pods being created, in order (:mod:`.admission`); none by default.
    mutations: list[admission.Mutation] = attrs.field(factory=list)
    # KMock's request log is kept to its last entries (None: all, as KMock does; see __call__).
    request_log_size: int | None = 64
    # Requests served per client identity (faults.client_of): shows who talks to the API.
    requests_by_client: collections.Counter[str] = attrs.field(factory=collections.Counter, init=False)
    watch_log_size: int = 20_000

    _rv: int = attrs.field(default=0, init=False)
    _log: collections.deque[Change] = attrs.field(factory=collections.deque, init=False)
    _wakeup: asyncio.Future[None] | None = attrs.field(default=None, init=False)
    _random: random.Random = attrs.field(factory=random.Random, init=False)
    _columns: dict[kmock.resource, list[dict[str, Any]]] = attrs.field(factory=dict, init=False)
    _schemas: dict[kmock.resource, dict[str, Any]] = attrs.field(factory=dict, init=False)
    _closing: bool = attrs.field(default=False, init=False)
    _collecting: bool = attrs.field(default=False, init=False)
    _gc_again: bool = attrs.field(default=False, init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()  # KMock's discovery and the LIST/WATCH/FETCH/... fallbacks
        self._random.seed(self.seed)
        self.resources.load_bundled()
        for path in ("/healthz", "/livez", "/readyz"):
            self.fallback[f"get {path}"] << b"ok"
        self.fallback[kmock.method.PUT] << self._serve_replace
        self.fallback[kmock.method.POST] << self._serve_subresource_post
        for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.create(kmock.resource("", "v1", "namespaces"), {"metadata": {"name": name}})

    # -- the public, in-loop API (also used by the HTTP handlers) -----------------------------

    @property
    def resource_version(self) -> int:
        return self._rv

    def install_crd(self, crd: dict[str, Any]) -> dict[str, Any]:
        """Create a CustomResourceDefinition object; its resource is served at once."""
        return self.create(CRDS, crd)

    def find(self, resource: kmock.resource, namespace: str | None, name: str) -> dict[str, Any] | None:
        """The current state of an object, or None."""
        key = (resource, namespace, name)
        if key in self._objects and not self._objects[key].deleted:
            return self._objects[key].raw
        return None

    def versions(self, resource: kmock.resource, namespace: str | None, name: str) -> list[dict[str, Any]]:
        """Every version an object has had under this key, oldest first (deletions left out).

        Tests use it to check every write (e.g. each value a Deployment's ``spec.replicas`` took),
        which polling could miss.
        """
        key = (resource, namespace, name)
        if key not in self._objects:
            return []
        return [copy.deepcopy(v.raw) for v in self._objects[key].history if v is not None]

    def live(self, resource: kmock.resource | None = None) -> Iterator[tuple[Key, dict[str, Any]]]:
        """All live objects (of one resource), sorted by namespace and name."""
        items = [
            (key, obj.raw)
            for key, obj in list(self._objects.items())
            if not obj.deleted and (resource is None or key[0] == resource)
        ]
        yield from sorted(items, key=lambda item: (item[0][1] or "", item[0][2]))

    def create(self, resource: kmock.resource, body: dict[str, Any], *, namespace: str | None = None) -> dict[str, Any]:
        info = self._info(resource)
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if info.namespaced:
            if namespace and meta.get("namespace") not in (None, namespace):
                raise _error(
                    400, "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace or meta.get("namespace") or "default"
        else:
            meta.pop("namespace", None)
        if not meta.get("name"):
            if not meta.get("generateName"):
                raise _error(422, "name or generateName is required")
            suffix = "".join(self._random.choice(_NAME_ALPHABET) for _ in range(5))
            meta["name"] = meta["generateName"] + suffix
        key = (resource, meta.get("namespace"), meta["name"])
        if self.find(*key) is not None:
            raise _error(
                409,
                f'{resource.plural} "{meta["name"]}" already exists',
                reason="AlreadyExists",
                name=meta["name"],
                kind=resource.plural,
            )
        obj["apiVersion"], obj["kind"] = api_version(resource), info.kind
        if "status" in info.subresources and resource.plural not in _KEEP_STATUS_ON_CREATE:
            obj.pop("status", None)
        for field in ("deletionTimestamp", "deletionGracePeriodSeconds", "managedFields"):
            meta.pop(field, None)
        meta["uid"] = str(uuid.UUID(int=self._random.getrandbits(128), version=4))
        meta["creationTimestamp"] = now()
        meta["generation"] = 1
        _default(resource, obj)
        if resource == PODS:
            _admit_tolerations(obj, self.default_toleration_seconds)
            for mutation in self.mutations:  # MutatingAdmissionWebhook runs after the built-in plugins
                mutation(obj, namespace=meta["namespace"])
        if resource == CRDS:
            obj["status"] = _crd_status(obj)
        return self._commit(key, "ADDED", obj, None)

    def update(
        self,
        resource: kmock.resource,
        namespace: str | None,
        name: str,
        new: dict[str, Any],
        *,
        subresource: str | None = None,
    ) -> dict[str, Any]:
        """Replace an object (or its status) with `new`, as a PUT does."""
        info = self._info(resource)
        key = (resource, namespace, name)
        old = self._require(key)
        rv = new.get("metadata", {}).get("resourceVersion")
        if rv is not None and str(rv) != old["metadata"]["resourceVersion"]:
            raise self._conflict(resource, name)
        if subresource == "status":
            result = copy.deepcopy(old)
            if "status" in new:
                result["status"] = self._structural_status(resource, name, new["status"])
            else:
                result.pop("status", None)
        else:
            result = copy.deepcopy(new)
            meta = result.setdefault("metadata", {})
            for field in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"):
                if field in old["metadata"]:
                    meta[field] = old["metadata"][field]
                else:
                    meta.pop(field, None)
            meta["name"], meta["namespace"] = name, namespace
            if namespace is None:
                meta.pop("namespace")
            if "status" in info.subresources:
                if "status" in old:
                    result["status"] = copy.deepcopy(old["status"])
                else:
                    result.pop("status", None)
        result["apiVersion"], result["kind"] = old["apiVersion"], old["kind"]
        if old["metadata"].get("deletionTimestamp"):
            added = set(result["metadata"].get("finalizers", [])) - set(old["metadata"].get("finalizers", []))
            if added:
                raise _error(
                    422,
                    "Forbidden: no new finalizers can be added if the object is being deleted, "
                    f"found new finalizers {sorted(added)!r}",
                )
        result["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        if result == old:
            return old  # a no-op write: no new resourceVersion, no event
        if _spec_part(result) != _spec_part(old):
            result["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
        committed = self._commit(key, "MODIFIED", result, old)
        # A pod in its grace period stays until the kubelet deletes it with grace 0, finalizers or not.
        grace_left = resource == PODS and committed["metadata"].get("deletionGracePeriodSeconds", 0) > 0
        meta = committed["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers") and not grace_left:
            return self._remove(key, committed)
        return committed

    def patch(
        self,
        resource: kmock.resource,
        namespace: str | None,
        name: str,
        body: Any,
        *,
        content_type: str = patching.MERGE_PATCH,
        subresource: str | None = None,
    ) -> dict[str, Any]:
        key = (resource, namespace, name)
        old = self._require(key)
        if isinstance(body, dict):
            rv = body.get("metadata", {}).get("resourceVersion")
            if rv is not None and str(rv) != old["metadata"]["resourceVersion"]:
                raise self._conflict(resource, name)
        try:
            new = patching.apply(old, body, content_type=content_type)
        except patching.UnsupportedPatchType as e:
            raise _error(415, f"the body of the request was in an unknown format: {e}") from None
        except patching.PatchError as e:
            raise _error(422, str(e)) from None
        new.setdefault("metadata", {})["resourceVersion"] = old["metadata"]["resourceVersion"]
        return self.update(resource, namespace, name, new, subresource=subresource)

    def delete(
        self, resource: kmock.resource, namespace: str | None, name: str, options: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        options = options or {}
        key = (resource, namespace, name)
        obj = self._require(key)
        meta = obj["metadata"]
        preconditions = options.get("preconditions") or {}
        if preconditions.get("uid") not in (None, meta["uid"]):
            raise _error(
                409,
                f"Precondition failed: UID in precondition: {preconditions['uid']}, UID in object meta: {meta['uid']}",
            )
        if preconditions.get("resourceVersion") not in (None, meta["resourceVersion"]):
            raise _error(409, "Precondition failed: resourceVersion mismatch")
        policy = _propagation(options)
        if resource == PODS and self.graceful_pods:
            grace = _pod_grace(obj, options.get("gracePeriodSeconds"))
            current = meta.get("deletionGracePeriodSeconds")
            if meta.get("deletionTimestamp") and current is not None and grace >= current:
                return obj  # already terminating: a longer grace period does not extend it
            if grace > 0 or meta.get("finalizers"):
                marked = copy.deepcopy(obj)
                marked["metadata"].setdefault("deletionTimestamp", now())
                marked["metadata"]["deletionGracePeriodSeconds"] = grace
                return self._commit(key, "MODIFIED", marked, obj)
        gc_finalizer = _GC_FINALIZERS.get(policy)
        if gc_finalizer is not None and gc_finalizer not in (meta.get("finalizers") or []):
            marked = copy.deepcopy(obj)
            marked["metadata"].setdefault("deletionTimestamp", now())
            marked["metadata"].setdefault("deletionGracePeriodSeconds", 0)
            marked["metadata"]["finalizers"] = [*(meta.get("finalizers") or []), gc_finalizer]
            committed = self._commit(key, "MODIFIED", marked, obj)
            self._collect_garbage()  # orphan or delete the dependents now; the owner may be gone after
            return self.find(*key) or committed
        if meta.get("finalizers"):
            if meta.get("deletionTimestamp"):
                return obj
            marked = copy.deepcopy(obj)
            marked["metadata"]["deletionTimestamp"] = now()
            marked["metadata"]["deletionGracePeriodSeconds"] = 0
            return self._commit(key, "MODIFIED", marked, obj)
        return self._remove(key, obj)

    def scale_of(self, resource: kmock.resource, namespace: str | None, name: str) -> dict[str, Any]:
        """The ``autoscaling/v1`` Scale of a deployment, statefulset or replicaset."""
        if resource.plural not in _SCALABLE:
            raise _error(404, f"the server could not find the requested resource ({resource.plural}/scale)")
        obj = self._require((resource, namespace, name))
        meta = obj["metadata"]
        return {
            "apiVersion": "autoscaling/v1",
            "kind": "Scale",
            "metadata": {
                key: meta[key]
                for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                if key in meta
            },
            "spec": {"replicas": obj.get("spec", {}).get("replicas", 0)},
            "status": {
                "replicas": obj.get("status", {}).get("replicas", 0),
                "selector": _selector_string(obj.get("spec", {}).get("selector") or {}),
            },
        }

    def close(self) -> None:
        """End all watch streams (called on stop)."""
        self._closing = True
        self._wake()

    # -- storage, events, garbage collection -------------------------------------------------

    def _info(self, resource: kmock.resource | None) -> kmock.ResourceInfo:
        if resource is None or resource.plural is None or resource not in self.resources:
            raise _error(404, "the server could not find the requested resource")
        return self.resources[resource]

    def _structural_status(self, resource: kmock.resource, name: str, status: Any) -> Any:
        """A custom resource's status as the server stores it: pruned, defaulted, validated (422)."""
        schema = ((self._schemas.get(resource) or {}).get("properties") or {}).get("status")
        if schema is None:
            return copy.deepcopy(status)
        if status is None and not schema.get("nullable"):
            return None
        try:
            return structural.normalize(status, schema, path="status")
        except structural.Invalid as e:
            info = self._info(resource)
            group = f".{resource.group}" if resource.group else ""
            causes = [
                {"reason": "FieldValueInvalid", "message": message, "field": field} for field, message in e.causes
            ]
            raise _error(
                422,
                f'{info.kind}{group} "{name}" is invalid: {e}',
                name=name,
                group=resource.group,
                kind=info.kind,
                causes=causes,
            ) from None

    def _require(self, key: Key) -> dict[str, Any]:
        obj = self.find(*key)
        if obj is None:
            resource, _, name = key
            raise _error(404, f'{resource.plural} "{name}" not found', name=name, kind=resource.plural)
        return obj

    def _conflict(self, resource: kmock.resource, name: str) -> ApiError:
        group = f".{resource.group}" if resource.group else ""
        return _error(
            409,
            f'Operation cannot be fulfilled on {resource.plural}{group} "{name}": '
            "the object has been modified; please apply your changes to the latest version and try again",
        )

    def _commit(self, key: Key, event: str, obj: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        if key in self._objects:
            self._objects[key].history.append(obj)
        else:
            self._objects[key] = obj
        self._publish(key[0], event, obj, old)
        if key[0] == CRDS:
            self._register_crd(obj)
        return obj

    def _remove(self, key: Key, obj: dict[str, Any]) -> dict[str, Any]:
        self._rv += 1
        gone = copy.deepcopy(obj)
        gone["metadata"]["resourceVersion"] = str(self._rv)
        self._objects[key].delete()
        self._publish(key[0], "DELETED", gone, obj)
        if key[0] == CRDS:
            self._unregister_crd(gone)
        self._collect_garbage()
        return gone

    def _collect_garbage(self) -> None:
        """Run the garbage collector until nothing changes (re-entered by its own deletions: deferred)."""
        if self._collecting:
            self._gc_again = True
            return
        self._collecting = True
        try:
            for _ in range(1000):  # each round deletes or updates something; a bound against a bug
                self._gc_again = False
                if not self._gc_round() and not self._gc_again:
                    break
        finally:
            self._collecting = False

    def _gc_round(self) -> bool:
        """One pass of the three policies; True when it changed something."""
        changed = False
        dependents: dict[str, list[Key]] = collections.defaultdict(list)
        for key, obj in self.live():
            for ref in obj["metadata"].get("ownerReferences") or []:
                dependents[str(ref.get("uid"))].append(key)
        for key, obj in list(self.live()):
            meta = obj["metadata"]
            finalizers = meta.get("finalizers") or []
            if not meta.get("deletionTimestamp") or not set(finalizers) & {ORPHAN_FINALIZER, FOREGROUND_FINALIZER}:
                continue
            uid = meta["uid"]
            if ORPHAN_FINALIZER in finalizers:
                for dependent in dependents.get(uid, []):
                    current = self.find(*dependent)
                    if current is not None:
                        kept = [r for r in current["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
                        self.patch(*dependent, {"metadata": {"ownerReferences": kept or None}})
                self._drop_finalizer(key, ORPHAN_FINALIZER)
                changed = True
                continue
            blocked = False
            for dependent in dependents.get(uid, []):
                current = self.find(*dependent)
                if current is None:
                    continue
                refs = current["metadata"].get("ownerReferences") or []
                if any(self._solid_owner(ref) for ref in refs if ref.get("uid") != uid):
                    # A dependent with another live owner is not collected: only the reference goes
                    # (garbage collector, attemptToDeleteItem: "has at least one existing owner").
                    kept = [r for r in refs if r.get("uid") != uid]
                    self.patch(*dependent, {"metadata": {"ownerReferences": kept}})
                    changed = True
                    continue
                if not current["metadata"].get("deletionTimestamp"):
                    options = None if dependent[0] == PODS else {"propagationPolicy": "Foreground"}
                    self.delete(*dependent, options)
                    changed = True
                still = self.find(*dependent)
                refs = (still or {}).get("metadata", {}).get("ownerReferences") or []
                blocked |= any(r.get("uid") == uid and r.get("blockOwnerDeletion") for r in refs)
            if not blocked:
                self._drop_finalizer(key, FOREGROUND_FINALIZER)
                changed = True
        live = list(self.live())
        uids = {obj["metadata"]["uid"] for _, obj in live}
        for (resource, namespace, name), obj in live:
            refs = obj["metadata"].get("ownerReferences") or []
            orphaned = refs and not any(ref.get("uid") in uids for ref in refs)
            # An earlier cascade in this same pass may have taken it already.
            if orphaned and not obj["metadata"].get("deletionTimestamp") and self.find(resource, namespace, name):
                self.delete(resource, namespace, name)
                changed = True
        return changed

    def _solid_owner(self, ref: dict[str, Any]) -> bool:
        """The owner `ref` names exists and is not waiting for its dependents' foreground deletion."""
        owner = next((obj for _, obj in self.live() if obj["metadata"]["uid"] == ref.get("uid")), None)
        return owner is not None and FOREGROUND_FINALIZER not in (owner["metadata"].get("finalizers") or [])

    def _drop_finalizer(self, key: Key, finalizer: str) -> None:
        current = self.find(*key)
        if current is not None:
            kept = [f for f in current["metadata"].get("finalizers") or [] if f != finalizer]
            self.patch(*key, {"metadata": {"finalizers": kept or None}})

    def compact(self) -> int:
        """Forget the whole watch history, as etcd compaction does: a watch resuming from any
        resourceVersion before now gets ERROR 410 Expired (and a client must list again). The
        number of changes forgotten."""
        forgotten = len(self._log)
        self._log.clear()
        return forgotten

    def _publish(self, resource: kmock.resource, event: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        self._log.append(Change(rv=self._rv, resource=resource, type=event, obj=obj, old=old))
        while len(self._log) > self.watch_log_size:
            self._log.popleft()
        self._wake()

    def _wake(self) -> None:
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)
        self._wakeup = None

    def _register_crd(self, crd: dict[str, Any]) -> None:
        spec, names = crd.get("spec", {}), crd.get("spec", {}).get("names", {})
        for version in spec.get("versions", []):
            if not version.get("served", True):
                continue
            resource = kmock.resource(spec["group"], version["name"], names["plural"])
            subresources = set((version.get("subresources") or {}).keys())
            self.resources[resource] = kmock.ResourceInfo(
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                kind=names["kind"],
                singular=names.get("singular", names["kind"].lower()),
                shortnames=names.get("shortNames", []),
                categories=names.get("categories", []),
                subresources=subresources,
                verbs={"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"},
            )
            self._columns[resource] = version.get("additionalPrinterColumns") or []
            schema = (version.get("schema") or {}).get("openAPIV3Schema")
            if schema:
                self._schemas[resource] = schema

    def _unregister_crd(self, crd: dict[str, Any]) -> None:
        spec = crd.get("spec", {})
        for version in spec.get("versions", []):
            resource = kmock.resource(spec["group"], version["name"], spec["names"]["plural"])
            for (_, namespace, name), obj in list(self.live(resource)):
                self._remove((resource, namespace, name), obj)
            if resource in self.resources:
                del self.resources[resource]
            self._columns.pop(resource, None)
            self._schemas.pop(resource, None)

    # -- HTTP --------------------------------------------------------------------------------

    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        # KMock routes each request by filtering its whole request log once per reaction: the cost of
        # a request grew with every request served (6 ms fresh, 110 ms after 1,500). Keep the tail.
        if self.request_log_size is not None and len(self._requests) > self.request_log_size:
            del self._requests[: len(self._requests) - self.request_log_size]
        # KMock decodes every body as text; a protobuf or CBOR body (kubectl's typed commands) would
        # crash it. Refuse them as a server without those codecs does: client-go retries with JSON.
        if any(codec in raw_request.headers.get("Content-Type", "") for codec in ("protobuf", "cbor")):
            await raw_request.read()
            return _status_response(415, "UnsupportedMediaType", "only JSON bodies are served by the emulator")
        # KMock's path parser reads ".../namespaces/X" as "namespace X" and fails on the
        # cluster-scoped resource `namespaces` itself; hide the word from it, restore it in _handle.
        if _NAMESPACES_PATH.fullmatch(raw_request.path):
            path = raw_request.path.replace("/namespaces", f"/{_NAMESPACES_ALIAS}", 1)
            rel_url = raw_request.rel_url.with_path(path).with_query(raw_request.rel_url.query)
            raw_request = raw_request.clone(rel_url=rel_url)
        return await super().__call__(raw_request)

    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        if request.resource is not None and request.resource.plural == _NAMESPACES_ALIAS:
            fixed = attrs.evolve(
                request,
                resource=kmock.resource("", "v1", "namespaces"),
                url=request.url.with_path(request.url.path.replace(_NAMESPACES_ALIAS, "namespaces", 1)).with_query(
                    request.url.query
                ),
            )
            # KMock's views find "their" requests by identity in the root's log: swap it there
            # (searched from the end: the log is trimmed, so ids no longer index it).
            for index in range(len(self._requests) - 1, -1, -1):
                if self._requests[index] is request:
                    self._requests[index] = fixed
                    break
            request = fixed
        client = faults.client_of(request.headers.get("User-Agent"))
        self.requests_by_client[client] += 1
        fault = self.faults.take(request.method.value, request.url.path, client=client)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status is not None:
                headers = {} if fault.retry_after is None else {"Retry-After": str(int(fault.retry_after))}
                return _status_response(fault.status, fault.reason, fault.message, headers=headers)
        # KMock's parent mutates its store here before routing; we route directly (RawHandler's
        # routing), so user-defined reactions still come first and our fallbacks serve the rest.
        return await kmock.KubernetesScaffold._handle(self, request)

    async def _render_error(self, exc: Exception) -> aiohttp.web.StreamResponse:
        if isinstance(exc, kmock.KubernetesError):
            return _status_response(
                exc.status, exc.reason or _REASONS.get(exc.status, "NotFound"), exc.message or "", details=exc.details
            )
        return await super()._render_error(exc)

    async def _serve_version(self, request: kmock.Request) -> Any:
        reply = await super()._serve_version(request)
        reply["groupVersion"] = reply["groupVersion"].lstrip("/")  # KMock says "/v1" for the core group
        for entry in reply["resources"]:
            if "/" in entry["name"]:  # a subresource: KMock copies the parent's names (kubectl warns)
                entry.update(
                    shortNames=[],
                    categories=[],
                    singularName="",
                    kind=_SUBRESOURCE_KINDS.get(entry["name"].split("/")[1], entry["kind"]),
                )
        return reply

    async def _serve_fetch(self, request: kmock.Request) -> Any:
        info = self._info(request.resource)
        assert request.resource is not None and request.name is not None
        namespace = request.namespace if info.namespaced else None
        if request.subresource == "scale":
            return self.scale_of(request.resource, namespace, request.name)
        return self._require((request.resource, namespace, request.name))

    async def _serve_list(self, request: kmock.Request) -> Any:
        info = self._info(request.resource)
        assert request.resource is not None
        match = self._matcher(request)
        items = [obj for (_, namespace, _), obj in self.live(request.resource) if match(namespace, obj)]
        if "as=Table" in request.headers.get("Accept", ""):
            return self._table(request.resource, items)
        return {
            "apiVersion": api_version(request.resource),
            "kind": f"{info.kind}List",
            "metadata": {"resourceVersion": str(self._rv)},
            "items": items,
        }

    async def _serve_create(self, request: kmock.Request) -> Any:
        assert request.resource is not None
        if not isinstance(request.data, dict):
            raise _error(400, "the body of the request is not a JSON object")
        return kmock.Response(
            status=201, payload=self.create(request.resource, request.data, namespace=request.namespace)
        )

    async def _serve_update(self, request: kmock.Request) -> Any:
        info = self._info(request.resource)
        assert request.resource is not None and request.name is not None
        namespace = request.namespace if info.namespaced else None
        content_type = request.headers.get("Content-Type", patching.MERGE_PATCH)
        if request.data is None:
            raise _error(415, f"unsupported patch body or type: {content_type}")
        if request.subresource == "scale":
            scale = self.scale_of(request.resource, namespace, request.name)
            try:
                new_scale = patching.apply(scale, request.data, content_type=content_type)
            except patching.PatchError as e:
                raise _error(422, str(e)) from None
            return self._write_scale(request.resource, namespace, request.name, new_scale)
        return self.patch(
            request.resource,
            namespace,
            request.name,
            request.data,
            content_type=content_type,
            subresource=self._subresource(request, info),
        )

    async def _serve_replace(self, request: kmock.Request) -> Any:
        info = self._info(request.resource)
        assert request.resource is not None
        if request.name is None:
            raise _error(405, "the server does not allow this method on the requested resource")
        namespace = request.namespace if info.namespaced else None
        if not isinstance(request.data, dict):
            raise _error(400, "the body of the request is not a JSON object")
        if request.subresource == "scale":
            return self._write_scale(request.resource, namespace, request.name, request.data)
        return self.update(
            request.resource, namespace, request.name, request.data, subresource=self._subresource(request, info)
        )

    async def _serve_delete(self, request: kmock.Request) -> Any:
        info = self._info(request.resource)
        assert request.resource is not None and request.name is not None
        namespace = request.namespace if info.namespaced else None
        options = request.data if isinstance(request.data, dict) else {}
        if "propagationPolicy" in request.params:
            options = {**options, "propagationPolicy": request.params["propagationPolicy"]}
        return self.delete(request.resource, namespace, request.name, options)

    async def _serve_subresource_post(self, request: kmock.Request) -> Any:
        info = self._info(request.resource)
        assert request.resource is not None
        namespace = request.namespace if info.namespaced else None
        if request.resource == PODS and request.name and request.subresource == "binding":
            pod = self._require((PODS, namespace, request.name))
            node = ((request.data or {}).get("target") or {}).get("name")
            if not node:
                raise _error(422, "the binding has no target node")
            if pod.get("spec", {}).get("nodeName"):
                raise _error(409, f"pod {request.name} is already assigned to node {pod['spec']['nodeName']!r}")
            self.patch(PODS, namespace, request.name, {"spec": {"nodeName": node}})
            return kmock.Response(
                status=201, payload={"apiVersion": "v1", "kind": "Status", "status": "Success", "code": 201}
            )
        if request.resource == PODS and request.name and request.subresource == "eviction":
            self.delete(PODS, namespace, request.name, (request.data or {}).get("deleteOptions"))
            return kmock.Response(
                status=201, payload={"apiVersion": "v1", "kind": "Status", "status": "Success", "code": 201}
            )
        raise _error(405, "the server does not allow this method on the requested resource")

    async def _serve_watch(self, request: kmock.Request) -> AsyncIterator[Any]:
        self._info(request.resource)
        assert request.resource is not None
        match = self._matcher(request)
        since = request.params.get("resourceVersion", "")
        timeout = float(request.params["timeoutSeconds"]) if request.params.get("timeoutSeconds") else None
        loop = asyncio.get_running_loop()
        client = faults.client_of(request.headers.get("User-Agent"))
        held = self.faults.watch_hold(client=client)
        if held is not None:  # a reconnect after a cut waits out the gap, then asks as it would
            held.held += 1
            await asyncio.sleep(held.hold_seconds())
        generation = self.faults.watch_generation()
        deadline = None if timeout is None else loop.time() + timeout
        yield b""  # send the headers now: a quiet watch is still a started watch

        if since in ("", "0"):
            position = self._rv
            for (_, namespace, _), obj in list(self.live(request.resource)):
                if match(namespace, obj):
                    yield {"type": "ADDED", "object": obj}
        else:
            position = int(since)
            oldest = self._log[0].rv - 1 if self._log else self._rv
            if position < oldest:
                yield {
                    "type": "ERROR",
                    "object": _status(410, "Expired", f"too old resource version: {position} ({oldest})"),
                }
                return

        while not self._closing:
            cut = self.faults.cut_since(generation, client=client)
            if cut is not None:  # checked before any event: a cut stream misses every later write
                cut.ended += 1
                return
            for change in self._since(position):
                position = change.rv
                if change.resource != request.resource:
                    continue
                event = _transition(change, match)
                if event is not None:
                    yield event
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return
            if self._wakeup is None:
                self._wakeup = loop.create_future()
            try:
                await asyncio.wait_for(asyncio.shield(self._wakeup), timeout=remaining)
            except TimeoutError:
                return

    # -- helpers of the handlers -------------------------------------------------------------

    def _since(self, position: int) -> list[Change]:
        newer: list[Change] = []
        for change in reversed(self._log):  # the newest first: a watcher is rarely far behind
            if change.rv <= position:
                break
            newer.append(change)
        return newer[::-1]

    def _subresource(self, request: kmock.Request, info: kmock.ResourceInfo) -> str | None:
        if request.subresource in (None, ""):
            return None
        if request.subresource == "status" and "status" in info.subresources:
            return "status"
        raise _error(404, f"the server could not find the requested resource ({request.subresource})")

    def _write_scale(self, resource: kmock.resource, namespace: str | None, name: str, scale: dict[str, Any]) -> Any:
        obj = self._require((resource, namespace, name))
        rv = scale.get("metadata", {}).get("resourceVersion")
        if rv is not None and str(rv) != obj["metadata"]["resourceVersion"]:
            raise self._conflict(resource, name)
        replicas = scale.get("spec", {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise _error(422, f"Scale.spec.replicas: Invalid value: {replicas!r}: must be a non-negative integer")
        new = copy.deepcopy(obj)
        new.setdefault("spec", {})["replicas"] = replicas
        self.update(resource, namespace, name, new)
        return self.scale_of(resource, namespace, name)

    def _matcher(self, request: kmock.Request) -> Any:
        try:
            labels = selectors.parse_labels(request.params.get("labelSelector"))
            fields = selectors.parse_fields(request.params.get("fieldSelector"))
        except selectors.SelectorError as e:
            raise _error(400, str(e)) from None

        def match(namespace: str | None, obj: dict[str, Any]) -> bool:
            return (
                (request.namespace is None or namespace == request.namespace)
                and (request.name is None or obj["metadata"]["name"] == request.name)
                and labels(obj["metadata"].get("labels") or {})
                and fields(obj)
            )

        return match

    def _table(self, resource: kmock.resource, items: list[dict[str, Any]]) -> dict[str, Any]:
        columns = self._columns.get(resource) or _BUILTIN_COLUMNS.get(resource.plural or "", [])
        if not any(column.get("jsonPath") == ".metadata.creationTimestamp" for column in columns):
            columns = [*columns, {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]
        return {
            "apiVersion": "meta.k8s.io/v1",
            "kind": "Table",
            "metadata": {"resourceVersion": str(self._rv)},
            "columnDefinitions": [
                {"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0},
                *(
                    {
                        "name": column["name"],
                        "type": column.get("type", "string"),
                        "format": "",
                        "description": column.get("description", ""),
                        "priority": column.get("priority", 0),
                    }
                    for column in columns
                ),
            ],
            "rows": [
                {
                    "cells": [obj["metadata"]["name"], *(_cell(obj, column) for column in columns)],
                    "object": {
                        "apiVersion": "meta.k8s.io/v1",
                        "kind": "PartialObjectMetadata",
                        "metadata": obj["metadata"],
                    },
                }
                for obj in items
            ],
        }


# -- pure helpers ------------------------------------------------------------------------------


def _status(code: int, reason: str, message: str, details: Any = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Status",
        "metadata": {},
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
        "details": details or {},
    }


def _status_response(
    code: int, reason: str, message: str, *, details: Any = None, headers: dict[str, str] | None = None
) -> aiohttp.web.Response:
    return aiohttp.web.json_response(_status(code, reason, message, details), status=code, headers=headers)


def _transition(change: Change, match: Any) -> dict[str, Any] | None:
    """The event a selective watcher sees: entering the selection is ADDED, leaving it DELETED."""
    namespace = change.obj["metadata"].get("namespace")
    now_in = match(namespace, change.obj)
    was_in = change.old is not None and match(namespace, change.old)
    if change.type == "MODIFIED":
        kind = "MODIFIED" if now_in and was_in else "ADDED" if now_in else "DELETED" if was_in else None
    else:
        kind = change.type if (now_in or (change.type == "DELETED" and was_in)) else None
    return None if kind is None else {"type": kind, "object": change.obj}


def _spec_part(obj: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in obj.items() if key not in ("metadata", "status")}


def _default(resource: kmock.resource, obj: dict[str, Any]) -> None:
    """The few defaults of the real server that clients and the cluster actor rely on."""
    if resource.plural in _SCALABLE:
        obj.setdefault("spec", {}).setdefault("replicas", 1)
    if resource.plural == "pods" and resource.group == "":
        obj["status"] = {"phase": "Pending"}
    if resource.plural == "namespaces" and resource.group == "":
        obj["status"] = {"phase": "Active"}


def _propagation(options: dict[str, Any]) -> str:
    """The delete's propagation policy: ``propagationPolicy``, else the deprecated ``orphanDependents``."""
    policy = options.get("propagationPolicy")
    if policy is None:
        return "Orphan" if options.get("orphanDependents") is True else "Background"
    if policy not in ("Background", "Foreground", "Orphan"):
        raise _error(400, f'propagationPolicy: Unsupported value: "{policy}"', reason="BadRequest")
    return str(policy)


def _pod_grace(pod: dict[str, Any], requested: Any) -> int:
    """The grace period of a pod's deletion, as the pod registry's ``CheckGracefulDelete`` decides."""
    if not pod.get("spec", {}).get("nodeName") or pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
        return 0  # never started, or done: nothing to wait for
    if requested is None:
        requested = pod.get("spec", {}).get("terminationGracePeriodSeconds", 30)
    return max(int(requested), 0)


def _admit_tolerations(pod: dict[str, Any], seconds: int) -> None:
    """The DefaultTolerationSeconds admission plugin: tolerate not-ready/unreachable for `seconds`."""
    tolerations = pod.setdefault("spec", {}).setdefault("tolerations", [])
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if not any(t.get("key") in (None, "", key) and t.get("effect") in (None, "", "NoExecute") for t in tolerations):
            tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": seconds})


def _crd_status(crd: dict[str, Any]) -> dict[str, Any]:
    names = crd.get("spec", {}).get("names", {})
    conditions = [
        {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "lastTransitionTime": now()},
        {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "lastTransitionTime": now()},
    ]
    return {"acceptedNames": names, "conditions": conditions, "storedVersions": [crd["spec"]["versions"][0]["name"]]}


def _selector_string(selector: dict[str, Any]) -> str:
    terms = [f"{key}={value}" for key, value in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        if operator in ("In", "NotIn"):
            terms.append(f"{key} {operator.lower()} ({','.join(values)})")
        else:
            terms.append(key if operator == "Exists" else f"!{key}")
    return ",".join(terms)


def _json_path(obj: Any, path: str) -> Any:
    for part in path.strip().lstrip(".").split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _cell(obj: dict[str, Any], column: dict[str, Any]) -> Any:
    if "render" in column:
        return column["render"](obj)
    value = _json_path(obj, column["jsonPath"])
    if column.get("type") == "date" and isinstance(value, str):
        return _age(value)
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return value


def _age(timestamp: str) -> str:
    then = datetime.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    seconds = int((datetime.datetime.now(tz=datetime.UTC) - then).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= 2 * size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def _ready(obj: dict[str, Any]) -> str:
    status = obj.get("status", {})
    if obj["kind"] == "Pod":
        statuses = status.get("containerStatuses") or []
        total = len(obj.get("spec", {}).get("containers", []))
        return f"{sum(1 for s in statuses if s.get('ready'))}/{total}"
    return f"{status.get('readyReplicas', 0)}/{obj.get('spec', {}).get('replicas', 0)}"


def _node_status(obj: dict[str, Any]) -> str:
    conditions = obj.get("status", {}).get("conditions") or []
    ready = next((c for c in conditions if c.get("type") == "Ready"), None)
    return "Ready" if ready and ready.get("status") == "True" else "NotReady"


# Columns kubectl shows for the kinds the e2e tests look at (the real ones are in Go printers).
_BUILTIN_COLUMNS: dict[str, list[dict[str, Any]]] = {
    "deployments": [
        {"name": "Ready", "type": "string", "render": _ready},
        {"name": "Up-to-date", "type": "integer", "jsonPath": ".status.updatedReplicas"},
        {"name": "Available", "type": "integer", "jsonPath": ".status.availableReplicas"},
    ],
    "statefulsets": [{"name": "Ready", "type": "string", "render": _ready}],
    "pods": [
        {"name": "Ready", "type": "string", "render": _ready},
        {"name": "Status", "type": "string", "jsonPath": ".status.phase"},
        {"name": "Node", "type": "string", "jsonPath": ".spec.nodeName"},
    ],
    "nodes": [{"name": "Status", "type": "string", "render": _node_status}],
}
