"""`burstscaler run` with the options the reliability scenarios need on top of the e2e harness's process.

The e2e ``OperatorProcess`` always runs standalone; peering, a planted Prometheus token and a live
``/metrics`` endpoint need other flags, so this subclass builds its own command line.
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import attrs
import requests

from tests.e2e.operator_process import OperatorProcess

# A Python traceback anywhere in the output: the operator let an exception escape (Kopf logs handler
# errors as one-line messages with exc_info only at debug; an unhandled crash prints this header).
TRACEBACK = re.compile(r"^Traceback \(most recent call last\):", re.MULTILINE)


@attrs.define
class Operator(OperatorProcess):
    """The operator process, optionally peered (with a priority), with a token file and a metrics port."""

    standalone: bool = True
    priority: int | None = None
    token_file: pathlib.Path | None = None
    metrics_port: int = 0
    prometheus_timeout: float = 2.0

    def command(self) -> list[str]:
        """The command line of this process."""
        command = [sys.executable, "-m", "burstscaler", "run", "--verbose", "--liveness", ""]
        command += ["--tick-seconds", str(self.tick_seconds), "--metrics-port", str(self.metrics_port)]
        if self.standalone:
            command.append("--standalone")
        if self.priority is not None:
            command += ["--priority", str(self.priority)]
        if self.prometheus_url:
            command += ["--prometheus-url", self.prometheus_url, "--prometheus-timeout", str(self.prometheus_timeout)]
        if self.token_file is not None:
            command += ["--prometheus-token-file", str(self.token_file)]
        return command + list(self.extra)

    def start(self) -> Operator:
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig)}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(self.command(), env=env, stdout=log, stderr=subprocess.STDOUT)
        return self

    def tracebacks(self) -> list[str]:
        """Each traceback in the log with the 15 lines after its header (empty: nothing escaped)."""
        lines = self.log().splitlines()
        return ["\n".join(lines[i : i + 15]) for i, line in enumerate(lines) if TRACEBACK.match(line)]

    def scrape(self) -> str:
        """The text of this process's /metrics."""
        return requests.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text

    def rss_mib(self) -> float:
        """Resident memory of the process in MiB (from /proc)."""
        assert self.process is not None
        status = pathlib.Path(f"/proc/{self.process.pid}/status").read_text()
        kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
        return kib / 1024
