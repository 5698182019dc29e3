"""The Kubernetes calls burstscaler makes on workloads, with retries: read, scale, create, patch.

Synchronous (the official client); the operator runs them in a thread so its event loop never blocks.
There is no delete: an unneeded twin is scaled to 0 and garbage-collected with its policy through its
owner reference, so the operator needs no cluster-wide delete right (issue 12).
Every call burstscaler makes on workloads is here, which is also what the RBAC rules in manifests/
must allow. Transient failures (409 conflicts, 429 throttling with Retry-After, 5xx) are retried with
exponential backoff a few times within a tick; what still fails is raised for the next tick to retry.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import urllib3
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client import exceptions as k8s_exceptions

from burstscaler.api import spec

logger = logging.getLogger(__name__)

T = TypeVar("T")
RETRIED_STATUSES = frozenset({409, 429, 500, 502, 503, 504})
_PLURALS = {"Deployment": "deployments", "StatefulSet": "statefulsets"}


class KubeError(RuntimeError):
    """A Kubernetes call that failed for good (after retries), with the HTTP status."""

    def __init__(self, message: str, *, status: int | None) -> None:
        super().__init__(message)
        self.status = status


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry transient API failures."""

    attempts: int = 4
    base_delay: float = 0.2
    max_delay: float = 5.0
    sleep: Callable[[float], None] = time.sleep


def _retrying(policy: RetryPolicy, description: str, call: Callable[[], T]) -> T:
    delay = policy.base_delay
    for attempt in range(1, policy.attempts + 1):
        try:
            return call()
        except k8s_exceptions.ApiException as error:
            if error.status not in RETRIED_STATUSES or attempt == policy.attempts:
                raise KubeError(f"{description}: {error.status} {error.reason}", status=error.status) from None
            wait = min(policy.max_delay, _retry_after(error) or delay)
            logger.info("%s: %s %s, retrying in %.1fs", description, error.status, error.reason, wait)
            policy.sleep(wait)
            delay = min(policy.max_delay, delay * 2)
        except (ConnectionError, OSError) as error:
            if attempt == policy.attempts:
                raise KubeError(f"{description}: {error}", status=None) from None
            policy.sleep(delay)
            delay = min(policy.max_delay, delay * 2)
    raise AssertionError("unreachable")


def _retry_after(error: k8s_exceptions.ApiException) -> float | None:
    headers = error.headers or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class _Client:
    """Raw-JSON calls with the retries above (the official client's models are not needed)."""

    def __init__(self, api_client: k8s.ApiClient, *, retry: RetryPolicy | None = None) -> None:
        self._api = api_client
        self._retry = retry or RetryPolicy()

    def _call(
        self, method: str, path: str, *, body: Any = None, content_type: str = "application/json"
    ) -> dict[str, Any]:
        def call() -> dict[str, Any]:
            method_, url, headers, body_, _ = self._api.param_serialize(
                method=method,
                resource_path=path,
                header_params={"Accept": "application/json", "Content-Type": content_type},
                body=body,
                auth_settings=["BearerToken"],
            )
            response = self._api.call_api(method_, url, header_params=headers, body=body_, _request_timeout=30)
            data = response.read()
            if not 200 <= response.status < 300:
                raise k8s_exceptions.ApiException(http_resp=response)
            return dict(json.loads(data)) if data else {}

        return _retrying(self._retry, f"{method} {path}", call)


