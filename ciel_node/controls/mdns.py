"""mDNS (DNS-SD) advertisement of the node's OSCQuery and OSC services, with zeroconf's asyncio API.

Only beyond loopback: on 127.0.0.1 nobody else could reach what is advertised. No multicast interface, or a
name nobody lets us have: one warning, and the node goes on (a client can still be given http://IP:PORT/).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from typing import Any

from ciel_node import net

log = logging.getLogger(__name__)

OSCQUERY = "_oscjson._tcp.local."  # the OSCQueryProposal's service type
OSC = "_osc._udp.local."


def is_loopback(host: str) -> bool:
    """net.is_loopback for a host string (v4-mapped loopback included); False for a name."""
    ip = _ip(host)
    return ip is not None and net.is_loopback(ip)


def is_unspecified(host: str) -> bool:
    """A wildcard (0.0.0.0, ::), or not an IP at all."""
    ip = _ip(host)
    return ip is None or ip.is_unspecified


class Advertisement:
    """The node's services under one instance name (zeroconf renames it, `name (2)`, if the LAN has it already)."""

    def __init__(self, name: str) -> None:
        self.name = name[:63]  # a DNS label
        self.names: list[str] = []  # the registered service names, once registered
        self._zeroconf: Any = None  # zeroconf's AsyncZeroconf, while advertising

    @property
    def active(self) -> bool:
        return self._zeroconf is not None

    async def start(self, host: str, port: int, osc_host: str, osc_port: int) -> None:
        """`_oscjson._tcp` for host:port and, when OSC is reachable beyond loopback too, `_osc._udp` for it."""
        if is_loopback(host):
            return
        # Imported here: a node on loopback (the default) never loads zeroconf.
        from zeroconf import InterfaceChoice, IPVersion, NonUniqueNameException, ServiceInfo
        from zeroconf.asyncio import AsyncZeroconf

        here = _addresses(host)
        if not here:
            log.warning("OSCQuery: no network address to advertise on %s; not advertised over mDNS (clients can "
                        "still open http://IP:%d/)", host, port)
            return
        server = f"{socket.gethostname()}.local."
        services = [ServiceInfo(OSCQUERY, f"{self.name}.{OSCQUERY}", port=port, parsed_addresses=here, server=server)]
        if not is_loopback(osc_host):
            services.append(ServiceInfo(OSC, f"{self.name}.{OSC}", port=osc_port,
                                        parsed_addresses=_addresses(osc_host), server=server))
        try:
            # Bound to one address: advertised on its interface only; on a wildcard, on every interface.
            self._zeroconf = AsyncZeroconf(interfaces=InterfaceChoice.All if is_unspecified(host) else [host],
                                           ip_version=IPVersion.All if ":" in host else IPVersion.V4Only)
            for info in services:
                await (await self._zeroconf.async_register_service(info, allow_name_change=True))
                self.names.append(info.name)
        except (OSError, NonUniqueNameException, ValueError) as e:
            log.warning("OSCQuery: cannot advertise over mDNS on %s (%s); clients can still open http://%s:%d/",
                        host, e, here[0], port)
            await self.stop()
            return
        log.info("OSCQuery advertised over mDNS as %s", ", ".join(self.names))

    async def stop(self) -> None:
        """Withdraw the services (goodbye packets) and close the sockets."""
        zc, self._zeroconf = self._zeroconf, None
        if zc is not None:
            with contextlib.suppress(Exception):  # going away: a dead interface must not hold up the stop
                await asyncio.wait_for(zc.async_unregister_all_services(), 2.0)
            with contextlib.suppress(Exception):
                await zc.async_close()
        self.names.clear()


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return None


def _addresses(host: str) -> list[str]:
    """The addresses a service bound to `host` is reached at: itself, or every non-loopback one for a wildcard."""
    if not is_unspecified(host):
        return [host]
    import ifaddr  # zeroconf's own dependency

    found = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            parsed = _ip(ip.ip[0] if isinstance(ip.ip, tuple) else ip.ip)
            if parsed is None or parsed.is_loopback or parsed.is_link_local:
                continue  # link-local needs a scope that an mDNS answer does not carry
            if ":" in host or parsed.version == 4:
                found.append(str(parsed))
    return found
