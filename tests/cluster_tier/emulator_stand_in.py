"""Serve the API emulator with a few nodes as a stand-in cluster, to check the tier where none exists.

Not part of the tier (it collects no test): a machine without a cluster runs

    python -m tests.cluster_tier.emulator_stand_in /tmp/stand-in &      # prints the kubeconfig path
    KUBECONFIG=/tmp/stand-in/kubeconfig pytest tests/cluster_tier --with-cluster --cluster-no-scheduler

The emulator has no scheduler or kubelet (no pod is ever created), so only the tests that need none
can pass against it; ``--cluster-no-scheduler`` skips the others. Nodes: two ECS nodes of 4 CPU and a
virtual node labelled and tainted as Alibaba's virtual kubelet does, as the kind + kwok recipe makes.
"""

from __future__ import annotations

import pathlib
import signal
import sys
import threading

from tests.e2e.harness import client, hosting
from tests.e2e.harness import objects as e2e_objects


def main() -> None:
    """Serve until SIGTERM or SIGINT; the kubeconfig is written under the directory given."""
    directory = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "stand-in")
    directory.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with hosting.ApiServer(directory=directory) as server:
        api = client.RestClient(server.url)
        for index in range(2):
            api.create(e2e_objects.ecs_node(f"ecs-{index}", cpu="4", memory="16Gi"))
        api.create(e2e_objects.virtual_node())
        print(server.kubeconfig, flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
