"""`burstscaler lint FILE...`: validate BurstPolicies and check workloads against the virtual node, offline.

BurstPolicy documents are validated against the API models, every problem with its field path.
Deployments, StatefulSets, DaemonSets, Jobs, CronJobs and Pods are checked for what the virtual node
cannot run (ECI compatibility), with the provider of the BurstPolicy that targets them when one is in
the same files, else `--provider`; NodePort Services selecting their pods are reported too.
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Annotated, Any

import typer
import yaml

from burstscaler.api import validation
from burstscaler.core import compat

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"}


@dataclasses.dataclass(frozen=True)
class _Document:
    label: str
    body: Any

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", "")) if isinstance(self.body, dict) else ""

    @property
    def namespace(self) -> str:
        return str((self.body.get("metadata") or {}).get("namespace", "default"))

    @property
    def name(self) -> str:
        return str((self.body.get("metadata") or {}).get("name", ""))


def lint(
    files: Annotated[
        list[pathlib.Path],
        typer.Argument(help="YAML files (several documents each is fine) or directories of them; - reads stdin."),
    ],
    provider: Annotated[
        str,
        typer.Option(help="Virtual-node provider for workloads no BurstPolicy in FILES targets."),
    ] = "alibaba-eci",
) -> None:
    """Lint FILES; print each problem as `file[doc] namespace/name: path: message`; exit 1 on errors."""
    documents, problems = _load(files)
    policies = [doc for doc in documents if doc.kind in ("", "BurstPolicy")]
    providers: dict[tuple[str, str, str], str] = {}
    for document in policies:
        model, found = validation.validate_policy(document.body)
        _report(document.label, [str(problem) for problem in found])
        problems += len(found)
        if model is not None:
            target = model.spec.target_ref
            providers[(model.metadata.namespace, target.kind, target.name)] = model.spec.burst.provider
    services = [doc.body for doc in documents if doc.kind == "Service"]
    workloads = [doc for doc in documents if doc.kind in WORKLOAD_KINDS]
    for document in workloads:
        chosen = providers.get((document.namespace, document.kind, document.name), provider)
        findings = compat.lint_workload(document.body, provider=chosen)
        findings += compat.lint_services(services, pod_labels=_pod_labels(document.body), namespace=document.namespace)
        _report(document.label, [f"{finding} [{finding.severity}, {chosen}]" for finding in findings])
        problems += sum(1 for finding in findings if finding.severity == "error")
    for document in documents:
        if document.kind not in WORKLOAD_KINDS | {"", "BurstPolicy", "Service"}:
            typer.echo(f"{document.label}: kind {document.kind} skipped (nothing to check)")
    if not policies and not workloads and problems == 0:
        typer.echo("no BurstPolicy or workload documents found", err=True)
        raise typer.Exit(code=1)
    if problems:
        typer.echo(f"{problems} problem(s) in {len(policies) + len(workloads)} document(s)", err=True)
        raise typer.Exit(code=1)


def _load(files: list[pathlib.Path]) -> tuple[list[_Document], int]:
    documents: list[_Document] = []
    problems = 0
    for path in _expand(files):
        try:
            text = typer.get_text_stream("stdin").read() if str(path) == "-" else path.read_text()
            bodies = [body for body in yaml.safe_load_all(text) if body is not None]
        except OSError as error:
            typer.echo(f"{path}: cannot read: {error.strerror or error}", err=True)
            raise typer.Exit(code=2) from None
        except yaml.YAMLError as error:
            typer.echo(f"{path}: not valid YAML: {_yaml_problem(error)}", err=True)
            problems += 1
            continue
        for index, body in enumerate(bodies):
            documents.append(_Document(f"{path}[{index}] {_name(body)}", body))
    return documents, problems


def _report(label: str, lines: list[str]) -> None:
    for line in lines:
        typer.echo(f"{label}: {line}")
    if not lines:
        typer.echo(f"{label}: ok")


def _pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    if workload.get("kind") == "Pod":
        return dict((workload.get("metadata") or {}).get("labels") or {})
    template = (workload.get("spec") or {}).get("template") or {}
    return dict((template.get("metadata") or {}).get("labels") or {})


def _expand(paths: list[pathlib.Path]) -> list[pathlib.Path]:
    expanded: list[pathlib.Path] = []
    for path in paths:
        if path.is_dir():
            expanded.extend(sorted([*path.rglob("*.yaml"), *path.rglob("*.yml")]))
        else:
            expanded.append(path)
    return expanded


def _name(document: Any) -> str:
    metadata = document.get("metadata") if isinstance(document, dict) else None
    if not isinstance(metadata, dict):
        return "(unnamed)"
    return f"{metadata.get('namespace', 'default')}/{metadata.get('name', '(unnamed)')}"


def _yaml_problem(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark else problem
