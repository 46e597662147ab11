"""The OSC address space: parse a packet, validate each message, turn it into a control update or a request."""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from ciel_node.controls.feedback import PUSHED_READOUTS, Channel, FeedbackHub, Route, UdpChannel
from ciel_node.controls.wire import PACKET_CPU_S, MalformedPacket, osc_message, parse_packet
from ciel_node.params import READ, READ_WRITE, ParamSpec, Registry, is_pattern
from ciel_node.state import ControlError, ControlStore

log = logging.getLogger(__name__)

# --- the address space ------------------------------------------------------------------------------
class Peer:
    """Where a packet came from, how far it is trusted, and where its answers go.

    `trusted`: loopback or in --osc-allow (subscriptions for its own host are exempt from the reply
    budget); `explicit`: in --osc-allow (may also subscribe other hosts, rate-limited).
    """

    def __init__(self, host: str, port: int, hub: FeedbackHub, connection: Channel | None = None,
                 trusted: bool = True, explicit: bool = False) -> None:
        self.host, self.port = host, port
        self.hub = hub
        self.connection = connection  # set for TCP: answers go back on the same connection
        self.trusted, self.explicit = trusted, explicit

    def channels(self) -> list[Channel]:
        """The sender's own feedback: its TCP connection, else its host's subscribers, else its source port."""
        if self.connection is not None:
            return [self.connection]
        mine: list[Channel] = [ch for ch in self.hub.subscribers if isinstance(ch, UdpChannel) and ch.host == self.host]
        return mine or [self.hub.udp(self.host, self.port)]


