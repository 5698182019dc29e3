"""The per-policy versioned cache: computed once per version, replaced by a new one, unversioned never kept."""

from __future__ import annotations

from burstscaler.operator import versioned


def test_a_value_is_computed_once_per_version_and_recomputed_for_a_new_one() -> None:
    calls: list[str] = []
    cache: versioned.PerPolicy[str] = versioned.PerPolicy()

    def compute(text: str) -> str:
        calls.append(text)
        return text

    assert cache.get(("ns", "a"), 1, lambda: compute("one")) == "one"
    assert cache.get(("ns", "a"), 1, lambda: compute("again")) == "one"
    assert cache.get(("ns", "a"), 2, lambda: compute("two")) == "two"
    assert cache.get(("ns", "a"), 1, lambda: compute("one more")) == "one more"  # one entry: the old is gone
    assert calls == ["one", "two", "one more"]


def test_without_a_version_nothing_is_kept() -> None:
    cache: versioned.PerPolicy[int] = versioned.PerPolicy()
    assert [cache.get(("ns", "a"), None, lambda value=value: value) for value in (1, 2)] == [1, 2]
    assert len(cache) == 0


def test_retain_forgets_the_policies_that_are_gone() -> None:
    cache: versioned.PerPolicy[int] = versioned.PerPolicy()
    for name in ("a", "b", "c"):
        cache.get(("ns", name), 1, lambda: 0)
    cache.retain({("ns", "b")})
    assert len(cache) == 1
    assert cache.get(("ns", "b"), 1, lambda: 9) == 0
