"""NodePorts: a pod's host ports must be free on the node (``pkg/scheduler/framework/plugins/nodeports``).

Two (hostIP, protocol, port) bindings conflict when protocol and port are equal and either IP is
the wildcard ``0.0.0.0`` or both IPs are equal (``HostPortInfo.CheckConflict``).
"""

from __future__ import annotations

import numpy as np

from burstscaler.scheduler import objects, requests, state, status

REASON = "node(s) didn't have free ports for the requested pod ports"
_WILDCARD = "0.0.0.0"


def conflicts(wanted: tuple[str, str, int], used: tuple[str, str, int]) -> bool:
    """Whether two host-port bindings collide."""
    ip_a, proto_a, port_a = wanted
    ip_b, proto_b, port_b = used
    if proto_a != proto_b or port_a != port_b:
        return False
    return ip_a in ("", _WILDCARD) or ip_b in ("", _WILDCARD) or ip_a == ip_b


def filter_node_ports(st: state.State, pod: objects.Pod) -> status.Verdict:
    """NodePorts' Filter for every node (Skip when the pod binds no host port)."""
    wanted = requests.host_ports(pod)
    if not wanted:
        return status.passing(st.n, prefilter="Skip")
    codes = np.zeros(st.n, dtype=np.int8)
    for index, used in enumerate(st.node_ports):
        if used and any(conflicts(w, u) for w in wanted for u in used):
            codes[index] = status.UNSCHEDULABLE
    return status.uniform(codes, REASON)
