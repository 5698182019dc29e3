"""Mutating admission for the emulator: a service mesh's sidecar injector, switched on per test.

Pods often do not get the requests of their workload's template: a mesh's mutating webhook
(Istio, ASM, Linkerd) adds a proxy container with its own requests when the pod is created
(issue 15). The planner must plan with the admitted pods' requests; this lets the e2e tests make
the emulator admit pods that way, as a real API server with the webhook installed would.

:class:`SidecarInjector` plays one webhook, the way Istio's injector behaves:

- **scope**: the pods of ``namespaces`` (the webhook's ``namespaceSelector``, by name; empty: every
  namespace) whose labels match ``selector`` (its ``objectSelector``, ``matchLabels``; None: every
  pod); a pod annotated ``<opt_out_annotation>: "false"`` (``sidecar.istio.io/inject``) is skipped;
- **mutation**: a container ``name`` with ``image`` and requests ``cpu``/``memory`` (limits too
  when given) appended to ``spec.containers`` or, with ``native=True``, a native sidecar: an init
  container with ``restartPolicy: Always`` put first among the init containers (Istio's
  ``ENABLE_NATIVE_SIDECARS``); the annotation ``status_annotation`` records the injection, and a pod
  that already carries it (or already has a container of that name) is left as it is, so
  re-admission never injects twice.

Only pods being created are mutated (webhooks registered for ``CREATE``); the workload's template
is never touched, exactly as with a real mesh. Register with
``apiserver.call(lambda emulator: emulator.mutations.append(injector))`` or
:meth:`.hosting.ApiServer.admit_with`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

import attrs

ISTIO_INJECT_ANNOTATION = "sidecar.istio.io/inject"
ISTIO_STATUS_ANNOTATION = "sidecar.istio.io/status"


class Mutation(Protocol):
    """A mutating admission step: changes `pod` (a Pod body being created in `namespace`) in place."""

    def __call__(self, pod: dict[str, Any], *, namespace: str) -> None: ...


@attrs.frozen(kw_only=True)
class SidecarInjector:
    """A mesh's sidecar injection webhook (see the module docstring); the defaults are Istio's proxy.

    The default requests, 100m CPU and 128Mi memory, are Istio's ``global.proxy.resources.requests``.
    """

    name: str = "istio-proxy"
    image: str = "docker.io/istio/proxyv2:1.22.3"
    cpu: str = "100m"
    memory: str = "128Mi"
    limits: Mapping[str, str] | None = None
    native: bool = False
    namespaces: frozenset[str] = frozenset()
    selector: Mapping[str, str] | None = None
    opt_out_annotation: str = ISTIO_INJECT_ANNOTATION
    status_annotation: str = ISTIO_STATUS_ANNOTATION

    def __attrs_post_init__(self) -> None:
        if not self.name:
            raise ValueError("SidecarInjector.name must not be empty")
        if isinstance(self.namespaces, str):
            raise ValueError("SidecarInjector.namespaces must be a set of names, not one string")

    def applies(self, pod: dict[str, Any], *, namespace: str) -> bool:
        """Whether this webhook's scope takes `pod` (namespace, object selector, opt-out annotation)."""
        meta = pod.get("metadata") or {}
        if self.namespaces and namespace not in self.namespaces:
            return False
        labels = meta.get("labels") or {}
        if self.selector is not None and any(labels.get(k) != v for k, v in self.selector.items()):
            return False
        annotations = meta.get("annotations") or {}
        return str(annotations.get(self.opt_out_annotation, "")).lower() != "false"

    def __call__(self, pod: dict[str, Any], *, namespace: str) -> None:
        """Inject the sidecar into `pod` when in scope and not injected already."""
        if not self.applies(pod, namespace=namespace):
            return
        meta = pod.setdefault("metadata", {})
        spec = pod.setdefault("spec", {})
        annotations = meta.get("annotations") or {}
        present = [c.get("name") for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])]
        if self.status_annotation in annotations or self.name in present:
            return
        resources: dict[str, Any] = {"requests": {"cpu": self.cpu, "memory": self.memory}}
        if self.limits:
            resources["limits"] = dict(self.limits)
        container: dict[str, Any] = {"name": self.name, "image": self.image, "resources": resources}
        if self.native:
            container["restartPolicy"] = "Always"
            spec["initContainers"] = [container, *(spec.get("initContainers") or [])]
        else:
            spec["containers"] = [*(spec.get("containers") or []), container]
        status = {
            "containers": [] if self.native else [self.name],
            "initContainers": [self.name] if self.native else [],
        }
        meta["annotations"] = {**annotations, self.status_annotation: json.dumps(status, sort_keys=True)}
