"""The Dockerfile, checked statically (no Docker daemon here): stages, user, entrypoint, how it installs.

It must build a wheel of this repository in a first stage and install it with pip in the final one,
resolving dependencies from pyproject.toml as the README's `pip install .` does; run as a numeric
non-root user; start `burstscaler run`; and carry no compiler or packaging tools into the final image.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.deploy import bundle

TEXT = (bundle.ROOT / "Dockerfile").read_text()
# Instructions with their continuation lines joined; comments dropped.
INSTRUCTIONS = [
    line.strip()
    for line in re.sub(r"\\\n\s*", " ", TEXT).splitlines()
    if line.strip() and not line.strip().startswith("#")
]


def stages() -> list[list[str]]:
    """The instructions of each FROM stage, in order."""
    found: list[list[str]] = []
    for instruction in INSTRUCTIONS:
        if instruction.upper().startswith("FROM "):
            found.append([])
        if found:
            found[-1].append(instruction)
    return found


def _args(stage: list[str], keyword: str) -> list[str]:
    return [i.split(None, 1)[1] for i in stage if i.split(None, 1)[0].upper() == keyword]


def test_multi_stage_from_a_slim_python_311() -> None:
    assert len(stages()) >= 2
    base = re.search(r"ARG PYTHON_IMAGE=(\S+)", TEXT)
    assert base is not None and re.fullmatch(r"python:3\.11-slim(-\w+)?", base.group(1))
    assert all(_args(stage, "FROM")[0].startswith("${PYTHON_IMAGE}") for stage in stages())


def test_first_stage_builds_a_wheel_of_this_repository() -> None:
    build = stages()[0]
    assert any(re.search(r"pip wheel .* \.$", run) for run in _args(build, "RUN"))
    copied = " ".join(_args(build, "COPY"))
    assert "pyproject.toml" in copied and "burstscaler" in copied


def test_final_stage_installs_that_wheel_with_pip() -> None:
    final = stages()[-1]
    [run] = [r for r in _args(final, "RUN") if "pip install" in r]
    assert "from=build" in run and "--no-index --find-links /wheels burstscaler" in run


def test_final_stage_has_no_build_tools() -> None:
    final = " ".join(stages()[-1])
    assert not re.search(r"\b(gcc|g\+\+|build-essential|apt-get install|make)\b", final)
    assert "pip uninstall --yes setuptools wheel pip" in final


@pytest.mark.parametrize(
    ("keyword", "check"),
    [
        pytest.param("USER", lambda value: re.fullmatch(r"[1-9]\d{3,}(:[1-9]\d{3,})?", value), id="numeric-non-root"),
        pytest.param("ENTRYPOINT", lambda value: json.loads(value) == ["burstscaler", "run"], id="entrypoint"),
    ],
)
def test_final_stage(keyword: str, check: object) -> None:
    values = _args(stages()[-1], keyword)
    assert values and callable(check) and check(values[-1]), f"{keyword} {values}"


def test_readme_installs_the_same_package() -> None:
    # The README's install is `pip install .`; the image builds the same project into a wheel.
    assert "pip install ." in (bundle.ROOT / "README.md").read_text()


@pytest.mark.parametrize(
    ("path", "included"),
    [
        pytest.param("pyproject.toml", True, id="pyproject"),
        pytest.param("README.md", True, id="readme"),
        pytest.param("burstscaler/", True, id="package"),
        pytest.param("tests/", False, id="tests"),
        pytest.param(".git", False, id="git"),
    ],
)
def test_dockerignore_sends_only_the_package(path: str, included: bool) -> None:
    lines = [line for line in (bundle.ROOT / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
    assert lines[0] == "*"
    assert (f"!{path}" in lines) is included
