"""Which network addresses a policy's own Prometheus ``serverUrl`` may never reach (SSRF, issue 12).

A namespace owner names the server; the operator connects from its own pod. The operator's pod can
reach things the tenant cannot: itself and its sidecars on loopback, the node's and the cloud's
metadata services (instance credentials), the unspecified address (which Linux routes to loopback).
Those are refused whatever the operator's allowlist says. Private ranges (10/8, 172.16/12,
192.168/16) are not: in-cluster Prometheus servers live there; allow them by pattern
(``--allowed-prometheus-url``). Pure: the rule is applied to literal addresses when a policy is
validated (``lint`` too), and by ``sources`` to every address a host name resolves to.
"""

from __future__ import annotations

import ipaddress
import urllib.parse

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Cloud metadata and host-agent addresses outside the link-local range.
METADATA = {
    ipaddress.ip_address("100.100.100.200"): "the Alibaba Cloud metadata service",
    ipaddress.ip_address("168.63.129.16"): "the Azure host agent",
    ipaddress.ip_address("fd00:ec2::254"): "the AWS metadata service (IPv6)",
}


def refusal(address: IPAddress) -> str | None:
    """Why `address` must not be connected to for a policy, or None when it may."""
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    if mapped is not None:
        address = mapped
    if address in METADATA:
        return METADATA[address]
    if address.is_loopback:
        return "loopback: the operator's own pod"
    if address.is_link_local:
        return "link-local: the node and cloud metadata services"
    if address.is_unspecified:
        return "unspecified: reaches the operator's own pod"
    if address.is_multicast:
        return "multicast"
    return None


def literal_refusal(url: str) -> str | None:
    """Why the literal address in `url`'s host is refused (None for a host name or an allowed address)."""
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "localhost is loopback: the operator's own pod" if host.rstrip(".").lower() == "localhost" else None
    why = refusal(address)
    return f"{host} is {why}" if why else None
