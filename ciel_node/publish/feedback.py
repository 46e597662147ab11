"""OSC feedback: who gets the node's state and pieces (subscribers, reply ports, TCP connections) and the sending."""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

from pythonosc.osc_message_builder import OscMessageBuilder

from ciel_node.state import Controls

log = logging.getLogger(__name__)

MAX_SUBSCRIBERS = 32
STATE_TYPES = {"interval": "f", "seed": "i", "drift": "f", "volume_ceiling": "f", "playback": "i"}


def osc_message(address: str, *args: Any, types: str | None = None) -> bytes:
    builder = OscMessageBuilder(address)
    for i, arg in enumerate(args):
        builder.add_arg(arg, types[i] if types else None)
    return builder.build().dgram


def state_message(name: str, value: float | int) -> bytes:
    kind = STATE_TYPES[name]
    return osc_message(f"/ciel/state/{name}", int(value) if kind == "i" else float(value), types=kind)


def state_messages(controls: Controls) -> list[bytes]:
    return [state_message(name, getattr(controls, name)) for name in STATE_TYPES]


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
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.setblocking(False)
        self._sock.connect((host, port))

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
    """Holds the subscribers; pushes state changes and pieces to all of them."""

    def __init__(self, counters: dict[str, int], limit: int = MAX_SUBSCRIBERS) -> None:
        self.counters = counters
        self.limit = limit
        self._subs: dict[tuple[Any, ...], tuple[Channel, float]] = {}  # key -> (channel, renewed at)
        self._udp_cache: dict[tuple[Any, ...], UdpChannel] = {}

    @property
    def subscribers(self) -> list[Channel]:
        return [ch for ch, _ in self._subs.values()]

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

    def subscribe(self, channel: Channel) -> None:
        if channel.key not in self._subs and len(self._subs) >= self.limit:
            oldest = min(self._subs, key=lambda k: self._subs[k][1])
            log.info("feedback: %d subscribers, dropping the longest unrenewed %s", self.limit, oldest)
            self._drop(oldest)
        self._subs[channel.key] = (channel, time.monotonic())

    def unsubscribe(self, key: tuple[Any, ...]) -> bool:
        return self._drop(key)

    def _drop(self, key: tuple[Any, ...]) -> bool:
        return self._subs.pop(key, None) is not None

    def send(self, channels: list[Channel], packets: list[bytes]) -> None:
        for ch in channels:
            for packet in packets:
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
        self.broadcast([state_message(name, value) for name, value in changed.items() if name in STATE_TYPES])

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
