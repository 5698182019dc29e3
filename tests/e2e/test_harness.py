"""The harness itself: the emulator speaks Kubernetes to kubectl, the official client and Kopf,
and the cluster actor schedules, starts and scales pods as the real control plane would."""

from __future__ import annotations

import json
import subprocess
import threading
from typing import Any

import kopf
import kopf.testing
import pytest
import requests

from .harness import actor, admission, client, hosting, objects
from .harness import apiserver as apiserver_module
from .harness.waiting import eventually

pytestmark = pytest.mark.e2e


def kubectl(apiserver: hosting.ApiServer, *args: str, input: str | None = None) -> str:
    result = subprocess.run(
        ["kubectl", "--kubeconfig", str(apiserver.kubeconfig), *args],
        capture_output=True,
        text=True,
        input=input,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


# -- kubectl -----------------------------------------------------------------------------------


def test_kubectl_applies_gets_and_scales_a_deployment(apiserver: hosting.ApiServer, api: client.RestClient) -> None:
    manifest = json.dumps(objects.deployment("web", replicas=2))
    # kubectl validates against /openapi/v3, which the emulator does not serve.
    assert "created" in kubectl(apiserver, "apply", "--validate=false", "-f", "-", input=manifest)
    assert "web" in kubectl(apiserver, "get", "deploy")
    assert "scaled" in kubectl(apiserver, "scale", "deploy/web", "--replicas=5")
    assert kubectl(apiserver, "get", "deploy/web", "-o", "jsonpath={.spec.replicas}/{.metadata.generation}") == "5/2"
    assert "configured" in kubectl(
        apiserver, "apply", "--validate=false", "-f", "-", input=manifest.replace("nginx:1.27", "nginx:1.28")
    )
    assert api.get("Deployment", "web")["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"


def test_kubectl_get_bp_shows_the_printer_columns(apiserver: hosting.ApiServer, api: client.RestClient) -> None:
    api.create(objects.burst_policy("web", target="web"))
    api.patch(
        "BurstPolicy",
        "web",
        {"status": {"desiredReplicas": 7, "baseReplicas": 4, "burstReplicas": 3}},
        subresource="status",
    )
    header, row = kubectl(apiserver, "get", "bp").splitlines()
    assert header.split()[:5] == ["NAME", "TARGET", "DESIRED", "BASE", "BURST"]
    assert row.split()[:5] == ["web", "web", "7", "4", "3"]


# -- the official client -----------------------------------------------------------------------


def test_official_client_lists_watches_patches_and_scales(apiserver: hosting.ApiServer, api: client.RestClient) -> None:
    import kubernetes

    api_client = apiserver.kubernetes_client()
    apps = kubernetes.client.AppsV1Api(api_client)
    core = kubernetes.client.CoreV1Api(api_client)
    apps.create_namespaced_deployment("default", objects.deployment("web", replicas=1))
    listing = apps.list_namespaced_deployment("default", label_selector="app=web")
    assert [d.metadata.name for d in listing.items] == ["web"]
    assert core.list_namespace().items[0].metadata.name == "default"

    apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 4}})
    scale = apps.read_namespaced_deployment_scale("web", "default")
    assert (scale.kind, scale.spec.replicas) == ("Scale", 4)
    apps.patch_namespaced_deployment("web", "default", {"metadata": {"labels": {"tier": "base"}}})

    watch = kubernetes.watch.Watch()
    events = watch.stream(
        apps.list_namespaced_deployment,
        "default",
        resource_version=listing.metadata.resource_version,
        timeout_seconds=1,
    )
    seen = [(event["type"], event["object"].spec.replicas) for event in events]
    assert seen == [("MODIFIED", 4), ("MODIFIED", 4)]  # only what happened after the listing


# -- resourceVersion, generation, optimistic concurrency -----------------------------------------


