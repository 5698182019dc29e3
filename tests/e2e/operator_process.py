"""The real operator process (`burstscaler run`) against the emulator, for the e2e scenarios."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
from collections.abc import Sequence

import attrs


@attrs.define
class OperatorProcess:
    """`burstscaler run` in a subprocess, with its log in a file the test can read on failure."""

    kubeconfig: pathlib.Path
    log_path: pathlib.Path
    prometheus_url: str | None = None
    tick_seconds: float = 1.0
    extra: Sequence[str] = ()
    process: subprocess.Popen[bytes] | None = attrs.field(default=None, init=False)

    def start(self) -> OperatorProcess:
        """Start the operator (standalone: the emulator has no peering CRD)."""
        command = [
            sys.executable,
            "-m",
            "burstscaler",
            "run",
            "--standalone",
            "--verbose",
            "--tick-seconds",
            str(self.tick_seconds),
            "--metrics-port",
            "0",
            "--liveness",
            "",
            *self.extra,
        ]
        if self.prometheus_url:
            command += ["--prometheus-url", self.prometheus_url, "--prometheus-timeout", "2"]
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig)}
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        return self

    def kill(self) -> None:
        """SIGKILL: no clean-up, as a node failure or OOM kill would do."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self) -> str:
        """The operator's output so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def alive(self) -> bool:
        """True while the process runs."""
        return self.process is not None and self.process.poll() is None
