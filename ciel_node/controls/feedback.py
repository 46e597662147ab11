"""OSC feedback: who gets the node's state and pieces (subscribers, reply ports, TCP connections) and the sending."""

from __future__ import annotations

import logging
import socket
import time
from enum import Enum
from typing import Any

from ciel_node import net
from ciel_node.controls.wire import osc_message
from ciel_node.params import PARAMS, Registry
from ciel_node.state import Controls

log = logging.getLogger(__name__)

MAX_SUBSCRIBERS = 32
MAX_HOSTS = 4096  # hosts remembered by the byte credit and the rate limits (the oldest is forgotten)
CREDIT_CAP = 65536  # bytes of unspent credit a host can hold: old traffic does not buy a later burst
CREDIT_TTL_S = 2.0  # ... nor credit it left unspent this long ago
THIRD_PARTY_BYTES_S, THIRD_PARTY_BURST = 16384.0, 32768.0  # to a host other than the one that subscribed it


class Route(Enum):
    """How feedback to a UDP destination is bounded (TCP connections are never bounded: not spoofable)."""

    FREE = "free"  # a subscriber a trusted sender (loopback, --osc-allow) registered for its own host
    THIRD_PARTY = "third-party"  # a subscriber on another host, registered by a sender in --osc-allow: rate-limited
    CREDIT = "credit"  # everything else: never more bytes than that host sent (no reflection, no amplification)