def test_resource_version_and_generation_follow_the_real_rules(api: client.RestClient) -> None:
    created = api.create(objects.deployment("web"))
    meta = created["metadata"]
    assert meta["generation"] == 1 and meta["uid"] and meta["creationTimestamp"]
    rv = int(meta["resourceVersion"])

    status = api.patch("Deployment", "web", {"status": {"replicas": 1}}, subresource="status")
    assert int(status["metadata"]["resourceVersion"]) > rv and status["metadata"]["generation"] == 1
    ignored = api.patch("Deployment", "web", {"status": {"replicas": 9}})  # the main resource keeps status
    assert ignored["status"]["replicas"] == 1
    spec = api.patch("Deployment", "web", {"spec": {"replicas": 3}})
    assert spec["metadata"]["generation"] == 2
    same = api.patch("Deployment", "web", {"spec": {"replicas": 3}})
    assert same["metadata"]["resourceVersion"] == spec["metadata"]["resourceVersion"]  # no-op: no new version

    stale = {"metadata": {"resourceVersion": meta["resourceVersion"]}, "spec": {"replicas": 4}}
    with pytest.raises(client.ApiFailure) as conflict:
        api.patch("Deployment", "web", stale)
    assert conflict.value.status == 409
    test_op = [{"op": "test", "path": "/metadata/resourceVersion", "value": meta["resourceVersion"]}]
    with pytest.raises(client.ApiFailure) as invalid:
        api.patch(
            "Deployment", "web", [*test_op, {"op": "add", "path": "/metadata/finalizers", "value": ["x"]}], type="json"
        )
    assert invalid.value.status == 422


def test_generate_name_and_selectors(api: client.RestClient) -> None:
    for phase in ("Pending", "Running"):
        pod = api.create(
            {
                "kind": "Pod",
                "metadata": {"generateName": "web-", "labels": {"app": "web", "phase": phase}},
                "spec": {"containers": []},
            }
        )
        assert pod["metadata"]["name"].startswith("web-") and len(pod["metadata"]["name"]) == 9
        if phase == "Running":
            api.patch("Pod", pod["metadata"]["name"], {"status": {"phase": "Running"}}, subresource="status")
    assert len(api.list("Pod", labels="app=web,phase in (Running,Other)")) == 1
    assert len(api.list("Pod", labels="app=web,phase!=Running")) == 1
    assert len(api.list("Pod", fields="status.phase=Running")) == 1
    assert len(api.list("Pod", fields="spec.nodeName=")) == 2
    assert api.request("GET", "/api/v1/pods")["kind"] == "PodList"


def test_watch_sends_only_newer_events_and_ends_at_its_timeout(
    apiserver: hosting.ApiServer, api: client.RestClient
) -> None:
    api.create(objects.deployment("old"))
    rv = api.request("GET", "/apis/apps/v1/deployments")["metadata"]["resourceVersion"]
    api.create(objects.deployment("new"))
    api.create(objects.service("ignored"))
    params = {"watch": "true", "resourceVersion": rv, "timeoutSeconds": "1"}
    response = requests.get(f"{apiserver.url}/apis/apps/v1/deployments", params=params, timeout=10)
    events = [json.loads(line) for line in response.text.splitlines() if line]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "new")]

    response = requests.get(
        f"{apiserver.url}/apis/apps/v1/deployments", params={"watch": "true", "timeoutSeconds": "1"}, timeout=10
    )
    names = sorted(json.loads(line)["object"]["metadata"]["name"] for line in response.text.splitlines() if line)
    assert names == ["new", "old"]


def test_discovery_and_healthz(apiserver: hosting.ApiServer) -> None:
    assert requests.get(f"{apiserver.url}/api/v1", timeout=5).json()["groupVersion"] == "v1"
    assert requests.get(f"{apiserver.url}/healthz", timeout=5).text == "ok"
    resources = requests.get(f"{apiserver.url}/apis/burstscaler.io/v1alpha1", timeout=5).json()["resources"]
    assert {"burstpolicies", "burstpolicies/status"} <= {r["name"] for r in resources}


# -- finalizers and garbage collection ---------------------------------------------------------


