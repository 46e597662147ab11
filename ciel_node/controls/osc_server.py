"""OSC transports in the node's event loop: UDP and TCP on one port number, source filtering, bounded peers."""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import itertools
import logging
import socket
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from ciel_node import net
from ciel_node.controls.feedback import MAX_HOSTS, Channel, FeedbackHub, HostBuckets
from ciel_node.controls.framing import FramingError, LengthPrefixDecoder, SlipDecoder, detect, length_prefix_encode
from ciel_node.controls.framing import slip_encode as _slip
from ciel_node.controls.osc import OscSurface, Peer
from ciel_node.errors import CielError

log = logging.getLogger(__name__)

MAX_TCP_CONNECTIONS = 64
FIRST_PACKET_S = 10.0  # a TCP peer that sends no valid packet by then is closed (half-open, port scans)
MAX_WRITE_BUFFER = 1 << 20
TCP_TURN_CPU_S = 0.002  # CPU one TCP connection may use before the loop serves everything else again
UDP_TURN_CPU_S = 0.002  # ... and the UDP socket

Networks = Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]


@dataclass(frozen=True)
class SourceLimits:
    """Messages a second (a bundle counts each message it holds) each source address may have handled.

    A trusted source (loopback, or in --osc-allow) gets twice bench/osc.py's 10,000 a second from one
    patch; any other source (a node opened to every address) what a performer's hands make. Bursts
    hold a second at the rate: a backlog after the node was descheduled is not mistaken for a flood.
    What a single packet may cost is bounded in osc.py (MAX_MESSAGES, MAX_DEPTH, PACKET_CPU_S).
    """

    trusted_rate: float = 20_000.0
    trusted_burst: float = 20_000.0
    other_rate: float = 1_000.0
    other_burst: float = 1_000.0
    others_rate: float = 5_000.0  # every untrusted source together: spoofed addresses each get a bucket


class _Admission:
    """The per-source token buckets: a source over its rate has its UDP packets dropped, its TCP stream paused."""

    def __init__(self, limits: SourceLimits) -> None:
        self.limits = limits
        self.trusted = HostBuckets(limits.trusted_rate, limits.trusted_burst)
        self.other = HostBuckets(limits.other_rate, limits.other_burst)
        self.others = HostBuckets(limits.others_rate, limits.others_rate / 2)

    def wait_s(self, host: str, trusted: bool) -> float:
        """0 if `host` may have a packet handled now, else how long until it may."""
        if trusted:
            tokens = self.trusted.available(host)
            return 0.0 if tokens >= 1 else (1 - tokens) / self.limits.trusted_rate
        mine, everyone = self.other.available(host), self.others.available("")
        if mine >= 1 and everyone >= 1:
            return 0.0
        return max((1 - mine) / self.limits.other_rate, (1 - everyone) / self.limits.others_rate)

    def charge(self, host: str, trusted: bool, messages: int) -> None:
        if trusted:
            self.trusted.spend(host, messages)
        else:
            self.other.spend(host, messages)
            self.others.spend("", messages)


@dataclass(frozen=True)
class _Source:
    allowed: bool  # passes --osc-allow (everyone without it)
    trusted: bool  # loopback or in --osc-allow: its own subscriptions are not bounded, the higher rate applies
    explicit: bool  # in --osc-allow: may subscribe other hosts


class _UdpReader:
    """The UDP socket, read straight from the loop: the datagrams waiting are handled in one turn until
    UDP_TURN_CPU_S of CPU is used. A flood is drained in batches (a loop turn per datagram, as asyncio's
    datagram transport does, cost more than dropping the datagram), and the loop still turns every few ms."""

    def __init__(self, server: OscServer, sock: socket.socket) -> None:
        self.server, self.sock = server, sock

    def read(self) -> None:
        start = time.thread_time()
        for k in itertools.count():
            if k % 8 == 7 and time.thread_time() - start > UDP_TURN_CPU_S:
                return  # the rest on the next turn: the socket is still readable
            try:
                data, addr = self.sock.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # an ICMP error queued on the socket: nothing to do with it
                continue
            self.datagram(data, addr[0], addr[1])

    def datagram(self, data: bytes, host: str, port: int) -> None:
        s = self.server
        source = s.source(host)
        if not source.allowed:
            s.counters["dropped"] += 1
            return
        s.hub.received(host, len(data))  # the reply credit: what this address may get back
        if s.admission.wait_s(host, source.trusted) > 0:
            s.over_limit(host)
            return
        n = s.surface.packet(data, Peer(host, port, s.hub, trusted=source.trusted, explicit=source.explicit))
        s.admission.charge(host, source.trusted, max(1, n or 0))


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
    """One TCP peer. Its packets queue and are handled a bounded slice per loop turn, within its source's
    rate: a fast stream is slowed (reading paused), never allowed to hold up the loop."""

    def __init__(self, server: OscServer) -> None:
        self.server = server
        self.decoder: SlipDecoder | LengthPrefixDecoder | None = None
        self.channel: TcpChannel | None = None
        self.peer: Peer | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._valid = False
        self.trusted = False
        self._pending: deque[bytes] = deque()
        self._next: asyncio.Handle | None = None  # the next slice of work, when one is due
        self._paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        s = self.server
        host, port = (transport.get_extra_info("peername") or ("?", 0))[:2]
        source = s.source(host)
        if not source.allowed or len(s.connections) >= MAX_TCP_CONNECTIONS:
            s.counters["dropped"] += 1
            transport.abort()
            return
        self.channel = TcpChannel(transport, s.counters)
        self.trusted = source.trusted
        self.peer = Peer(host, port, s.hub, self.channel, trusted=source.trusted, explicit=source.explicit)
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
            self._pending.extend(self.decoder.feed(data))
        except FramingError as e:
            log.info("OSC TCP %s: %s; closing", self.peer.host, e)
            self.channel.transport.abort()
        s.counters["malformed"] += self.decoder.malformed - before
        if self._next is None:
            self._work()

    def _work(self) -> None:
        """Handle queued packets for up to TCP_TURN_CPU_S, within the source's rate; then yield the loop."""
        self._next = None
        s, peer, channel = self.server, self.peer, self.channel
        if peer is None or channel is None or channel.transport.is_closing():
            return
        loop = asyncio.get_running_loop()
        start = time.thread_time()
        while self._pending:
            wait = s.admission.wait_s(peer.host, self.trusted)
            if wait > 0 or time.thread_time() - start > TCP_TURN_CPU_S:
                if not self._paused:
                    self._paused = True
                    channel.transport.pause_reading()  # TCP's own flow control slows the sender down
                self._next = loop.call_later(wait, self._work) if wait > 0 else loop.call_soon(self._work)
                return
            n = s.surface.packet(self._pending.popleft(), peer)
            s.admission.charge(peer.host, self.trusted, max(1, n or 0))
            self._valid = self._valid or n is not None
        if self._paused:
            self._paused = False
            channel.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._next is not None:
            self._next.cancel()
        self._pending.clear()
        if self.channel is not None:
            self.server.hub.unsubscribe(self.channel.key)
        self.server.connections.discard(self)


