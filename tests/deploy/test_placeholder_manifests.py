"""What the bridge's placeholders need from the bundle: their PriorityClass, and an admission policy
that lets the operator create them exactly as the renderer writes them, and nothing broader."""

from __future__ import annotations

from typing import Any

from burstscaler.cluster import objects, placeholders
from tests.deploy import bundle

POLICY = {"apiVersion": "burstscaler.io/v1alpha1", "kind": "BurstPolicy", "metadata": {"name": "web", "uid": "u"}}


def _priority_class() -> dict[str, Any]:
    return bundle.find(bundle.documents(bundle.BASE / "priority-class.yaml"), "PriorityClass")


def _admission_cel() -> dict[str, str]:
    docs = bundle.documents(bundle.ADMISSION_POLICY / "validating-admission-policy.yaml")
    policy = bundle.find(docs, "ValidatingAdmissionPolicy")
    return {variable["name"]: variable["expression"] for variable in policy["spec"]["variables"]}


def test_the_priority_class_is_below_workloads_never_preempts_and_is_nobodys_default() -> None:
    priority_class = _priority_class()
    assert priority_class["metadata"]["name"] == placeholders.PRIORITY_CLASS
    # Below the default 0 of every pod without a class; not below cluster-autoscaler's default cutoff (-10),
    # or the autoscaler would treat placeholders as expendable and add no node for them.
    assert -10 <= priority_class["value"] < 0
    assert priority_class["globalDefault"] is False
    assert priority_class["preemptionPolicy"] == "Never"


def test_the_base_ships_the_priority_class() -> None:
    kustomization = bundle.documents(bundle.BASE / "kustomization.yaml")[0]
    assert "priority-class.yaml" in kustomization["resources"]


def test_the_admission_policy_names_placeholders_as_the_renderer_writes_them() -> None:
    cel = _admission_cel()
    assert f"'{placeholders.PLACEHOLDER_FOR_LABEL}' in object.metadata.labels" in cel["placeholder"]
    inert = cel["inertPods"]
    assert f"priorityClassName == '{placeholders.PRIORITY_CLASS}'" in inert
    assert f"labels.all(k, k == '{placeholders.PLACEHOLDER_FOR_LABEL}')" in inert
    base = {
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
        "spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c"}]}}},
    }
    rendered = placeholders.render(base, policy=POLICY, requests=objects.pod_requests({}), replicas=1)
    spec = rendered["spec"]["template"]["spec"]
    # What inertPods requires of the rendered object, field by field.
    assert rendered["kind"] == "Deployment"
    assert set(rendered["spec"]["template"]["metadata"]["labels"]) == {placeholders.PLACEHOLDER_FOR_LABEL}
    assert spec["automountServiceAccountToken"] is False
    assert len(spec["containers"]) == 1
    assert not {"initContainers", "volumes", "hostNetwork", "hostPID", "hostIPC"} & set(spec)
    assert placeholders.PLACEHOLDER_FOR_LABEL in rendered["metadata"]["labels"]
