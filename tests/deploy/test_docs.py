"""The docs say what the code does: the generated configuration table, and every reason explained.

docs/configuration.md is rendered from `burstscaler run`'s options and must be current. The user guide
must explain every condition and its reasons (read from burstscaler/operator/status.py), every plan
reason (``core.reasons.Reason``), every recommendation reason (read from burstscaler/core/recommend.py)
and every metrics failure reason; and give an install command for each overlay.
"""

from __future__ import annotations

import ast
import re
import typing

import pytest

from burstscaler.api import crd
from burstscaler.cli import docs
from burstscaler.core import fallback, reasons
from tests.deploy import bundle

DOCS = bundle.ROOT / "docs"
GUIDE = (DOCS / "user-guide.md").read_text()
DESIGN = (DOCS / "design.md").read_text()


def _constants_of_four_tuples(source: str) -> list[tuple[str, str]]:
    # conditions() appends (type, status, reason, message) tuples: keep literal types and reasons.
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Tuple) and len(node.elts) == 4:
            kind, reason = node.elts[0], node.elts[2]
            if not (isinstance(kind, ast.Constant) and isinstance(reason, ast.Constant)):
                continue
            if re.fullmatch(r"[A-Z][A-Za-z]+", str(kind.value)):
                found.append((str(kind.value), str(reason.value)))
    return found


def recommendation_reasons() -> set[str]:
    """Every literal reason recommend.py can give, with the fallback-<mode> f-string expanded."""
    tree = ast.parse((bundle.ROOT / "burstscaler" / "core" / "recommend.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Constant | ast.IfExp):
            found |= {str(n.value) for n in ast.walk(node.value) if isinstance(n, ast.Constant)}
        if isinstance(node, ast.Return) and isinstance(node.value, ast.JoinedStr):
            prefix = str(getattr(node.value.values[0], "value", ""))
            found |= {f"{prefix}{mode}" for mode in ("hold", "fixed")}
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "reason":
            found |= {str(n.value) for n in ast.walk(node.value) if isinstance(n, ast.Constant)}
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "decide" and len(node.args) > 1:
            found.add(str(getattr(node.args[1], "value", "")))
    return {reason for reason in found if re.fullmatch(r"[a-z]+(-[a-z]+)*", reason)}


def test_configuration_table_is_current() -> None:
    assert (DOCS / "configuration.md").read_text() == docs.render(), (
        "docs/configuration.md is stale: run `python -m burstscaler.cli.docs > docs/configuration.md`"
    )


def test_configuration_table_lists_every_option_with_its_variable() -> None:
    rendered = docs.render()
    for option in docs.run_options():
        assert option.envvar.startswith("BURSTSCALER_") and f"`{option.envvar}`" in rendered
        assert option.help, f"--{option.name} has no help text"


@pytest.mark.parametrize(
    ("condition", "reason"),
    _constants_of_four_tuples((bundle.ROOT / "burstscaler" / "operator" / "status.py").read_text()),
)
def test_guide_explains_condition_reason(condition: str, reason: str) -> None:
    rows = [line for line in GUIDE.splitlines() if line.startswith(f"| {condition} |")]
    assert any(f"`{reason}`" in row for row in rows), f"{condition}/{reason} is not in the troubleshooting table"


@pytest.mark.parametrize("reason", [*typing.get_args(fallback.FailureReason), "MetricsReceived", "MetricsFlapping"])
def test_guide_explains_metrics_reason(reason: str) -> None:
    assert re.search(rf"^\| MetricsAvailable \| \w+ \| `{reason}` \|", GUIDE, re.MULTILINE)


@pytest.mark.parametrize("reason", [str(reason) for reason in reasons.Reason])
def test_guide_explains_plan_reason(reason: str) -> None:
    section = GUIDE.split("### Plan reasons", 1)[1].split("###", 1)[0]
    assert f"| `{reason}` |" in section


@pytest.mark.parametrize("reason", sorted(recommendation_reasons()))
def test_guide_explains_recommendation_reason(reason: str) -> None:
    section = GUIDE.split("### Recommendation reasons", 1)[1].split("###", 1)[0]
    assert f"| `{reason}` |" in section


def test_recommendation_reasons_are_found() -> None:
    # The AST reading above must keep finding the reasons it is meant to (guards the derivation).
    assert {"metrics", "stabilized", "fallback-hold", "fallback-fixed", "schedule", "autoscaling-disabled"} <= (
        recommendation_reasons()
    )


@pytest.mark.parametrize("overlay", bundle.OVERLAYS)
def test_guide_has_the_install_command_of_each_overlay(overlay: str) -> None:
    assert f"kubectl apply -k manifests/overlays/{overlay}\n" in GUIDE


def test_guide_shows_the_printer_columns() -> None:
    header = next(line for line in GUIDE.splitlines() if line.startswith("NAMESPACE   NAME"))
    columns = [column["name"].upper() for column in crd.PRINTER_COLUMNS if not column.get("priority")]
    assert header.split()[2:] == columns


def test_design_note_keeps_a_place_for_simulator_numbers() -> None:
    section = DESIGN.split("## Simulator results", 1)[1]
    assert "burstscaler simulate" in section
