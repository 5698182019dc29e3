"""The `burstscaler` command line: run | simulate | report | lint | crd.

Rule: the top layer. Each command lives in its own module and only parses options, calls into the
packages below and prints; errors print one clear line and exit non-zero, never a traceback.
"""

from __future__ import annotations

import typer

from burstscaler.cli import crd, lint, report, run, simulate

app = typer.Typer(
    name="burstscaler",
    help="Bursts Kubernetes workloads onto a serverless virtual node (ECI, ACI, Fargate) and drains them back.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("run", help="Run the operator against the current cluster (Kopf).")(run.run)
_SIMULATE_HELP = (
    "Replay load on a model cluster (built-in: three workloads on one ECS pool) and compare burstscaler with "
    "static-peak, HPA + cluster-autoscaler, all-ECI and ACK ResourcePolicy, all on one policy."
)
app.command("simulate", help=_SIMULATE_HELP)(simulate.simulate)
app.command("report", help="Cost report from the operator's burstscaler_* metrics in Prometheus.")(report.report)
app.command("lint", help="Validate BurstPolicy YAML files offline; exit 1 when any has problems.")(lint.lint)
app.command("crd", help="Print the BurstPolicy CustomResourceDefinition generated from the API models.")(crd.crd)


def main() -> None:
    """Console-script entry point."""
    app()
