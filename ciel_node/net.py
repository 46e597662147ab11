"""Addresses, once: a host's socket family, where a listener on a wildcard is reached, what counts as loopback."""

from __future__ import annotations

import ipaddress
import socket

LOOPBACK_HOSTS = ("127.0.0.1", "::1")  # where this machine's own forwards (SSH server, reverse tunnel) come from
LOCAL_NAMES = frozenset({*LOOPBACK_HOSTS, "localhost"})  # what an SSH client may call this machine


def family(host: str) -> socket.AddressFamily:
    """The socket family for a numeric host ("::1", "0.0.0.0"): IPv6 for any address with a colon."""
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def reach(host: str) -> str:
    """Where to connect to a listener bound on `host`: a wildcard ("0.0.0.0", "::", "") is reached on the
    loopback address of its family, any other address as it is."""
    if host == "":
        return LOOPBACK_HOSTS[0]
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return host
    if addr.is_unspecified:
        return LOOPBACK_HOSTS[addr.version == 6]
    return host


def local_names(host: str) -> frozenset[str]:
    """The destination names that mean a listener on `host` of this machine: loopback's, and its own address
    (lower case, without IPv6 brackets; compare with `bare(name)`)."""
    return LOCAL_NAMES | {host.lower(), reach(host).lower()}


def bare(name: str) -> str:
    """A destination name as `local_names` holds it: `[::1]` and `LocalHost` as `::1` and `localhost`."""
    return name.lower().strip("[]")


def plain(host: str) -> str:
    """`::ffff:1.2.3.4` (a dual-stack listener's view of an IPv4 peer) as `1.2.3.4`, so one peer is one address."""
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return host
    mapped = getattr(addr, "ipv4_mapped", None)
    return str(mapped) if mapped is not None else str(addr)


def is_loopback(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Loopback, including an IPv4 loopback peer seen through a dual-stack socket (`::ffff:127.0.0.1`)."""
    mapped = getattr(addr, "ipv4_mapped", None)
    return addr.is_loopback or (mapped is not None and mapped.is_loopback)


def loopback_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """LOOPBACK_HOSTS as networks, for allow lists that must let this machine's forwards in."""
    return [ipaddress.ip_network(h) for h in LOOPBACK_HOSTS]


def source_key(source: str) -> str:
    """What limits per address count by: an IPv4 address (v4-mapped ones too), or an IPv6 /64, which one host
    usually owns whole."""
    try:
        addr = ipaddress.ip_address(source)
    except ValueError:
        return source
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.ip_network(f"{addr}/64", strict=False))  # one host usually owns a whole /64
    return str(addr)