class OscSurface:
    """Translates OSC messages into state updates; wire-agnostic (UDP and TCP feed it packets)."""

    def __init__(self, store: ControlStore, request_next: Callable[[], None], hub: FeedbackHub,
                 counters: dict[str, int], commands: dict[str, Callable[[Any], None]] | None = None,
                 wekinator: tuple[str, ...] = ()) -> None:
        """`commands`: what the node does for each declared command that takes a value (presets), by name; it
        gets the value validated as declared, and raises ControlError (ParamError) to refuse it. `wekinator`: the
        parameters Wekinator's outputs go to, in order (`name` or `name.k`); ValueError names a bad one."""
        self.store, self.request_next, self.hub = store, request_next, hub
        self.commands = commands or {}
        self.wek_targets = wekinator_targets(store.registry, wekinator)
        self.registry = store.registry
        self.counters = counters
        for name in ("received", "applied", "rejected", "malformed"):
            counters.setdefault(name, 0)
        # The protocol's own messages (feedback routing), then one handler per declared parameter.
        self._protocol: dict[str, Handler] = {
            "/ciel/get": self._get, "/ciel/subscribe": self._subscribe, "/ciel/unsubscribe": self._unsubscribe,
            "/wek/outputs": self._wekinator,
        }
        self._handlers: dict[str, Handler] = dict(self._protocol)
        for spec in self.registry:
            self._handlers[spec.address] = (
                self._next if spec.name == "next" else self._reset(spec) if spec.resets else self._command(spec)
            ) if spec.command else self._control(spec) if spec.access == READ_WRITE else self._read_only(spec)
        self._logged_at = -1e9
        # Named by their first part below /ciel/ (a container by its shape: bend/…, a hundred addresses), so an
        # error stays one short line; OSCQuery and the README list each one.
        parts = dict.fromkeys(a[6:] if a.count("/") == 2 else a[6:].split("/")[0] + "/…"
                              for a in self._handlers if a.startswith("/ciel/"))
        others = [a for a in self._handlers if not a.startswith("/ciel/")]
        self._known = f"known: /ciel/{{{','.join(parts)}}}, {', '.join(others)} (each one: OSCQuery, or the README)"
        self._unknown = f"unknown address; {self._known}"

    def packet(self, data: bytes, peer: Peer) -> int | None:
        """One datagram or TCP frame: the number of messages in it, None if malformed (dropped and counted).

        Never raises. A packet's errors go back as one /ciel/error, however many messages failed.
        """
        self.counters["received"] += 1
        try:
            messages = parse_packet(data)
        except MalformedPacket:
            self.counters["malformed"] += 1
            return None
        errors: list[tuple[str, str]] = []
        start = time.thread_time()
        for k, (address, args) in enumerate(messages):
            if k and time.thread_time() - start > PACKET_CPU_S:
                left = len(messages) - k
                self.counters["rejected"] += left
                errors.append((address, f"not applied: the packet used up its {PACKET_CPU_S * 1000:g} ms "
                                        f"({left} messages left; send fewer per bundle)"))
                break
            reason = self.message(address, args, peer)
            if reason is not None:
                errors.append((address, reason))
        if errors:
            address, reason = errors[0]
            if len(errors) > 1:
                reason = f"{reason} (and {len(errors) - 1} more errors in this packet)"
            self.hub.send(peer.channels(), [osc_message("/ciel/error", address, reason, types="ss")])
        return len(messages)

    def message(self, address: str, args: list[Any], peer: Peer) -> str | None:
        """Apply one message; the reason it was rejected, or None.

        An OSC 1.0 address pattern (`/ciel/{drift,seed}`, `/ciel/*`) applies to every declared parameter it
        matches (the protocol's get/subscribe are addressed by name only); the first failure is the reason.
        """
        handler = self._handlers.get(address)
        try:
            if handler is not None:
                handler(args, peer)
            elif is_pattern(address):
                return self._pattern(address, args, peer)
            else:
                raise ControlError(self._unknown)
        except ControlError as e:
            self.counters["rejected"] += 1
            return str(e)
        except Exception as e:  # noqa: BLE001 - a bug must cost one message, never the node or a traceback per packet
            self.counters["rejected"] += 1
            if time.monotonic() - self._logged_at > 10:
                self._logged_at = time.monotonic()
                log.warning("OSC %s from %s failed: %r (logged once per 10 s)", address, peer.host, e)
            return f"internal error ({type(e).__name__})"
        self.counters["applied"] += 1
        return None

    def _pattern(self, pattern: str, args: list[Any], peer: Peer) -> str | None:
        """Apply a pattern's message to each parameter it matches; counts and reasons per match."""
        matched = self.registry.match(pattern)  # ControlError if it is not a pattern at all
        specs = [s for s in matched if s.access != READ]
        if not specs:
            what = "only read-only parameters" if matched else "no parameter"
            raise ControlError(f"pattern matches {what}; {self._known}")
        reasons = []
        for spec in specs:
            try:
                self._handlers[spec.address](args, peer)
            except ControlError as e:
                self.counters["rejected"] += 1
                reasons.append(f"{spec.address}: {e}")
            else:
                self.counters["applied"] += 1
        return "; ".join(reasons) or None

    # --- handlers -----------------------------------------------------------------------------
    def _control(self, spec: ParamSpec) -> Handler:
        name, count = spec.name, len(spec.types)
        fewest, most = spec.arity()

        def apply(args: list[Any], peer: Peer) -> None:
            if len(args) != count:
                _arity(args, fewest, most, f"{name} takes {spec.count_text()}")
            value = args[0] if count == 1 else tuple(args)
            before = self.hub.reported(name, getattr(self.store.controls, name))
            _, applied = self.store.update(**{name: value})
            got = self.hub.reported(name, applied[name])
            if got != value:  # clamped, rounded, or (playback on a node without speakers) not possible: echo
                subscribers = {ch.key for ch in self.hub.subscribers} if got != before else set()
                echo = [ch for ch in peer.channels() if ch.key not in subscribers]
                self.hub.send(echo, [self.hub.state_message(name, got)])

        return apply

    def _read_only(self, spec: ParamSpec) -> Handler:
        def refuse(args: list[Any], peer: Peer) -> None:
            raise ControlError(f"{spec.address} is read-only (the node sets it); read it with OSCQuery or /ciel/get")

        return refuse

    def _command(self, spec: ParamSpec) -> Handler:
        fewest, most = spec.arity()

        def run(args: list[Any], peer: Peer) -> None:
            _arity(args, fewest, most, f"{spec.address} takes {spec.count_text()}")
            act = self.commands.get(spec.name)
            if act is None:
                raise ControlError(f"{spec.address} is not available on this node")
            act(spec.coerce(args[0] if len(spec.types) == 1 else tuple(args))[0])

        return run

    def _reset(self, spec: ParamSpec) -> Handler:
        def reset(args: list[Any], peer: Peer) -> None:
            if args in ([None], [float("inf")]):  # an impulse, as for /ciel/next
                args = []
            _arity(args, 0, 0, f"{spec.address} takes no arguments")
            self.store.reset(spec.resets)

        return reset

    def _next(self, args: list[Any], peer: Peer) -> None:
        if args in ([None], [float("inf")]):  # an impulse as OSCQuery declares it (TYPE "I"; ossia sends ,I or ,N)
            args = []
        _arity(args, 0, 0, "next takes no arguments")
        self.request_next()

    def _wekinator(self, args: list[Any], peer: Peer) -> None:
        """Wekinator's output message: one float per output, onto the mapped parameters at once (each clamped into
        its range, as any control)."""
        n = len(self.wek_targets)
        if len(args) != n:
            mapped = ",".join(f"{name}.{k + 1}" if k is not None else name for name, k in self.wek_targets)
            raise ControlError(f"/wek/outputs takes {n} floats (mapped to {mapped}), got {len(args)}; set Wekinator's "
                               "number of outputs, or the node's `wekinator` setting")
        for v in args:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ControlError(f"/wek/outputs takes floats, got {v!r}")
        values: dict[str, Any] = {}
        for (name, k), v in zip(self.wek_targets, args):
            if k is None:
                values[name] = v
            else:
                current = list(values[name] if name in values else self.store.value(name))
                current[k] = v
                values[name] = tuple(current)
        self.store.update(**values)

    def _get(self, args: list[Any], peer: Peer) -> None:
        _arity(args, 0, 1, "get takes an optional reply port")
        if args:
            _port(args[0])  # validated either way
        if peer.connection is not None:
            # Over TCP the answer goes back on the connection: a reply port would be a port on this
            # machine, which an SSH-forwarded peer must not be able to aim UDP at.
            channels: list[Channel] = [peer.connection]
        else:
            # UDP: a subscriber's port gets the whole state; any other port no more bytes than its host sent.
            channels = [self._udp(peer.host, int(args[0]) if args else peer.port)]
        readouts = [self.hub.state_message(n, self.store.value(n)) for n in PUSHED_READOUTS if n in self.registry]
        self.hub.send(channels, self.hub.state_messages(self.store.controls) + readouts)

    def _subscribe(self, args: list[Any], peer: Peer) -> None:
        channel = self._target(args, peer, "subscribe")
        if peer.connection is not None:
            route = Route.FREE
        elif isinstance(channel, UdpChannel) and channel.host != peer.host:
            if not peer.explicit:
                raise ControlError(f"feedback to another host ({channel.host}) needs the sender ({peer.host}) "
                                   "in --osc-allow; or subscribe from that host")
            route = Route.THIRD_PARTY
        else:
            route = Route.FREE if peer.trusted else Route.CREDIT
        self.hub.subscribe(channel, route)

    def _unsubscribe(self, args: list[Any], peer: Peer) -> None:
        channel = self._target(args, peer, "unsubscribe")
        if isinstance(channel, UdpChannel) and channel.host != peer.host and not peer.explicit:
            raise ControlError(f"unsubscribing another host ({channel.host}) needs the sender in --osc-allow")
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
                addr = ipaddress.ip_address(args[1])
            except ValueError:
                raise ControlError(f"host {args[1]!r} is not an IP address (names are not resolved)") from None
            if addr.is_multicast or addr.is_unspecified or addr == ipaddress.IPv4Address("255.255.255.255"):
                raise ControlError(f"host {args[1]} is a broadcast, multicast or unspecified address; "
                                   "give the subscriber's own IP")
            host = str(addr)
        return self._udp(host, port)

    def _udp(self, host: str, port: int) -> UdpChannel:
        try:
            return self.hub.udp(host, port)
        except OSError as e:  # e.g. fe80::1 without a scope: no route the kernel can pick
            raise ControlError(f"cannot send to {host} port {port} ({e.strerror or e}); give a reachable IP") from None