def test_finalizers_hold_deletion_and_owned_objects_are_collected(
    api: client.RestClient, cluster_actor: actor.ClusterActor, clock: actor.ManualClock
) -> None:
    api.create(objects.ecs_node("ecs-1"))
    policy = api.create(
        {
            **objects.burst_policy("web", target="web"),
            "metadata": {"name": "web", "finalizers": ["burstscaler.io/twin"]},
        }
    )
    twin = objects.deployment("web-burst", replicas=2)
    twin["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "burstscaler.io/v1alpha1",
            "kind": "BurstPolicy",
            "name": "web",
            "uid": policy["metadata"]["uid"],
            "controller": True,
        }
    ]
    api.create(twin)
    cluster_actor.step()
    assert len(api.list("Pod", labels="app=web-burst")) == 2

    deleting = api.delete("BurstPolicy", "web")
    assert deleting["metadata"]["deletionTimestamp"]
    assert api.find("Deployment", "web-burst") is not None  # the owner still exists
    with pytest.raises(client.ApiFailure) as forbidden:
        api.patch("BurstPolicy", "web", {"metadata": {"finalizers": ["burstscaler.io/twin", "another"]}})
    assert forbidden.value.status == 422

    api.patch("BurstPolicy", "web", {"metadata": {"finalizers": None}})
    assert api.find("BurstPolicy", "web") is None
    assert api.find("Deployment", "web-burst") is None
    assert api.list("ReplicaSet") == []  # the cascade went all the way down, to the pods' graceful deletion
    assert all(pod["metadata"]["deletionTimestamp"] for pod in api.list("Pod"))
    cluster_actor.step()
    clock.advance(actor.DEFAULT_GRACE_SECONDS)
    cluster_actor.step()  # the kubelet removes them once their grace period is over
    assert api.list("Pod") == []


def test_fault_injection_fails_then_recovers(apiserver: hosting.ApiServer, api: client.RestClient) -> None:
    api.create(objects.deployment("web"))
    fault = apiserver.faults.arm("PATCH", r".*/deployments/web/scale", status=429, retry_after=2, count=2, client="any")
    for _ in range(2):
        response = requests.patch(
            f"{apiserver.url}/apis/apps/v1/namespaces/default/deployments/web/scale",
            json={"spec": {"replicas": 3}},
            headers={"Content-Type": "application/merge-patch+json"},
            timeout=5,
        )
        assert (response.status_code, response.headers["Retry-After"]) == (429, "2")
    assert api.get("Deployment", "web")["spec"]["replicas"] == 1  # the rejected writes changed nothing
    assert api.scale("Deployment", "web", 3)["spec"]["replicas"] == 3
    assert fault.hits == 2


# -- the cluster actor -------------------------------------------------------------------------


def test_actor_binds_with_the_scheduler_model_and_leaves_the_rest_pending(
    api: client.RestClient, cluster_actor: actor.ClusterActor
) -> None:
    api.create(objects.ecs_node("ecs-a", cpu="2", memory="8Gi"))
    api.create(objects.ecs_node("ecs-b", cpu="1", memory="8Gi"))
    api.create(objects.virtual_node())
    api.create(objects.deployment("web", replicas=4, cpu="1", memory="1Gi"))
    cluster_actor.step()

    pods = api.list("Pod", labels="app=web")
    placement = sorted(pod["spec"].get("nodeName", "") for pod in pods)
    assert placement == ["", "ecs-a", "ecs-a", "ecs-b"]  # no toleration: the virtual node is out
    pending = next(pod for pod in pods if not pod["spec"].get("nodeName"))
    condition = pending["status"]["conditions"][0]
    assert (condition["type"], condition["status"], condition["reason"]) == ("PodScheduled", "False", "Unschedulable")
    assert condition["message"] == (  # kube-scheduler sorts the "<count> <reason>" strings
        "0/3 nodes are available: 1 node(s) had untolerated taint {virtual-kubelet.io/provider: alibabacloud}, "
        "2 Insufficient cpu."
    )

    burst = objects.deployment(
        "web-burst",
        replicas=3,
        cpu="1",
        tolerations=[objects.ECI_TOLERATION],
        node_selector={"type": "virtual-kubelet"},
    )
    api.create(burst)
    cluster_actor.step()
    assert {pod["spec"]["nodeName"] for pod in api.list("Pod", labels="app=web-burst")} == {
        "virtual-kubelet-cn-hangzhou-k"
    }