def _same_controller(existing: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    def controller_uid(body: Mapping[str, Any]) -> str | None:
        references = (body.get("metadata") or {}).get("ownerReferences") or []
        return next((str(ref.get("uid")) for ref in references if ref.get("controller") and ref.get("uid")), None)

    uid = controller_uid(wanted)
    return uid is not None and controller_uid(existing) == uid


class Workloads(_Client):
    """Deployments and StatefulSets through the apps/v1 API, as plain dicts."""

    @staticmethod
    def path(kind: str, namespace: str, name: str = "") -> str:
        """The REST path of a workload (or of the collection when `name` is empty)."""
        base = f"/apis/apps/v1/namespaces/{namespace}/{_PLURALS[kind]}"
        return f"{base}/{name}" if name else base

    def read(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """The workload, or None when it does not exist."""
        try:
            return self._call("GET", self.path(kind, namespace, name))
        except KubeError as error:
            if error.status == 404:
                return None
            raise

    def scale(self, kind: str, namespace: str, name: str, replicas: int) -> None:
        """Set spec.replicas through the `scale` subresource (what an HPA would do)."""
        self._call(
            "PATCH",
            self.path(kind, namespace, name) + "/scale",
            body={"spec": {"replicas": int(replicas)}},
            content_type="application/merge-patch+json",
        )

    def patch(self, kind: str, namespace: str, name: str, merge_patch: Mapping[str, Any]) -> None:
        """A JSON merge patch on the workload itself (spec and metadata in one atomic request)."""
        self._call(
            "PATCH",
            self.path(kind, namespace, name),
            body=dict(merge_patch),
            content_type="application/merge-patch+json",
        )

    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a workload; if it already exists with the same controlling owner (a restart raced us),
        return the existing one. An existing object owned by anyone else is a 409 ``KubeError``: it is
        never taken for ours."""
        metadata = body["metadata"]
        try:
            return self._call("POST", self.path(str(body["kind"]), metadata["namespace"]), body=dict(body))
        except KubeError as error:
            if error.status == 409:
                existing = self.read(str(body["kind"]), metadata["namespace"], metadata["name"])
                if existing is not None and _same_controller(existing, body):
                    return existing
            raise

    def replace_template(self, twin: Mapping[str, Any]) -> None:
        """Make an existing twin's template, selector-free spec fields and annotations those of `twin`.

        A JSON patch replaces the template whole: a merge patch would keep fields the base dropped.
        """
        metadata = twin["metadata"]
        operations = [
            {"op": "replace", "path": "/spec/template", "value": twin["spec"]["template"]},
            {"op": "add", "path": "/metadata/annotations", "value": metadata.get("annotations", {})},
        ]
        self._call(
            "PATCH",
            self.path(str(twin["kind"]), metadata["namespace"], metadata["name"]),
            body=operations,
            content_type="application/json-patch+json",
        )

    def orphan(self, kind: str, namespace: str, name: str, *, why: str) -> None:
        """Drop a workload's owner references (it outlives its policy), noting why in an annotation."""
        self._call(
            "PATCH",
            self.path(kind, namespace, name),
            body={"metadata": {"ownerReferences": None, "annotations": {"burstscaler.io/orphaned": why}}},
            content_type="application/merge-patch+json",
        )


class Policies(_Client):
    """The status subresource of BurstPolicies.

    The operator writes status here rather than through Kopf's ``patch``: Kopf applies a timer's patch
    after the handler returns, and when that request fails for good (a 409 or 422, or 5xx/429 for
    longer than Kopf's retries) the exception ends the timer task, which Kopf then never restarts, so
    the policy would not be planned again until the operator restarts. Here a failed write is the
    caller's to log; the next tick writes the status again.
    """

    @staticmethod
    def status_path(namespace: str, name: str) -> str:
        """The REST path of a BurstPolicy's status."""
        return f"/apis/{spec.API_GROUP}/{spec.API_VERSION}/namespaces/{namespace}/{spec.PLURAL}/{name}/status"

    def patch_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        """A JSON merge patch of ``status``; a policy already gone is fine."""
        try:
            self._call(
                "PATCH",
                self.status_path(namespace, name),
                body={"status": dict(status)},
                content_type="application/merge-patch+json",
            )
        except KubeError as error:
            if error.status != 404:
                raise


# -- start-up probes (issue 17): what a new user meets first, as one line naming what to do ---------------

#: How long one start-up probe may take; the operator's own client then uses Kopf's and kubernetes' defaults.
PROBE_TIMEOUT_SECONDS = 10.0


class StartupError(Exception):
    """A start-up failure a person can act on: ``str()`` is one line naming what was tried and what to do."""


def load_cluster_config() -> str:
    """Load in-cluster credentials, else the current kubeconfig context; return where the API server is.

    Raises StartupError when neither is there (a laptop with no cluster configured).
    """
    try:
        k8s_config.load_incluster_config()
        return "in-cluster service account"
    except k8s_config.ConfigException as in_cluster:
        kubeconfig = os.environ.get("KUBECONFIG") or "~/.kube/config"
        try:
            k8s_config.load_kube_config()
        except (k8s_config.ConfigException, OSError, ValueError, yaml.YAMLError) as error:
            raise StartupError(
                f"no Kubernetes configuration: not in a cluster ({in_cluster}) and no usable kubeconfig at "
                f"{kubeconfig} ({_one_line(error)}); set KUBECONFIG or `kubectl config use-context` to a cluster"
            ) from error
        try:
            _, active = k8s_config.list_kube_config_contexts()
            return f"kubeconfig {kubeconfig}, context {active['name']!r}"
        except (k8s_config.ConfigException, KeyError, TypeError):
            return f"kubeconfig {kubeconfig}"


def check_api_server(*, source: str, namespaces: tuple[str, ...] = ()) -> None:
    """Ask the API server for one BurstPolicy: it answers, accepts the credentials, and serves the CRD.

    Raises StartupError saying which of the three failed. Uses its own client without retries so an
    unreachable server fails within one timeout.
    """
    configuration = k8s.Configuration.get_default_copy()
    configuration.retries = 0
    host = configuration.host
    api = k8s.CustomObjectsApi(k8s.ApiClient(configuration))
    where = f"the Kubernetes API server at {host} ({source})"
    try:
        if namespaces:
            api.list_namespaced_custom_object(
                spec.API_GROUP,
                spec.API_VERSION,
                namespaces[0],
                spec.PLURAL,
                limit=1,
                _request_timeout=PROBE_TIMEOUT_SECONDS,
            )
        else:
            api.list_cluster_custom_object(
                spec.API_GROUP, spec.API_VERSION, spec.PLURAL, limit=1, _request_timeout=PROBE_TIMEOUT_SECONDS
            )
    except urllib3.exceptions.HTTPError as error:
        raise StartupError(
            f"cannot reach {where}: {_one_line(getattr(error, 'reason', None) or error)}; check that the cluster "
            "is up and the context's server address (`kubectl cluster-info`)"
        ) from error
    except k8s.ApiException as error:
        resource = f"{spec.PLURAL}.{spec.API_GROUP}"
        if error.status == 401:
            raise StartupError(
                f"{where} refused the credentials (HTTP 401 Unauthorized); renew them (log in to the cluster again, "
                "or refresh the kubeconfig's token or certificate) and check with `kubectl get nodes`"
            ) from error
        if error.status == 403:
            raise StartupError(
                f"{where} forbids listing {resource} (HTTP 403 Forbidden); apply the operator's RBAC "
                "(`kubectl apply -k manifests/base`) or run as an identity bound to it"
            ) from error
        if error.status == 404:
            raise StartupError(
                f"the BurstPolicy CRD ({resource}) is not installed on {where}; install it with "
                "`burstscaler crd | kubectl apply -f -` (or `kubectl apply -k manifests/base`)"
            ) from error
        raise StartupError(
            f"{where} answered HTTP {error.status} {error.reason} listing {resource}; check `kubectl get {resource}`"
        ) from error


def default_client() -> k8s.ApiClient:
    """An API client on the configuration ``load_cluster_config`` loaded."""
    return k8s.ApiClient()


def _one_line(error: object) -> str:
    return " ".join(str(error).split())
