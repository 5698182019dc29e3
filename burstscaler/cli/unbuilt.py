"""Commands whose implementation has not landed yet: each says so plainly and exits non-zero."""

from __future__ import annotations

import typer


def _not_built(command: str, issue: int) -> None:
    typer.echo(f"burstscaler {command} is not built yet (tracked in issue #{issue}); nothing was done.", err=True)
    raise typer.Exit(code=2)


def report() -> None:
    """Build a cost report from Prometheus (not built yet)."""
    _not_built("report", 6)