def test_actor_readies_pods_after_the_start_up_delay_of_their_node_kind(
    api: client.RestClient, cluster_actor: actor.ClusterActor, clock: actor.ManualClock
) -> None:
    api.create(objects.ecs_node("ecs-a"))
    api.create(objects.virtual_node())
    api.create(objects.deployment("base", replicas=1))
    api.create(
        objects.deployment(
            "burst", replicas=1, tolerations=[objects.ECI_TOLERATION], node_selector={"type": "virtual-kubelet"}
        )
    )

    def ready() -> dict[str, int]:
        cluster_actor.step()
        return {name: api.get("Deployment", name)["status"].get("readyReplicas", 0) for name in ("base", "burst")}

    assert ready() == {"base": 0, "burst": 0}
    clock.advance(2.0)  # the ECS delay
    assert ready() == {"base": 1, "burst": 0}
    clock.advance(3.0)  # the virtual node's longer delay
    assert ready() == {"base": 1, "burst": 1}
    status = api.get("Deployment", "base")["status"]
    assert status == status | {"replicas": 1, "updatedReplicas": 1, "availableReplicas": 1, "observedGeneration": 1}


def test_actor_scales_in_pending_then_unready_then_cheaper_then_newer(
    api: client.RestClient, cluster_actor: actor.ClusterActor, clock: actor.ManualClock
) -> None:
    api.create(objects.ecs_node("ecs-a", cpu="4"))
    api.create(objects.deployment("web", replicas=4, cpu="1"))
    cluster_actor.step()
    clock.advance(2.0)
    cluster_actor.step()
    pods = sorted(api.list("Pod", labels="app=web"), key=lambda pod: pod["metadata"]["name"])
    cheap, dear = pods[0]["metadata"]["name"], pods[1]["metadata"]["name"]
    api.patch("Pod", cheap, {"metadata": {"annotations": {actor.DELETION_COST: "-100"}}})
    api.patch("Pod", dear, {"metadata": {"annotations": {actor.DELETION_COST: "100"}}})
    api.scale("Deployment", "web", 6)  # two more, which cannot fit and stay Pending
    cluster_actor.step()
    assert len(api.list("Pod", fields="spec.nodeName=")) == 2

    api.scale("Deployment", "web", 3)
    cluster_actor.step()
    pods = api.list("Pod", labels="app=web")
    names = {pod["metadata"]["name"] for pod in pods if not pod["metadata"].get("deletionTimestamp")}
    assert len(names) == 3 and cheap not in names and dear in names  # pending ones first, then the cheap one
    assert len(pods) == 4, "the pending ones went at once; the cheap one terminates in its grace period"


def test_actor_runs_statefulsets_by_ordinal(api: client.RestClient, cluster_actor: actor.ClusterActor) -> None:
    cluster_actor.termination_seconds = 0.0
    api.create(objects.ecs_node("ecs-a"))
    sts = objects.statefulset("db", replicas=3)
    sts["spec"]["podManagementPolicy"] = "Parallel"  # OrderedReady: tests/e2e/test_actor_controllers.py
    api.create(sts)
    cluster_actor.step()
    assert sorted(pod["metadata"]["name"] for pod in api.list("Pod")) == ["db-0", "db-1", "db-2"]
    api.scale("StatefulSet", "db", 1)
    cluster_actor.step()  # deleted (terminating), then removed by the kubelet at once
    assert [pod["metadata"]["name"] for pod in api.list("Pod")] == ["db-0"]


def test_actor_background_loop_converges(api: client.RestClient, cluster_actor: actor.ClusterActor) -> None:
    api.create(objects.ecs_node("ecs-a"))
    cluster_actor.startup_delay = {"ecs": 0.0, "virtual": 0.0}
    cluster_actor.start()
    api.create(objects.deployment("web", replicas=2))
    eventually(lambda: api.get("Deployment", "web")["status"].get("readyReplicas") == 2, message="2 ready replicas")


