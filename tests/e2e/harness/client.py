"""A tiny synchronous REST client for tests and the cluster actor: plain dicts in, dicts out.

The official client turns every object into a model class and needs one method per kind; tests
and the actor want raw JSON and one verb per operation, so this wraps ``requests`` instead.

    api = RestClient(apiserver.url)
    api.create(objects.deployment("web", replicas=3))
    api.patch("Deployment", "web", {"spec": {"replicas": 5}}, subresource="scale")
    pods = api.list("Pod", labels="app=web", fields="status.phase=Pending")

Kinds map to resources through :data:`KINDS`; add to it (or pass a path) for others.
"""

from __future__ import annotations

from typing import Any

import requests

# kind -> (apiVersion, plural, namespaced)
KINDS: dict[str, tuple[str, str, bool]] = {
    "Namespace": ("v1", "namespaces", False),
    "Node": ("v1", "nodes", False),
    "Pod": ("v1", "pods", True),
    "Service": ("v1", "services", True),
    "Event": ("v1", "events", True),
    "ConfigMap": ("v1", "configmaps", True),
    "Deployment": ("apps/v1", "deployments", True),
    "StatefulSet": ("apps/v1", "statefulsets", True),
    "ReplicaSet": ("apps/v1", "replicasets", True),
    "DaemonSet": ("apps/v1", "daemonsets", True),
    "CustomResourceDefinition": ("apiextensions.k8s.io/v1", "customresourcedefinitions", False),
    "BurstPolicy": ("burstscaler.io/v1alpha1", "burstpolicies", True),
}

CONTENT_TYPES = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
}


class ApiFailure(Exception):
    """A non-2xx answer; `status` is the HTTP code, `body` the decoded Status (if any)."""

    def __init__(self, status: int, body: Any) -> None:
        message = body.get("message") if isinstance(body, dict) else body
        super().__init__(f"{status}: {message}")
        self.status = status
        self.body = body


class RestClient:
    """Raw-JSON access to a Kubernetes API (one requests.Session; use one client per thread)."""

    def __init__(self, url: str, *, timeout: float = 10, user_agent: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        if user_agent is not None:  # the emulator tells clients apart by it (faults.client_of)
            self.session.headers["User-Agent"] = user_agent

    def path(
        self, kind: str, *, namespace: str | None = None, name: str | None = None, subresource: str | None = None
    ) -> str:
        version, plural, namespaced = KINDS[kind]
        parts = ["api" if "/" not in version else "apis", version]
        if namespaced and namespace is not None:
            parts += ["namespaces", namespace]
        parts.append(plural)
        if name is not None:
            parts.append(name)
        if subresource is not None:
            parts.append(subresource)
        return "/" + "/".join(parts)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        content_type: str = "application/json",
        params: dict[str, str] | None = None,
    ) -> Any:
        response = self.session.request(
            method,
            self.url + path,
            json=body,
            params=params,
            headers={"Content-Type": content_type, "Accept": "application/json"},
            timeout=self.timeout,
        )
        try:
            data = response.json()
        except ValueError:
            data = response.text
        if response.status_code >= 400:
            raise ApiFailure(response.status_code, data)
        return data

    def get(
        self, kind: str, name: str, *, namespace: str | None = "default", subresource: str | None = None
    ) -> dict[str, Any]:
        return self.request("GET", self.path(kind, namespace=_ns(kind, namespace), name=name, subresource=subresource))

    def find(self, kind: str, name: str, *, namespace: str | None = "default") -> dict[str, Any] | None:
        """Like `get`, but None for a missing object."""
        try:
            return self.get(kind, name, namespace=namespace)
        except ApiFailure as e:
            if e.status == 404:
                return None
            raise

    def list(
        self, kind: str, *, namespace: str | None = None, labels: str | None = None, fields: str | None = None
    ) -> list[dict[str, Any]]:
        params = {key: value for key, value in (("labelSelector", labels), ("fieldSelector", fields)) if value}
        return self.request("GET", self.path(kind, namespace=namespace), params=params)["items"]

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        namespace = _ns(obj["kind"], obj.get("metadata", {}).get("namespace", "default"))
        return self.request("POST", self.path(obj["kind"], namespace=namespace), body=obj)

    def replace(self, obj: dict[str, Any], *, subresource: str | None = None) -> dict[str, Any]:
        meta = obj["metadata"]
        namespace = _ns(obj["kind"], meta.get("namespace", "default"))
        return self.request(
            "PUT", self.path(obj["kind"], namespace=namespace, name=meta["name"], subresource=subresource), body=obj
        )

    def patch(
        self,
        kind: str,
        name: str,
        body: Any,
        *,
        namespace: str | None = "default",
        subresource: str | None = None,
        type: str = "merge",
    ) -> dict[str, Any]:
        path = self.path(kind, namespace=_ns(kind, namespace), name=name, subresource=subresource)
        return self.request("PATCH", path, body=body, content_type=CONTENT_TYPES[type])

    def delete(self, kind: str, name: str, *, namespace: str | None = "default", **options: Any) -> dict[str, Any]:
        path = self.path(kind, namespace=_ns(kind, namespace), name=name)
        return self.request("DELETE", path, body=options or None)

    def scale(self, kind: str, name: str, replicas: int, *, namespace: str = "default") -> dict[str, Any]:
        return self.patch(kind, name, {"spec": {"replicas": replicas}}, namespace=namespace, subresource="scale")

    def close(self) -> None:
        self.session.close()


def _ns(kind: str, namespace: str | None) -> str | None:
    return namespace if KINDS[kind][2] else None