Handler = Callable[[list[Any], Peer], None]


def _arity(args: list[Any], lo: int, hi: int, what: str) -> None:
    if not lo <= len(args) <= hi:
        raise ControlError(f"{what}, got {len(args)} argument{'s' if len(args) != 1 else ''}")


def _port(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise ControlError(f"port must be a number in 1..65535, got {value!r}")
    if not (1 <= value <= 65535) or int(value) != value:
        raise ControlError(f"port must be a whole number in 1..65535, got {value!r}")
    return int(value)


def wekinator_targets(registry: Registry, targets: tuple[str, ...]) -> list[tuple[str, int | None]]:
    """`xy_image.1` -> ("xy_image", 0): each target a numeric control of this node, a component within its values."""
    out: list[tuple[str, int | None]] = []
    for target in targets:
        name, _, k = target.partition(".")
        spec = registry.at("/ciel/" + name) if name not in registry else registry[name]
        if spec is None or spec.access != READ_WRITE or "s" in spec.types:
            raise ValueError(f"wekinator target {target!r} is not a numeric control of this node; use names from "
                             "the README's table, like xy_image.1 or drift")
        if k:
            if not k.isdigit() or not 1 <= int(k) <= len(spec.types):
                raise ValueError(f"wekinator target {target!r}: {spec.name} has values 1..{len(spec.types)}")
            out.append((spec.name, int(k) - 1))
        elif len(spec.types) == 1:
            out.append((spec.name, None))
        else:
            raise ValueError(f"wekinator target {target!r}: {spec.name} takes {len(spec.types)} values; "
                             f"name one, like {spec.name}.1")
    return out