# -- Kopf end to end ---------------------------------------------------------------------------


def test_kopf_adds_a_finalizer_and_patches_status(apiserver: hosting.ApiServer, api: client.RestClient) -> None:
    registry = kopf.OperatorRegistry()
    handled = threading.Event()

    @kopf.on.login(registry=registry)
    def login(**kwargs: object) -> kopf.ConnectionInfo | None:
        return kopf.login_with_kubeconfig(**kwargs)

    @kopf.on.create("burstscaler.io", "v1alpha1", "burstpolicies", registry=registry)
    def created(spec: kopf.Spec, patch: kopf.Patch, **_: object) -> None:
        patch.status["desiredReplicas"] = 3
        handled.set()

    @kopf.on.delete("burstscaler.io", "v1alpha1", "burstpolicies", registry=registry)
    def deleted(**_: object) -> None:
        pass

    args = ["run", "--standalone", "--namespace=default", "--verbose"]
    with kopf.testing.KopfRunner(args, registry=registry, timeout=30) as runner:
        api.create(objects.burst_policy("web", target="web"))
        eventually(
            lambda: api.get("BurstPolicy", "web").get("status", {}).get("desiredReplicas") == 3,
            timeout=20,
            message="status patched",
        )
        policy = api.get("BurstPolicy", "web")
        assert policy["metadata"]["finalizers"] == ["kopf.zalando.org/KopfFinalizerMarker"]
        api.delete("BurstPolicy", "web")
        eventually(lambda: api.find("BurstPolicy", "web") is None, timeout=20, message="finalizer released")
    assert runner.exception is None, runner.output
    assert handled.is_set()
    assert apiserver.call(lambda emulator: emulator.requests_by_client["operator"]) > 0, (
        "Kopf's User-Agent is the operator's"
    )


def test_put_replaces_objects_status_and_scale(api: client.RestClient) -> None:
    created = api.create(objects.deployment("web", replicas=1))
    replaced = api.replace({**created, "spec": {**created["spec"], "replicas": 2}})
    assert (replaced["spec"]["replicas"], replaced["metadata"]["generation"]) == (2, 2)
    with pytest.raises(client.ApiFailure) as stale:
        api.replace(created)  # carries the old resourceVersion
    assert stale.value.status == 409
    scale = api.get("Deployment", "web", subresource="scale")
    assert scale["status"]["selector"] == "app=web"
    path = api.path("Deployment", namespace="default", name="web", subresource="scale")
    api.request("PUT", path, body={**scale, "spec": {"replicas": 5}})
    assert api.get("Deployment", "web")["spec"]["replicas"] == 5
    current = api.get("Deployment", "web")
    api.replace({**current, "status": {"replicas": 5}}, subresource="status")
    assert api.get("Deployment", "web")["status"] == {"replicas": 5}


def test_delayed_requests_are_served_after_the_delay(apiserver: hosting.ApiServer, api: client.RestClient) -> None:
    fault = apiserver.faults.arm("GET", r"/apis/apps/v1/namespaces/default/deployments", delay=0.2, client="test")
    assert api.list("Deployment", namespace="default") == []
    assert fault.hits == 1 and fault.remaining == 0


# -- the BurstPolicy status against the CRD's structural schema ------------------------------------


