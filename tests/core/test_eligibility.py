"""Node eligibility: nodeSelector, required node affinity, taints and tolerations, cordons."""

from __future__ import annotations

import pytest

from burstscaler.core import eligibility

NODES = (
    eligibility.NodeView(labels={"pool": "web", "cores": "8"}, name="n0"),
    eligibility.NodeView(
        labels={"pool": "batch", "cores": "32"}, taints=(eligibility.Taint("dedicated", "batch"),), name="n1"
    ),
    eligibility.NodeView(
        labels={"type": "virtual-kubelet"},
        taints=(eligibility.Taint("virtual-kubelet.io/provider", "alibabacloud"),),
        name="n2",
    ),
    eligibility.NodeView(labels={"pool": "web"}, unschedulable=True, name="n3"),
    eligibility.NodeView(
        labels={"pool": "web"}, taints=(eligibility.Taint("soft", effect="PreferNoSchedule"),), name="n4"
    ),
)
REQ = eligibility.Requirement


@pytest.mark.parametrize(
    ("placement", "expected"),
    [
        pytest.param(eligibility.PodPlacement(), [True, False, False, False, True], id="no-constraints"),
        pytest.param(
            eligibility.PodPlacement(node_selector={"pool": "web"}), [True, False, False, False, True], id="selector"
        ),
        pytest.param(
            eligibility.PodPlacement(
                node_selector={"pool": "batch"}, tolerations=(eligibility.Toleration("dedicated", "Equal", "batch"),)
            ),
            [False, True, False, False, False],
            id="selector-and-toleration",
        ),
        pytest.param(
            eligibility.PodPlacement(tolerations=(eligibility.Toleration(operator="Exists"),)),
            [True, True, True, True, True],
            id="tolerate-everything-even-the-cordon",
        ),
        pytest.param(
            eligibility.PodPlacement(affinity_terms=((REQ("cores", "Gt", ("16",)),), (REQ("pool", "DoesNotExist"),))),
            [False, False, False, False, False],
            id="affinity-or-of-terms-still-needs-tolerations",
        ),
        pytest.param(
            eligibility.PodPlacement(affinity_terms=((REQ("pool", "NotIn", ("batch",)),),)),
            [True, False, False, False, True],
            id="notin-matches-missing-label",
        ),
        pytest.param(
            eligibility.PodPlacement(
                affinity_terms=((REQ("pool", "In", ("web", "batch")), REQ("cores", "Lt", ("16",))),)
            ),
            [True, False, False, False, False],
            id="and-within-a-term",
        ),
        pytest.param(eligibility.PodPlacement(affinity_terms=((),)), [False] * 5, id="empty-term-matches-nothing"),
        pytest.param(
            eligibility.PodPlacement(
                tolerations=(eligibility.Toleration("node.kubernetes.io/unschedulable", "Exists", effect="NoSchedule"),)
            ),
            [True, False, False, True, True],
            id="cordon-tolerated",
        ),
        pytest.param(
            eligibility.PodPlacement(affinity_terms=((REQ("metadata.name", "In", ("n0", "n3"), field=True),),)),
            [True, False, False, False, False],
            id="match-fields-by-name",
        ),
        pytest.param(
            eligibility.PodPlacement(
                affinity_terms=((REQ("metadata.name", "NotIn", ("n0",), field=True), REQ("pool", "In", ("web",))),)
            ),
            [False, False, False, False, True],
            id="match-fields-and-expressions-in-one-term",
        ),
        pytest.param(
            eligibility.PodPlacement(affinity_terms=((REQ("spec.other", "In", ("x",), field=True),),)),
            [False] * 5,
            id="unsupported-field-matches-nothing",
        ),
    ],
)
def test_mask(placement: eligibility.PodPlacement, expected: list[bool]) -> None:
    assert eligibility.mask(nodes=NODES, policies=[placement]).tolist() == [expected]


def test_mask_shape_with_no_nodes() -> None:
    assert eligibility.mask(nodes=(), policies=[eligibility.PodPlacement()]).shape == (1, 0)