class HostBuckets:
    """A token bucket per host: `rate` tokens a second up to `burst`. Bounded: the oldest host is forgotten."""

    def __init__(self, rate: float, burst: float, hosts: int = MAX_HOSTS) -> None:
        self.rate, self.burst, self.hosts = rate, burst, hosts
        self._buckets: dict[str, list[float]] = {}  # host -> [tokens, refilled at]

    def available(self, host: str, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(host)
        if bucket is None:
            if len(self._buckets) >= self.hosts:
                del self._buckets[next(iter(self._buckets))]
            bucket = self._buckets[host] = [self.burst, now]
        else:
            bucket[0] = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
            bucket[1] = now
        return bucket[0]

    def spend(self, host: str, cost: float) -> None:
        """Take `cost` tokens after available(); the balance may go negative (paid back before the next)."""
        bucket = self._buckets.get(host)
        if bucket is not None:  # None only if forgotten since: nothing to charge
            bucket[0] -= cost

    def take(self, host: str, cost: float) -> bool:
        if self.available(host) < cost:
            return False
        self.spend(host, cost)
        return True


class ByteCredit:
    """Bytes received from each host lately, minus bytes sent back to it: the node never sends more than it got.

    Credit a host leaves unspent for CREDIT_TTL_S is forgotten: replies answer what was just asked.
    """

    def __init__(self, cap: int = CREDIT_CAP, hosts: int = MAX_HOSTS, ttl_s: float = CREDIT_TTL_S) -> None:
        self.cap, self.hosts, self.ttl_s = cap, hosts, ttl_s
        self._credit: dict[str, tuple[int, float]] = {}  # host -> (bytes, last received at)

    def add(self, host: str, nbytes: int) -> None:
        now = time.monotonic()
        credit, at = self._credit.pop(host, (0, now))
        if len(self._credit) >= self.hosts:
            del self._credit[next(iter(self._credit))]
        self._credit[host] = (min(self.cap, (credit if now - at <= self.ttl_s else 0) + nbytes), now)

    def spend(self, host: str, nbytes: int) -> bool:
        credit, at = self._credit.get(host, (0, 0.0))
        if credit < nbytes or time.monotonic() - at > self.ttl_s:
            return False
        self._credit[host] = (credit - nbytes, at)
        return True


_CAST = {"i": int, "h": int, "f": float, "d": float, "s": str}


PUSHED_READOUTS = ("presets",)  # readouts sent to subscribers and in /ciel/get, as /ciel/state/<name>


def state_message(name: str, value: Any, registry: Registry = PARAMS) -> bytes:
    """`/ciel/state/<name> value...` for a control, typed as declared (an int a control rounded stays an `i`).

    The types are looked up when the message is made: parameters declared at start-up are in it too."""
    tags = registry[name].types
    values = value if isinstance(value, (tuple, list)) else (value,)
    return osc_message(f"/ciel/state/{name}", *(_CAST[t](v) for t, v in zip(tags, values)), types=tags)


def state_messages(controls: Controls, registry: Registry = PARAMS) -> list[bytes]:
    """`/ciel/state/*` for every control."""
    return [state_message(s.name, getattr(controls, s.name), registry) for s in registry.controls]


class Channel:
    """Somewhere feedback can go. `key` identifies it, so nobody gets the same packet twice."""

    key: tuple[Any, ...]

    def send(self, packet: bytes) -> bool:
        """Send without blocking; False when the peer is gone for good."""
        raise NotImplementedError


class UdpChannel(Channel):
    """A connected UDP socket per destination: a refused send (ICMP) tells us the listener is gone."""

    def __init__(self, host: str, port: int, counters: dict[str, int]) -> None:
        self.key = ("udp", host, port)
        self.host, self.port = host, port
        self._counters = counters
        self._sock = socket.socket(net.family(host), socket.SOCK_DGRAM)
        try:
            self._sock.setblocking(False)
            self._sock.connect((host, port))  # broadcast (EACCES) or a scopeless link-local (EINVAL) fail here
        except OSError:
            self._sock.close()
            raise

    def send(self, packet: bytes) -> bool:
        try:
            self._sock.send(packet)
            self._counters["feedback_sent"] += 1
        except ConnectionRefusedError:
            # The kernel got "port unreachable" for an earlier packet: nobody listens there any more.
            # A live patch re-subscribes (ciel.pd does every few seconds), so dropping is safe.
            return False
        except OSError:  # buffer full, network down: lose this packet, keep the subscriber
            self._counters["feedback_dropped"] += 1
        return True

    def close(self) -> None:
        self._sock.close()


class FeedbackHub:
    """Holds the subscribers; pushes state changes and pieces to all of them, within each route's bound.

    `playback`: whether this node has speakers at all (False with --no-playback: playback reads 0).
    """

    def __init__(self, counters: dict[str, int], limit: int = MAX_SUBSCRIBERS, playback: bool = True,
                 registry: Registry = PARAMS) -> None:
        self.registry = registry
        self.counters = counters
        for name in ("feedback_sent", "feedback_dropped", "feedback_limited"):
            counters.setdefault(name, 0)
        self.limit = limit
        self.playback = playback
        self.credit = ByteCredit()
        self._third_party = HostBuckets(THIRD_PARTY_BYTES_S, THIRD_PARTY_BURST)
        self._subs: dict[tuple[Any, ...], tuple[Channel, float, Route]] = {}  # key -> (channel, renewed at, route)
        self._udp_cache: dict[tuple[Any, ...], UdpChannel] = {}

    @property
    def subscribers(self) -> list[Channel]:
        return [ch for ch, _, _ in self._subs.values()]

    def received(self, host: str, nbytes: int) -> None:
        """Bytes that came in from `host` over UDP: what the node may send back to it outside subscriptions."""
        self.credit.add(host, nbytes)

    def reported(self, name: str, value: Any) -> Any:
        """The value feedback tells: a node without speakers plays nothing, whatever the switch says."""
        return 0 if name == "playback" and not self.playback else value

    def state_message(self, name: str, value: Any) -> bytes:
        return state_message(name, self.reported(name, value), self.registry)

    def state_messages(self, controls: Controls) -> list[bytes]:
        return [self.state_message(s.name, getattr(controls, s.name)) for s in self.registry.controls]

    def udp(self, host: str, port: int) -> UdpChannel:
        """A reusable UDP channel (one socket per destination, bounded)."""
        key = ("udp", host, port)
        ch = self._udp_cache.get(key)
        if ch is None:
            if len(self._udp_cache) >= 4 * self.limit:  # one-off reply ports must not pile up sockets
                for old_key, old in list(self._udp_cache.items()):
                    if old_key not in self._subs:
                        old.close()
                        del self._udp_cache[old_key]
            ch = self._udp_cache[key] = UdpChannel(host, port, self.counters)
        return ch

    def subscribe(self, channel: Channel, route: Route = Route.FREE) -> None:
        if channel.key not in self._subs and len(self._subs) >= self.limit:
            oldest = min(self._subs, key=lambda k: self._subs[k][1])
            log.info("feedback: %d subscribers, dropping the longest unrenewed %s", self.limit, oldest)
            self._drop(oldest)
        self._subs[channel.key] = (channel, time.monotonic(), route)

    def unsubscribe(self, key: tuple[Any, ...]) -> bool:
        return self._drop(key)

    def _drop(self, key: tuple[Any, ...]) -> bool:
        return self._subs.pop(key, None) is not None

    def _allowed(self, ch: Channel, packet: bytes) -> bool:
        if not isinstance(ch, UdpChannel):
            return True  # a TCP connection: the peer is who it says it is, and reads at its own pace
        sub = self._subs.get(ch.key)
        route = sub[2] if sub is not None else Route.CREDIT  # a reply port, an error to a source port
        if route is Route.FREE:
            return True
        if route is Route.THIRD_PARTY:
            return self._third_party.take(ch.host, len(packet))
        return self.credit.spend(ch.host, len(packet))

    def send(self, channels: list[Channel], packets: list[bytes]) -> None:
        for ch in channels:
            for packet in packets:
                if not self._allowed(ch, packet):
                    self.counters["feedback_limited"] += 1
                    continue
                if not ch.send(packet):
                    if self._drop(ch.key):
                        log.info("feedback: %s is gone, unsubscribed", ch.key)
                    break

    def broadcast(self, packets: list[bytes], also: list[Channel] | None = None) -> None:
        """To every subscriber, plus `also` (deduplicated)."""
        channels = {ch.key: ch for ch in self.subscribers}
        for ch in also or []:
            channels.setdefault(ch.key, ch)
        self.send(list(channels.values()), packets)

    def on_controls(self, controls: Controls, changed: dict[str, Any]) -> None:
        # Without speakers a playback switch changes nothing anyone can hear: nothing to report.
        packets = [state_message(name, value, self.registry) for name, value in changed.items()
                   if name != "playback" or self.playback]
        if packets:
            self.broadcast(packets)

    def on_readout(self, name: str, value: Any) -> None:
        """store.watch(): the readouts a patch shows (the stored presets) go to subscribers as they change; the
        others change with every piece, which /ciel/piece already says."""
        if name in PUSHED_READOUTS:
            self.broadcast([state_message(name, value, self.registry)])

    def on_piece(self, entry: dict[str, Any]) -> None:
        packet = osc_message(
            "/ciel/piece", int(entry["seq"]), f"/media/{entry['image']}", f"/media/{entry['audio']}", types="iss"
        )
        self.broadcast([packet])

    def close(self) -> None:
        for ch in self._udp_cache.values():
            ch.close()
        self._udp_cache.clear()
        self._subs.clear()