@pytest.mark.parametrize(
    ("status", "stored"),
    [
        pytest.param({"desiredReplicas": 3, "bogus": 1}, {"desiredReplicas": 3}, id="unknown-field-pruned"),
        pytest.param(
            {"conditions": [{"type": "Ready", "status": "True", "reason": "Ok", "extra": "x"}]},
            {"conditions": [{"type": "Ready", "status": "True", "reason": "Ok", "message": ""}]},
            id="pruned-and-defaulted-inside-a-list",
        ),
        pytest.param(
            {"lastDecision": {"time": "2026-01-01T00:00:00Z", "reason": "Steady", "inputs": {"anything": [1]}}},
            {
                "lastDecision": {
                    "time": "2026-01-01T00:00:00Z",
                    "reason": "Steady",
                    "inputs": {"anything": [1]},
                    "message": "",
                }
            },
            id="preserve-unknown-fields-kept",
        ),
        pytest.param({"twin": None}, {"twin": None}, id="nullable-null-kept"),
        pytest.param({"conditions": None, "twin": "web-burst"}, {"twin": "web-burst"}, id="non-nullable-null-pruned"),
    ],
)
def test_status_writes_are_pruned_and_defaulted_as_the_crd_says(
    api: client.RestClient, status: dict[str, object], stored: dict[str, object]
) -> None:
    api.create(objects.burst_policy("web", target="web", maxReplicas=5))
    path = api.path("BurstPolicy", namespace="default", name="web", subresource="status")
    current = api.get("BurstPolicy", "web")
    written = api.request("PUT", path, body={**current, "status": status})
    assert written["status"] == stored
    assert api.get("BurstPolicy", "web")["status"] == stored


@pytest.mark.parametrize(
    ("status", "field", "message"),
    [
        pytest.param(
            {"desiredReplicas": "seven"},
            "status.desiredReplicas",
            'status.desiredReplicas in body must be of type integer: "string"',
            id="string-for-integer",
        ),
        pytest.param(
            {"baseReplicas": 1.5},
            "status.baseReplicas",
            'status.baseReplicas in body must be of type integer: "number"',
            id="float-for-integer",
        ),
        pytest.param(
            {"conditions": [{"type": "Sleepy", "status": "True", "reason": "X"}]},
            "status.conditions[0].type",
            'Unsupported value: "Sleepy"',
            id="enum",
        ),
        pytest.param({"lastDrainTime": "yesterday"}, "status.lastDrainTime", "date-time", id="date-time-format"),
        pytest.param({"cost": {"eciCost": "-1"}}, "status.cost.eciCost", "does not match", id="pattern"),
    ],
)
def test_a_status_the_real_server_refuses_gets_422(
    api: client.RestClient, status: dict[str, object], field: str, message: str
) -> None:
    api.create(objects.burst_policy("web", target="web", maxReplicas=5))
    before = api.get("BurstPolicy", "web")
    with pytest.raises(client.ApiFailure) as refused:
        api.patch("BurstPolicy", "web", {"status": status}, subresource="status")
    assert (refused.value.status, refused.value.body["reason"]) == (422, "Invalid")
    (cause,) = refused.value.body["details"]["causes"]
    assert cause["field"] == field and message in cause["message"]
    assert refused.value.body["message"].startswith('BurstPolicy.burstscaler.io "web" is invalid: ')
    assert api.get("BurstPolicy", "web")["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_the_request_log_is_bounded_and_reactions_still_route(
    apiserver: hosting.ApiServer, api: client.RestClient
) -> None:
    def react(emulator: apiserver_module.Emulator) -> None:
        emulator["get /hello"] << b"hi"

    apiserver.call(react)
    for _ in range(100):
        api.list("Node")
    assert requests.get(f"{apiserver.url}/hello", timeout=5).text == "hi"
    assert api.list("Namespace")  # the path KMock cannot parse, swapped in the (trimmed) log
    size = apiserver.call(lambda emulator: len(emulator._requests))
    assert size <= apiserver.emulator.request_log_size + 1  # trimmed before the newest is appended


# -- admission: a mesh's sidecar injector -----------------------------------------------------


def mesh_pod(name: str, *, namespace: str = "default", labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {"app": name}},
        "spec": {"containers": [{"name": "app", "image": "app:1", "resources": {"requests": {"cpu": "400m"}}}]},
    }


