"""Liveness: a relist is noticed by a repeated resourceVersion, and only entries absent from a LIST
*and* indexed before it began are dropped from the tick's view."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import pytest

from burstscaler.operator import relist


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0  # every reading is later than the last: an ordering, not durations
        return self.now


class FakeLister:
    """The API boundary: the keys a LIST returns, or an error."""

    def __init__(self, live: set[Hashable] | None = None, *, error: Exception | None = None) -> None:
        self.live = live or set()
        self.error = error
        self.on_list: Any = None

    def keys(self, resource: str) -> set[Hashable]:
        if self.on_list is not None:
            self.on_list()
        if self.error is not None:
            raise self.error
        return set(self.live)


def body(version: str) -> dict[str, Any]:
    return {"metadata": {"resourceVersion": version}}


@pytest.mark.parametrize(
    ("versions", "relisting"),
    [
        pytest.param(["1"], set(), id="first-sight"),
        pytest.param(["1", "2"], set(), id="watch-event-new-version"),
        pytest.param(["1", "1"], {"nodes"}, id="same-version-again-is-a-list"),
        pytest.param(["", ""], set(), id="no-version-never-counts"),
    ],
)
def test_a_relist_is_a_repeated_resource_version(versions: list[str], relisting: set[str]) -> None:
    liveness = relist.Liveness(clock=FakeClock())
    for version in versions:
        liveness.seen("nodes", "ecs-1", body(version))
    assert liveness.relisting() == relisting
    assert liveness.relisting() == set()  # noticed once


def test_entries_absent_from_the_list_and_older_than_it_are_dropped() -> None:
    liveness = relist.Liveness(clock=FakeClock())
    for name in ("ecs-1", "ecs-2"):
        liveness.seen("nodes", name, body("1"))
    index = {"ecs-1": "room-1", "ecs-2": "room-2"}
    assert liveness.reconcile("nodes", FakeLister({"ecs-1"})) == 1
    assert liveness.live("nodes", index) == {"ecs-1": "room-1"}
    assert liveness.pruned["nodes"] == 1


def test_an_object_indexed_while_the_list_runs_is_kept() -> None:
    liveness = relist.Liveness(clock=FakeClock())
    lister = FakeLister(set())
    lister.on_list = lambda: liveness.seen("nodes", "ecs-new", body("7"))  # created after the LIST began
    liveness.seen("nodes", "ecs-old", body("1"))
    assert liveness.reconcile("nodes", lister) == 1
    assert liveness.live("nodes", {"ecs-old": 1, "ecs-new": 2}) == {"ecs-new": 2}


def test_a_key_indexed_again_is_live_again() -> None:
    liveness = relist.Liveness(clock=FakeClock())
    key = ("default", "web-1")
    liveness.seen("pods", key, body("1"))
    liveness.reconcile("pods", FakeLister(set()))
    assert liveness.live("pods", {key: "pod"}) == {}
    liveness.seen("pods", key, body("9"))  # recreated under the same name
    assert liveness.live("pods", {key: "pod"}) == {key: "pod"}


def test_a_failed_list_drops_nothing() -> None:
    liveness = relist.Liveness(clock=FakeClock())
    liveness.seen("nodes", "ecs-1", body("1"))
    assert liveness.reconcile("nodes", FakeLister(error=RuntimeError("403 Forbidden"))) == 0
    assert liveness.live("nodes", {"ecs-1": 1}) == {"ecs-1": 1}


def test_bookkeeping_forgets_what_kopf_no_longer_indexes() -> None:
    liveness = relist.Liveness(clock=FakeClock())
    liveness.seen("nodes", "ecs-1", body("1"))
    liveness.live("nodes", {})  # Kopf dropped it on its DELETED event
    liveness.seen("nodes", "ecs-1", body("1"))  # same version again, but as a new object's first sight
    assert liveness.relisting() == set()


class FakeApi:
    """The official client's boundary: param_serialize/call_api, paged by `continue`."""

    def __init__(self, pages: list[dict[str, Any]]) -> None:
        self.pages = pages
        self.urls: list[str] = []

    def param_serialize(self, *, method: str, resource_path: str, query_params: Any, **_: Any) -> tuple[Any, ...]:
        self.urls.append(resource_path + "?" + "&".join(f"{k}={v}" for k, v in query_params))
        return method, resource_path, {}, None, []

    def call_api(self, method: str, url: str, **_: Any) -> Any:
        import json

        page = self.pages.pop(0)

        class Response:
            status = 200

            def read(self) -> bytes:
                return json.dumps(page).encode()

        return Response()


def test_the_api_lister_follows_continue_tokens_and_keys_as_the_index() -> None:
    api = FakeApi(
        [
            {"items": [{"metadata": {"namespace": "a", "name": "p1"}}], "metadata": {"continue": "t"}},
            {"items": [{"metadata": {"namespace": "b", "name": "p2"}}], "metadata": {}},
        ]
    )
    assert relist.ApiLister(api).keys("pods") == {("a", "p1"), ("b", "p2")}
    assert api.urls == ["/api/v1/pods?limit=500", "/api/v1/pods?limit=500&continue=t"]


def test_the_api_lister_lists_each_namespace_of_a_namespaced_operator() -> None:
    api = FakeApi([{"items": []}, {"items": [{"metadata": {"namespace": "b", "name": "web"}}]}])
    keys = relist.ApiLister(api, namespaces=("a", "b")).keys("deployments")
    assert keys == {("b", "Deployment", "web")}
    assert [url.split("?")[0] for url in api.urls] == [
        "/apis/apps/v1/namespaces/a/deployments",
        "/apis/apps/v1/namespaces/b/deployments",
    ]


def test_namespace_patterns_refuse_a_scoped_list() -> None:
    with pytest.raises(ValueError, match="patterns"):
        relist.ApiLister(FakeApi([]), namespaces=("team-*",)).keys("pods")
