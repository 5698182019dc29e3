"""`burstscaler lint FILE...`: validate BurstPolicies and check workloads against the virtual node, offline.

BurstPolicy documents are validated against the API models, every problem with its field path.
Deployments, StatefulSets, DaemonSets, Jobs, CronJobs and Pods are checked for what the virtual node
cannot run (ECI compatibility), with the provider of the BurstPolicy that targets them when one is in
the same files, else `--provider`; NodePort Services selecting their pods are reported too. A workload
a BurstPolicy targets is checked as its burst twin will run (base template + provider profile +
podTemplatePatch, as the operator renders it), and the patch is checked against the base (no selector
labels, no override of the provider's routing).
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Annotated, Any

import typer
import yaml

from burstscaler.api import spec, validation
from burstscaler.cluster import providers, twin
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
    targeting: dict[tuple[str, str, str], spec.BurstPolicy] = {}
    for document in policies:
        model, found = validation.validate_policy(document.body)
        lines = [str(problem) for problem in found]
        if model is not None:
            burst = model.spec.burst
            no_spot = providers.profile(burst.provider).no_spot
            spot = compat.lint_spot(enabled=burst.spot.enabled, provider=burst.provider, no_spot=no_spot)
            lines += [f"{finding} [{finding.severity}, {burst.provider}]" for finding in spot]
        _report(document.label, lines)
        problems += len(found)
        if model is not None:
            target = model.spec.target_ref
            targeting[(model.metadata.namespace, target.kind, target.name)] = model
    services = [doc.body for doc in documents if doc.kind == "Service"]
    workloads = [doc for doc in documents if doc.kind in WORKLOAD_KINDS]
    for document in workloads:
        policy = targeting.get((document.namespace, document.kind, document.name))
        chosen = policy.spec.burst.provider if policy is not None else provider
        lines, errors = _lint_workload(document.body, policy=policy, provider=chosen)
        findings = compat.lint_services(services, pod_labels=_pod_labels(document.body), namespace=document.namespace)
        lines += [f"{finding} [{finding.severity}, {chosen}]" for finding in findings]
        _report(document.label, lines)
        problems += errors + sum(1 for finding in findings if finding.severity == "error")
    for document in documents:
        if document.kind not in WORKLOAD_KINDS | {"", "BurstPolicy", "Service"}:
            typer.echo(f"{document.label}: kind {document.kind} skipped (nothing to check)")
    if not policies and not workloads and problems == 0:
        typer.echo("no BurstPolicy or workload documents found", err=True)
        raise typer.Exit(code=1)
    if problems:
        typer.echo(f"{problems} problem(s) in {len(policies) + len(workloads)} document(s)", err=True)
        raise typer.Exit(code=1)


def _lint_workload(body: dict[str, Any], *, policy: spec.BurstPolicy | None, provider: str) -> tuple[list[str], int]:
    """Lines to print and the error count for one workload: as its twin runs when a policy targets it."""
    if policy is None or body.get("kind") not in ("Deployment", "StatefulSet"):
        findings = compat.lint_workload(body, provider=provider)
        return [f"{f} [{f.severity}, {provider}]" for f in findings], sum(1 for f in findings if f.severity == "error")
    patch = policy.spec.burst.pod_template_patch.as_template()
    refused = twin.patch_problems(body, provider=provider, patch=patch)
    rendered = twin.template(body, provider=provider, patch=patch)
    findings = compat.lint_pod_spec(rendered.get("spec") or {}, provider=provider, path="spec.template.spec")
    name = policy.metadata.name
    lines = [f"{problem} [error, BurstPolicy {name}]" for problem in refused]
    lines += [f"{f} [{f.severity}, {provider}, as burst twin of BurstPolicy {name}]" for f in findings]
    return lines, len(refused) + sum(1 for f in findings if f.severity == "error")


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