@pytest.mark.parametrize(
    ("injector", "pod", "expected"),
    [
        pytest.param(admission.SidecarInjector(), mesh_pod("a"), ["app", "istio-proxy"], id="every-pod-by-default"),
        pytest.param(
            admission.SidecarInjector(namespaces=frozenset({"mesh"})), mesh_pod("a"), ["app"], id="other-namespace"
        ),
        pytest.param(
            admission.SidecarInjector(namespaces=frozenset({"mesh"})),
            mesh_pod("a", namespace="mesh"),
            ["app", "istio-proxy"],
            id="its-namespace",
        ),
        pytest.param(
            admission.SidecarInjector(selector={"mesh": "on"}),
            mesh_pod("a", labels={"mesh": "on"}),
            ["app", "istio-proxy"],
            id="object-selector-matches",
        ),
        pytest.param(
            admission.SidecarInjector(selector={"mesh": "on"}), mesh_pod("a"), ["app"], id="object-selector-misses"
        ),
        pytest.param(
            admission.SidecarInjector(native=True), mesh_pod("a"), ["init:istio-proxy", "app"], id="native-sidecar"
        ),
    ],
)
def test_a_sidecar_injector_mutates_pods_in_its_scope_at_creation(
    apiserver: hosting.ApiServer,
    api: client.RestClient,
    injector: admission.SidecarInjector,
    pod: dict[str, Any],
    expected: list[str],
) -> None:
    apiserver.admit_with(injector)
    created = api.create(pod)
    spec = created["spec"]
    names = [f"init:{c['name']}" for c in spec.get("initContainers") or []] + [c["name"] for c in spec["containers"]]
    assert names == expected
    injected = [c for c in (spec.get("initContainers") or []) + spec["containers"] if c["name"] == "istio-proxy"]
    for sidecar in injected:
        assert sidecar["resources"]["requests"] == {"cpu": "100m", "memory": "128Mi"}
        assert sidecar.get("restartPolicy") == ("Always" if injector.native else None)
    opted_out = mesh_pod("b", namespace=pod["metadata"]["namespace"], labels=pod["metadata"]["labels"])
    opted_out["metadata"]["annotations"] = {admission.ISTIO_INJECT_ANNOTATION: "false"}
    assert [c["name"] for c in api.create(opted_out)["spec"]["containers"]] == ["app"]


def test_a_pod_injected_already_is_not_injected_twice(apiserver: hosting.ApiServer, api: client.RestClient) -> None:
    injector = admission.SidecarInjector()
    apiserver.admit_with(injector)
    apiserver.admit_with(injector)  # two webhooks of the same mesh (a re-invocation)
    assert [c["name"] for c in api.create(mesh_pod("a"))["spec"]["containers"]] == ["app", "istio-proxy"]


@pytest.mark.parametrize("native", [pytest.param(False, id="sidecar-container"), pytest.param(True, id="native")])
def test_the_actor_schedules_admitted_pods_with_their_sidecars_requests(
    apiserver: hosting.ApiServer, api: client.RestClient, cluster_actor: actor.ClusterActor, native: bool
) -> None:
    apiserver.admit_with(admission.SidecarInjector(native=native))  # 100m: four 500m pods fit 2 CPU, not 600m
    api.create(objects.ecs_node("ecs-a", cpu="2"))
    deploy = objects.deployment("web", replicas=4, cpu="500m")
    api.create(deploy)
    cluster_actor.step()
    pods = api.list("Pod", labels="app=web")
    assert sorted(pod["spec"].get("nodeName", "") for pod in pods) == ["", "ecs-a", "ecs-a", "ecs-a"]
    template = api.get("Deployment", "web")["spec"]["template"]["spec"]
    assert [c["name"] for c in template["containers"]] == ["app"] and "initContainers" not in template


def test_a_sidecar_injector_refuses_a_namespace_string() -> None:
    with pytest.raises(ValueError, match="namespaces"):
        admission.SidecarInjector(namespaces="mesh")  # type: ignore[arg-type]


# -- garbage collection with propagation policies -----------------------------------------------


def owned_chain(api: client.RestClient, cluster_actor: actor.ClusterActor) -> dict[str, Any]:
    """A Deployment with 2 running pods (its ReplicaSet between), plus a non-blocking ConfigMap it owns."""
    api.create(objects.ecs_node("ecs-1"))
    deploy = api.create(objects.deployment("web", replicas=2))
    cluster_actor.step()
    cluster_actor.step()
    ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": deploy["metadata"]["uid"]}
    api.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "notes", "namespace": "default", "ownerReferences": [ref]},
        }
    )
    assert len(api.list("Pod", labels="app=web")) == 2 and len(api.list("ReplicaSet")) == 1
    return deploy


