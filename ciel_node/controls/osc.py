"""The OSC address space: parse a packet, validate each message, turn it into a control update or a request."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from typing import Any

from pythonosc.osc_packet import OscPacket

from ciel_node.publish.feedback import (
    Channel,
    FeedbackHub,
    UdpChannel,
    osc_message,
    state_message,
    state_messages,
)
from ciel_node.state import ControlError, ControlStore

log = logging.getLogger(__name__)

CONTROLS = ("interval", "seed", "drift", "volume_ceiling", "playback")


class Peer:
    """Where a packet came from, and where its answers go."""

    def __init__(self, host: str, port: int, hub: FeedbackHub, connection: Channel | None = None) -> None:
        self.host, self.port = host, port
        self.hub = hub
        self.connection = connection  # set for TCP: answers go back on the same connection

    def channels(self) -> list[Channel]:
        """The sender's own feedback: its TCP connection, else its host's subscribers, else its source port."""
        if self.connection is not None:
            return [self.connection]
        mine: list[Channel] = [ch for ch in self.hub.subscribers if isinstance(ch, UdpChannel) and ch.host == self.host]
        return mine or [self.hub.udp(self.host, self.port)]


class OscSurface:
    """Translates OSC messages into state updates; wire-agnostic (UDP and TCP feed it packets)."""

    def __init__(self, store: ControlStore, request_next: Callable[[], None], hub: FeedbackHub,
                 counters: dict[str, int]) -> None:
        self.store, self.request_next, self.hub = store, request_next, hub
        self.counters = counters
        self._handlers: dict[str, Callable[[list[Any], Peer], None]] = {
            "/ciel/next": self._next, "/ciel/get": self._get,
            "/ciel/subscribe": self._subscribe, "/ciel/unsubscribe": self._unsubscribe,
        }
        for name in CONTROLS:
            self._handlers[f"/ciel/{name}"] = self._control(name)

    def packet(self, data: bytes, peer: Peer) -> bool:
        """One datagram or TCP frame; False if malformed (dropped and counted, never raised)."""
        self.counters["received"] += 1
        try:
            messages = OscPacket(data).messages
        except Exception:  # noqa: BLE001 - anything a hostile packet makes the parser throw
            self.counters["malformed"] += 1
            return False
        # Bundle timetags are honoured as "now": a future timetag never holds anything back.
        for timed in messages:
            self.message(timed.message.address, list(timed.message.params), peer)
        return True

    def message(self, address: str, args: list[Any], peer: Peer) -> None:
        handler = self._handlers.get(address)
        try:
            if handler is None:
                raise ControlError(f"unknown address; known: {', '.join(self._handlers)}")
            handler(args, peer)
        except ControlError as e:
            self.counters["rejected"] += 1
            self.hub.send(peer.channels(), [osc_message("/ciel/error", address, str(e), types="ss")])
            return
        self.counters["applied"] += 1

    # --- handlers -----------------------------------------------------------------------------
    def _control(self, name: str) -> Callable[[list[Any], Peer], None]:
        def apply(args: list[Any], peer: Peer) -> None:
            _arity(args, 1, 1, f"{name} takes one number")
            value = args[0]
            before = getattr(self.store.controls, name)
            _, applied = self.store.update(**{name: value})
            got = applied[name]
            if got != value:  # clamped (or rounded): echo what was really set
                subscribers = {ch.key for ch in self.hub.subscribers} if got != before else set()
                echo = [ch for ch in peer.channels() if ch.key not in subscribers]
                self.hub.send(echo, [state_message(name, got)])

        return apply

    def _next(self, args: list[Any], peer: Peer) -> None:
        _arity(args, 0, 0, "next takes no arguments")
        self.request_next()

    def _get(self, args: list[Any], peer: Peer) -> None:
        _arity(args, 0, 1, "get takes an optional reply port")
        if args:
            _port(args[0])  # validated either way
        if peer.connection is not None:
            # Over TCP the answer goes back on the connection: a reply port would be a port on this
            # machine, which an SSH-forwarded peer must not be able to aim UDP at.
            channels: list[Channel] = [peer.connection]
        elif args:
            channels = [self.hub.udp(peer.host, int(args[0]))]
        else:
            channels = [self.hub.udp(peer.host, peer.port)]
        self.hub.send(channels, state_messages(self.store.controls))

    def _subscribe(self, args: list[Any], peer: Peer) -> None:
        channel = self._target(args, peer, "subscribe")
        self.hub.subscribe(channel)

    def _unsubscribe(self, args: list[Any], peer: Peer) -> None:
        channel = self._target(args, peer, "unsubscribe")
        self.hub.unsubscribe(channel.key)

    def _target(self, args: list[Any], peer: Peer, verb: str) -> Channel:
        _arity(args, 1, 2, f"{verb} takes a port and an optional host")
        port = _port(args[0])
        if peer.connection is not None:
            return peer.connection  # over TCP, feedback comes back on the same connection
        host = peer.host
        if len(args) == 2:
            if not isinstance(args[1], str):
                raise ControlError(f"host must be a string with an IP address, got {args[1]!r}")
            try:
                host = str(ipaddress.ip_address(args[1]))
            except ValueError:
                raise ControlError(f"host {args[1]!r} is not an IP address (names are not resolved)") from None
        return self.hub.udp(host, port)


def _arity(args: list[Any], lo: int, hi: int, what: str) -> None:
    if not lo <= len(args) <= hi:
        raise ControlError(f"{what}, got {len(args)} argument{'s' if len(args) != 1 else ''}")


def _port(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise ControlError(f"port must be a number in 1..65535, got {value!r}")
    if not (1 <= value <= 65535) or int(value) != value:
        raise ControlError(f"port must be a whole number in 1..65535, got {value!r}")
    return int(value)
