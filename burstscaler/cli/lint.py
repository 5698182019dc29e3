"""`burstscaler lint FILE...`: validate BurstPolicy documents offline, every problem with its field path."""

from __future__ import annotations

import pathlib
from typing import Annotated, Any

import typer
import yaml

from burstscaler.api import validation


def lint(
    files: Annotated[
        list[pathlib.Path],
        typer.Argument(help="YAML files (several documents each is fine) or directories of them; - reads stdin."),
    ],
) -> None:
    """Validate every BurstPolicy in FILES; print each problem as `file[doc] name: path: message`."""
    problems = 0
    policies = 0
    for path in _expand(files):
        try:
            text = typer.get_text_stream("stdin").read() if str(path) == "-" else path.read_text()
            documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
        except OSError as error:
            typer.echo(f"{path}: cannot read: {error.strerror or error}", err=True)
            raise typer.Exit(code=2) from None
        except yaml.YAMLError as error:
            typer.echo(f"{path}: not valid YAML: {_yaml_problem(error)}", err=True)
            problems += 1
            continue
        for index, document in enumerate(documents):
            kind = document.get("kind") if isinstance(document, dict) else None
            if kind not in (None, "BurstPolicy"):
                typer.echo(f"{path}[{index}]: kind {kind} skipped (only BurstPolicy documents are validated)")
                continue
            policies += 1
            _, found = validation.validate_policy(document)
            label = f"{path}[{index}] {_name(document)}"
            for problem in found:
                typer.echo(f"{label}: {problem}")
            problems += len(found)
            if not found:
                typer.echo(f"{label}: ok")
    if policies == 0 and problems == 0:
        typer.echo("no BurstPolicy documents found", err=True)
        raise typer.Exit(code=1)
    if problems:
        typer.echo(f"{problems} problem(s) in {policies} policy document(s)", err=True)
        raise typer.Exit(code=1)


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
