"""OSC transports in the node's event loop: UDP and TCP on one port number, source filtering, bounded peers."""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import socket
from collections.abc import Sequence

from ciel_node.controls.framing import FramingError, LengthPrefixDecoder, SlipDecoder, detect, length_prefix_encode
from ciel_node.controls.framing import slip_encode as _slip
from ciel_node.controls.osc import OscSurface, Peer
from ciel_node.errors import CielError
from ciel_node.publish.feedback import Channel, FeedbackHub

log = logging.getLogger(__name__)

MAX_TCP_CONNECTIONS = 64
FIRST_PACKET_S = 10.0  # a TCP peer that sends no valid packet by then is closed (half-open, port scans)
MAX_WRITE_BUFFER = 1 << 20

Networks = Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]


def _allowed(host: str, allow: Networks | None) -> bool:
    if allow is None:
        return True
    try:
        addr = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return any(addr in net for net in allow)


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, surface: OscSurface, hub: FeedbackHub, allow: Networks | None) -> None:
        self.surface, self.hub, self.allow = surface, hub, allow

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        host, port = addr[0], addr[1]
        if not _allowed(host, self.allow):
            self.surface.counters["dropped"] += 1
            return
        self.surface.packet(data, Peer(host, port, self.hub))

    def error_received(self, exc: Exception) -> None:
        pass  # ICMP errors for replies sent from this socket: nothing to do


class TcpChannel(Channel):
    def __init__(self, transport: asyncio.Transport, counters: dict[str, int]) -> None:
        peer = transport.get_extra_info("peername") or ("?", 0)
        self.key = ("tcp", id(transport), peer[0], peer[1])
        self.transport = transport
        self.encode = _slip
        self._counters = counters

    def send(self, packet: bytes) -> bool:
        if self.transport.is_closing():
            return False
        if self.transport.get_write_buffer_size() > MAX_WRITE_BUFFER:  # a peer that stopped reading
            self._counters["feedback_dropped"] += 1
            return True
        self.transport.write(self.encode(packet))
        self._counters["feedback_sent"] += 1
        return True


class _TcpProtocol(asyncio.Protocol):
    def __init__(self, server: OscServer) -> None:
        self.server = server
        self.decoder: SlipDecoder | LengthPrefixDecoder | None = None
        self.channel: TcpChannel | None = None
        self.peer: Peer | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._valid = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        s = self.server
        host, port = (transport.get_extra_info("peername") or ("?", 0))[:2]
        if not _allowed(host, s.allow) or len(s.connections) >= MAX_TCP_CONNECTIONS:
            s.counters["dropped"] += 1
            transport.abort()
            return
        self.channel = TcpChannel(transport, s.counters)
        self.peer = Peer(host, port, s.hub, self.channel)
        s.connections.add(self)
        self._timer = asyncio.get_running_loop().call_later(s.first_packet_s, self._idle)

    def _idle(self) -> None:
        if not self._valid and self.channel is not None:
            self.server.counters["dropped"] += 1
            self.channel.transport.abort()

    def data_received(self, data: bytes) -> None:
        if self.channel is None or self.peer is None or not data:
            return
        s = self.server
        if self.decoder is None:
            self.decoder = detect(data[0])
            if isinstance(self.decoder, LengthPrefixDecoder):
                self.channel.encode = length_prefix_encode  # answer in the peer's own framing
        before = self.decoder.malformed
        try:
            for packet in self.decoder.feed(data):
                self._valid = s.surface.packet(packet, self.peer) or self._valid
        except FramingError as e:
            log.info("OSC TCP %s: %s; closing", self.peer.host, e)
            self.channel.transport.abort()
        s.counters["malformed"] += self.decoder.malformed - before

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self.channel is not None:
            self.server.hub.unsubscribe(self.channel.key)
        self.server.connections.discard(self)


class OscServer:
    """Owns the UDP endpoint and the TCP listener; start() binds both to the same port number."""

    def __init__(self, surface: OscSurface, hub: FeedbackHub, allow: Networks | None = None) -> None:
        self.surface, self.hub, self.allow = surface, hub, allow
        self.counters = surface.counters
        self.connections: set[_TcpProtocol] = set()
        self.first_packet_s = FIRST_PACKET_S
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self.port = 0

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            self._tcp = await loop.create_server(lambda: _TcpProtocol(self), host, port, family=family,
                                                 reuse_address=True)
            self.port = self._tcp.sockets[0].getsockname()[1]  # port 0: take what TCP got for UDP too
            self._udp, _ = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self.surface, self.hub, self.allow), local_addr=(host, self.port), family=family
            )
            # Bursts from a knob sweep or a bundle-happy patch: ask for a deep buffer (the kernel caps it).
            self._udp.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        except OSError as e:
            await self.stop()
            if e.errno == errno.EADDRINUSE:
                raise CielError(f"OSC port {host}:{port} is busy; pick another with --osc HOST:PORT") from None
            raise CielError(f"cannot listen for OSC on {host}:{port} ({e.strerror}); check --osc HOST:PORT") from None
        log.info("OSC on %s:%d (UDP and TCP)", host, self.port)

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        for conn in list(self.connections):
            if conn.channel is not None:
                conn.channel.transport.abort()
        if self._tcp is not None:
            self._tcp.close()
            await self._tcp.wait_closed()
            self._tcp = None