class OscServer:
    """Owns the UDP endpoint and the TCP listener; start() binds both to the same port number."""

    def __init__(self, surface: OscSurface, hub: FeedbackHub, allow: Networks | None = None,
                 limits: SourceLimits | None = None) -> None:
        self.surface, self.hub, self.allow = surface, hub, allow
        self.counters = surface.counters
        for name in ("dropped", "rate_limited"):
            self.counters.setdefault(name, 0)
        self.admission = _Admission(limits or SourceLimits())
        self.connections: set[_TcpProtocol] = set()
        self.first_packet_s = FIRST_PACKET_S
        self._sources: dict[str, _Source] = {}
        self._logged_at = -1e9
        self._udp: socket.socket | None = None
        self._tcp: asyncio.Server | None = None
        self.port = 0

    @property
    def limits(self) -> SourceLimits:
        return self.admission.limits

    @limits.setter
    def limits(self, limits: SourceLimits) -> None:
        self.admission = _Admission(limits)

    def source(self, host: str) -> _Source:
        """What a source address may do (cached: a flood must not parse its address per packet)."""
        known = self._sources.get(host)
        if known is not None:
            return known
        try:
            addr = ipaddress.ip_address(host.split("%")[0])
        except ValueError:
            known = _Source(False, False, False)
        else:
            explicit = self.allow is not None and any(addr in net for net in self.allow)
            known = _Source(self.allow is None or explicit, explicit or net.is_loopback(addr), explicit)
        if len(self._sources) >= MAX_HOSTS:
            self._sources.clear()
        self._sources[host] = known
        return known

    def over_limit(self, host: str) -> None:
        """A UDP packet over its source's rate: dropped, counted, logged at most once per 10 s."""
        self.counters["dropped"] += 1
        self.counters["rate_limited"] += 1
        now = time.monotonic()
        if now - self._logged_at > 10:
            self._logged_at = now
            log.warning("OSC: %s is sending faster than its limit; dropping the excess (%d dropped so far, "
                        "logged once per 10 s; --osc-allow raises the limit)", host, self.counters["rate_limited"])

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        family = net.family(host)
        try:
            self._tcp = await loop.create_server(lambda: _TcpProtocol(self), host, port, family=family,
                                                 reuse_address=True)
            self.port = self._tcp.sockets[0].getsockname()[1]  # port 0: take what TCP got for UDP too
            self._udp = socket.socket(family, socket.SOCK_DGRAM)
            self._udp.setblocking(False)
            # Bursts from a knob sweep or a bundle-happy patch: ask for a deep buffer (the kernel caps it).
            self._udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            self._udp.bind((host, self.port))
            loop.add_reader(self._udp.fileno(), _UdpReader(self, self._udp).read)
        except OSError as e:
            await self.stop()
            if e.errno == errno.EADDRINUSE:
                raise CielError(f"OSC port {host}:{port} is busy; pick another with --osc HOST:PORT") from None
            raise CielError(f"cannot listen for OSC on {host}:{port} ({e.strerror}); check --osc HOST:PORT") from None
        log.info("OSC on %s:%d (UDP and TCP)", host, self.port)
        if self.allow is None and not net.is_loopback(ipaddress.ip_address(host)):
            log.warning("OSC is open to every address on %s without --osc-allow: UDP feedback to addresses other "
                        "than loopback is limited to the bytes each sent (no amplification); list your "
                        "controllers' networks in --osc-allow", host)

    async def stop(self) -> None:
        if self._udp is not None:
            asyncio.get_running_loop().remove_reader(self._udp.fileno())
            self._udp.close()
            self._udp = None
        for conn in list(self.connections):
            if conn.channel is not None:
                conn.channel.transport.abort()
        if self._tcp is not None:
            self._tcp.close()
            await self._tcp.wait_closed()
            self._tcp = None