def test_background_deletion_removes_the_owner_then_its_dependents(
    api: client.RestClient, cluster_actor: actor.ClusterActor
) -> None:
    owned_chain(api, cluster_actor)
    api.delete("Deployment", "web", propagationPolicy="Background")
    assert api.find("Deployment", "web") is None and api.list("ReplicaSet") == []
    assert api.find("ConfigMap", "notes") is None
    assert all(pod["metadata"]["deletionTimestamp"] for pod in api.list("Pod")), "pods terminate gracefully"


@pytest.mark.parametrize(
    "options",
    [pytest.param({"propagationPolicy": "Orphan"}, id="orphan"), pytest.param({"orphanDependents": True}, id="legacy")],
)
def test_orphan_deletion_strips_the_owner_references(
    api: client.RestClient, cluster_actor: actor.ClusterActor, options: dict[str, Any]
) -> None:
    deploy = owned_chain(api, cluster_actor)
    api.delete("Deployment", "web", **options)
    assert api.find("Deployment", "web") is None
    (rs,) = api.list("ReplicaSet")
    assert not rs["metadata"].get("ownerReferences"), "the ReplicaSet no longer names its owner"
    assert not api.find("ConfigMap", "notes")["metadata"].get("ownerReferences")
    pods = api.list("Pod", labels="app=web")
    assert len(pods) == 2 and not any(pod["metadata"].get("deletionTimestamp") for pod in pods)
    assert all(pod["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"] for pod in pods)
    assert deploy["metadata"]["uid"] not in json.dumps(api.list("ReplicaSet") + pods)


def test_foreground_deletion_keeps_the_owner_until_blocking_dependents_are_gone(
    api: client.RestClient, cluster_actor: actor.ClusterActor, clock: actor.ManualClock
) -> None:
    owned_chain(api, cluster_actor)
    api.delete("Deployment", "web", propagationPolicy="Foreground")
    deploy = api.get("Deployment", "web")
    assert deploy["metadata"]["deletionTimestamp"] and deploy["metadata"]["finalizers"] == ["foregroundDeletion"]
    (rs,) = api.list("ReplicaSet")
    assert rs["metadata"]["finalizers"] == ["foregroundDeletion"], "the cascade is foreground all the way down"
    assert api.find("ConfigMap", "notes") is None, "a dependent without blockOwnerDeletion goes, and does not block"
    pods = api.list("Pod", labels="app=web")
    assert len(pods) == 2 and all(pod["metadata"]["deletionTimestamp"] for pod in pods)
    cluster_actor.step()
    assert api.find("Deployment", "web") is not None, "terminating pods still block their owners"
    clock.advance(actor.DEFAULT_GRACE_SECONDS)
    cluster_actor.step()
    assert api.list("Pod") == [] and api.list("ReplicaSet") == []
    assert api.find("Deployment", "web") is None


def test_foreground_deletion_waits_for_other_finalizers_too(api: client.RestClient) -> None:
    cm = api.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "held", "finalizers": ["x/y"]}})
    api.delete("ConfigMap", "held", propagationPolicy="Foreground")
    held = api.get("ConfigMap", "held")
    assert held["metadata"]["finalizers"] == ["x/y"], "no blocking dependents: foregroundDeletion went at once"
    api.patch("ConfigMap", "held", {"metadata": {"finalizers": None}})
    assert api.find("ConfigMap", "held") is None and cm["metadata"]["uid"]


def test_an_unknown_propagation_policy_is_refused(api: client.RestClient) -> None:
    api.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}})
    with pytest.raises(client.ApiFailure) as refused:
        api.delete("ConfigMap", "cm", propagationPolicy="Sideways")
    assert refused.value.status == 400 and api.find("ConfigMap", "cm") is not None
