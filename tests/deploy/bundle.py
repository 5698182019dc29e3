"""The deployable bundle as tests see it: manifest files, their YAML documents, kustomize builds.

Shared by the tests of tests/deploy: reading is the only thing done here.
"""

from __future__ import annotations

import functools
import pathlib
import shutil
import subprocess
from typing import Any

import yaml

ROOT = pathlib.Path(__file__).parents[2]
MANIFESTS = ROOT / "manifests"
BASE = MANIFESTS / "base"
MONITORING = MANIFESTS / "components" / "monitoring"
EXAMPLES = MANIFESTS / "examples"
OVERLAYS = ("ack", "ask", "self-built")  # the deployment shapes, cluster-wide
NAMESPACED = "namespaced"  # the overlay with Roles per watched namespace
ADMISSION_POLICY = MANIFESTS / "components" / "admission-policy"
KUSTOMIZATION_NAMES = ("kustomization.yaml",)


def documents(path: pathlib.Path) -> list[dict[str, Any]]:
    """The non-empty YAML documents of one file."""
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def manifest_files() -> list[pathlib.Path]:
    """Every Kubernetes manifest we ship (kustomizations and the examples excluded)."""
    files = sorted(MANIFESTS.rglob("*.yaml"))
    return [f for f in files if f.name not in KUSTOMIZATION_NAMES and EXAMPLES not in f.parents]


def objects(paths: list[pathlib.Path] | None = None) -> list[dict[str, Any]]:
    """Every object of the given files (default: every shipped manifest)."""
    return [doc for path in (paths if paths is not None else manifest_files()) for doc in documents(path)]


def find(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    """The one object of `kind` (and `name`) in `docs`."""
    found = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


@functools.cache
def kustomize_command() -> tuple[str, ...] | None:
    """`kustomize build` or `kubectl kustomize`, whichever is installed (None: neither)."""
    if shutil.which("kustomize"):
        return ("kustomize", "build")
    if shutil.which("kubectl"):
        return ("kubectl", "kustomize")
    return None


@functools.cache
def build(directory: str) -> tuple[dict[str, Any], ...]:
    """The objects `kustomize build manifests/<directory>` renders (call only when kustomize exists)."""
    command = kustomize_command()
    assert command is not None
    result = subprocess.run(
        [*command, str(MANIFESTS / directory)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"kustomize build manifests/{directory} failed:\n{result.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)
