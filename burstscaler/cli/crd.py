"""`burstscaler crd`: print the CRD generated from the API models (committed as crds/burstpolicy.yaml)."""

from __future__ import annotations

import typer

from burstscaler.api import crd as crd_schema


def crd() -> None:
    """Print the BurstPolicy CustomResourceDefinition as YAML; `kubectl apply -f -` accepts it."""
    typer.echo(crd_schema.render_yaml(), nl=False)
