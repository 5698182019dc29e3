"""Placeholder Deployments: sized and placed like a base pod, selected by nothing, owned by the policy;
and the order their scaling takes among a slice's calls (shrink first, create lazily, grow last)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from burstscaler.cluster import apply, objects, placeholders

POLICY = {"apiVersion": "burstscaler.io/v1alpha1", "kind": "BurstPolicy", "metadata": {"name": "web", "uid": "u-1"}}
ANTI_AFFINITY = {
    "podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}
        ]
    }
}
NODE_AFFINITY = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": "pool", "operator": "In", "values": ["ecs"]}]}]
        }
    }
}
SPREAD = [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule"}]
TOLERATIONS = [{"key": "dedicated", "operator": "Equal", "value": "shop", "effect": "NoSchedule"}]


def make_base(name: str = "web", *, kind: str = "Deployment", **pod_spec: Any) -> dict[str, Any]:
    """A base workload with app labels, one container with requests, a volume, ports and env."""
    spec: dict[str, Any] = {
        "serviceAccountName": "web",
        "containers": [
            {
                "name": "web",
                "image": "shop/web:1",
                "ports": [{"containerPort": 8080}],
                "env": [{"name": "MODE", "value": "prod"}],
                "volumeMounts": [{"name": "cache", "mountPath": "/cache"}],
                "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}},
            }
        ],
        "volumes": [{"name": "cache", "emptyDir": {}}],
    }
    spec.update(pod_spec)
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "shop", "labels": {"app": name}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name, "tier": "front"}}, "spec": spec},
        },
    }


def render(base: dict[str, Any], *, replicas: int = 2, **kwargs: Any) -> dict[str, Any]:
    requests = objects.pod_requests(base["spec"]["template"]["spec"])
    return placeholders.render(base, policy=POLICY, requests=requests, replicas=replicas, **kwargs)


@pytest.mark.parametrize(
    ("pod_spec", "field", "expected"),
    [
        pytest.param({"nodeSelector": {"pool": "ecs"}}, "nodeSelector", {"pool": "ecs"}, id="node-selector"),
        pytest.param({"affinity": NODE_AFFINITY}, "affinity", NODE_AFFINITY, id="node-affinity"),
        pytest.param({"affinity": ANTI_AFFINITY}, "affinity", ANTI_AFFINITY, id="pod-anti-affinity"),
        pytest.param({"tolerations": TOLERATIONS}, "tolerations", TOLERATIONS, id="tolerations"),
        pytest.param({"topologySpreadConstraints": SPREAD}, "topologySpreadConstraints", SPREAD, id="spread"),
        pytest.param({"schedulerName": "bin-packer"}, "schedulerName", "bin-packer", id="scheduler"),
        pytest.param({}, "nodeSelector", None, id="nothing-to-copy"),
    ],
)
def test_placement_constraints_are_copied_from_the_base(pod_spec: dict[str, Any], field: str, expected: Any) -> None:
    base = make_base(**pod_spec)
    before = copy.deepcopy(base)
    spec = render(base)["spec"]["template"]["spec"]
    assert spec.get(field) == expected
    assert base == before, "the base is never modified"


@pytest.mark.parametrize(
    ("pod_spec", "requests"),
    [
        pytest.param({}, {"cpu": "500m", "memory": str(2**30)}, id="one-container"),
        pytest.param(
            {
                "containers": [
                    {"name": "a", "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}}},
                    {"name": "b", "resources": {"requests": {"cpu": "250m", "memory": "256Mi", "nvidia.com/gpu": "1"}}},
                ]
            },
            {"cpu": "500m", "memory": str(2**29), "nvidia.com/gpu": "1"},
            id="containers-summed-extended-kept",
        ),
        pytest.param(
            {
                "initContainers": [
                    {"name": "mesh", "restartPolicy": "Always", "resources": {"requests": {"cpu": "100m"}}},
                    {"name": "migrate", "resources": {"requests": {"cpu": "2"}}},
                ]
            },
            {"cpu": "2100m", "memory": str(2**30)},
            id="init-step-with-sidecar-dominates",
        ),
        pytest.param(
            {"containers": [{"name": "a", "resources": {"requests": {"cpu": "0.3333"}}}]},
            {"cpu": "334m"},
            id="fractional-millicores-round-up",
        ),
    ],
)
def test_requests_are_the_base_pods_effective_request_and_limits_equal_them(
    pod_spec: dict[str, Any], requests: dict[str, str]
) -> None:
    container = render(make_base(**pod_spec))["spec"]["template"]["spec"]["containers"]
    assert len(container) == 1
    assert container[0]["resources"] == {"requests": requests, "limits": requests}


def test_nothing_a_service_could_select_and_nothing_the_base_pod_carries() -> None:
    base = make_base(affinity=ANTI_AFFINITY)
    rendered = render(base, image="mirror.local/pause:3.10")
    template = rendered["spec"]["template"]
    assert template["metadata"]["labels"] == {placeholders.PLACEHOLDER_FOR_LABEL: "web"}
    assert rendered["spec"]["selector"] == {"matchLabels": {placeholders.PLACEHOLDER_FOR_LABEL: "web"}}
    assert rendered["metadata"]["labels"] == {placeholders.PLACEHOLDER_FOR_LABEL: "web"}
    spec = template["spec"]
    assert spec["priorityClassName"] == placeholders.PRIORITY_CLASS
    assert spec["automountServiceAccountToken"] is False
    assert spec["enableServiceLinks"] is False
    assert spec["terminationGracePeriodSeconds"] == 0
    assert {"volumes", "serviceAccountName", "initContainers", "hostNetwork"}.isdisjoint(spec)
    (container,) = spec["containers"]
    assert container["image"] == "mirror.local/pause:3.10"
    assert {"ports", "env", "volumeMounts", "command", "args"}.isdisjoint(container)
    assert rendered["spec"]["strategy"] == {"type": "Recreate"}


@pytest.mark.parametrize(
    ("name", "kind", "expected"),
    [
        pytest.param("web", "Deployment", "web-placeholder", id="deployment"),
        pytest.param("db", "StatefulSet", "db-placeholder", id="statefulset-target-gets-a-deployment"),
    ],
)
def test_name_owner_and_kind(name: str, kind: str, expected: str) -> None:
    rendered = render(make_base(name, kind=kind), replicas=3)
    assert (rendered["kind"], rendered["metadata"]["name"], rendered["spec"]["replicas"]) == ("Deployment", expected, 3)
    (owner,) = rendered["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["uid"], owner["controller"]) == ("BurstPolicy", "u-1", True)
    assert placeholders.owned_by(rendered, uid="u-1")
    assert not placeholders.owned_by(rendered, uid="someone-else")
    assert not placeholders.owned_by(rendered, uid="")


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        pytest.param("web", None, id="fine"),
        pytest.param("a" * 241, None, id="longest-that-fits"),
        pytest.param("a" * 242, "over the 253", id="too-long"),
        pytest.param("Web_1", "not a valid Deployment name", id="invalid"),
    ],
)
def test_name_problems_are_reported(target: str, problem: str | None) -> None:
    found = placeholders.name_problem(target)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_a_changed_request_or_constraint_makes_the_existing_one_stale() -> None:
    existing = render(make_base())
    assert not placeholders.is_stale(existing, wanted=render(make_base(), replicas=7)), "replicas are not template"
    assert placeholders.is_stale(existing, wanted=render(make_base(nodeSelector={"pool": "b"})))
    bigger = make_base()
    bigger["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "1"
    assert placeholders.is_stale(existing, wanted=render(bigger))
    assert placeholders.is_stale({"metadata": {}}, wanted=existing)


# -- the order of calls ------------------------------------------------------------------------------

BODY = {"kind": "Deployment", "metadata": {"name": "web-placeholder", "namespace": "shop"}, "spec": {"replicas": 0}}


def targets(**changes: Any) -> apply.Targets:
    values: dict[str, Any] = {
        "kind": "Deployment",
        "namespace": "shop",
        "base_name": "web",
        "base_current": 4,
        "base_target": 4,
        "twin_name": "web-burst",
        "twin_current": 6,
        "twin_target": 6,
        "twin_body": None,
        "placeholder_name": "web-placeholder",
        "placeholder_current": None,
        "placeholder_target": 0,
        "placeholder_body": BODY,
    }
    values.update(changes)
    return apply.Targets(**values)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({}, [], id="none-wanted-none-created"),
        pytest.param({"placeholder_target": 3}, ["create-placeholder web-placeholder to 3"], id="created-lazily"),
        pytest.param({"placeholder_current": 0}, [], id="kept-at-zero-never-deleted"),
        pytest.param(
            {"placeholder_current": 1, "placeholder_target": 3},
            ["scale-placeholder web-placeholder to 3"],
            id="grows",
        ),
        pytest.param(
            {"placeholder_current": 3, "placeholder_target": 1, "base_target": 6, "drain_record": "{}"},
            ["scale-placeholder web-placeholder to 1", "patch-base web to 6"],
            id="shrinks-before-the-base-takes-its-room",
        ),
        pytest.param(
            {"placeholder_current": 0, "placeholder_target": 2, "base_target": 5, "twin_target": 7},
            ["scale-base web to 5", "scale-twin web-burst to 7", "scale-placeholder web-placeholder to 2"],
            id="grows-after-the-workloads",
        ),
        pytest.param(
            {"placeholder_current": 2, "placeholder_target": 2, "placeholder_stale": True},
            ["refresh-placeholder web-placeholder"],
            id="refreshed-when-stale",
        ),
        pytest.param(
            {"placeholder_name": None, "placeholder_target": 3},
            [],
            id="no-bridge-for-a-refused-name",
        ),
    ],
)
def test_placeholder_actions_in_order(changes: dict[str, Any], expected: list[str]) -> None:
    assert [str(action) for action in apply.actions(targets(**changes))] == expected


class FakeWorkloads:
    """The API at its boundary (``kube.Workloads``): records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("create", body["kind"], body["metadata"]["name"], body["spec"]["replicas"]))
        return body

    def scale(self, kind: str, namespace: str, name: str, replicas: int) -> None:
        self.calls.append(("scale", kind, name, replicas))

    def replace_template(self, body: dict[str, Any]) -> None:
        self.calls.append(("replace", body["kind"], body["metadata"]["name"]))


def test_placeholder_calls_are_on_a_deployment_whatever_the_bases_kind() -> None:
    fake = FakeWorkloads()
    planned = [
        apply.Action("create-placeholder", "db-placeholder", replicas=2, body=BODY),
        apply.Action("scale-placeholder", "db-placeholder", replicas=0),
        apply.Action("refresh-placeholder", "db-placeholder", body=BODY),
    ]
    apply.apply(planned, kind="StatefulSet", namespace="shop", workloads=fake)  # type: ignore[arg-type]
    assert fake.calls == [
        ("create", "Deployment", "web-placeholder", 2),
        ("scale", "Deployment", "db-placeholder", 0),
        ("replace", "Deployment", "web-placeholder"),
    ]
