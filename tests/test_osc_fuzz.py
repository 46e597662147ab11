"""Fuzz: 100,000 random and mutated packets over real sockets; the node stays up and its state stays valid."""

from __future__ import annotations

import asyncio
import math
import random
import socket
import struct
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nodes import RunningNode, node_config, running_node, until
from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket

from ciel_node.controls.framing import length_prefix_encode, slip_encode
from ciel_node.controls.osc_server import MAX_TCP_CONNECTIONS, SourceLimits
from ciel_node.controls.wire import MAX_DEPTH, MAX_MESSAGES, MalformedPacket, osc_message, parse_packet
from ciel_node.params import PARAMS
from ciel_node.state import Controls

VALID = [
    osc_message("/ciel/interval", 12.5, types="f"), osc_message("/ciel/seed", 123, types="i"),
    osc_message("/ciel/drift", 0.4, types="f"), osc_message("/ciel/volume_ceiling", -12, types="i"),
    osc_message("/ciel/playback", 1, types="i"), osc_message("/ciel/get"),
    osc_message("/ciel/subscribe", 9, types="i"),
]


def _bundle(timetag_s: float, contents: list[bytes]) -> bytes:
    secs = int(timetag_s) + 2208988800
    body = b"".join(struct.pack(">i", len(c)) + c for c in contents)
    return b"#bundle\0" + struct.pack(">II", secs & 0xFFFFFFFF, 0) + body


def mutants(rng: random.Random, n: int) -> Iterator[bytes]:
    """Random bytes, truncations, bit flips, bad type tags, deep and future bundles, bad lengths."""
    for i in range(n):
        kind = i % 10
        base = rng.choice(VALID)
        if kind == 0:
            yield rng.randbytes(rng.randint(0, 200))
        elif kind == 1:
            yield base[: rng.randint(0, len(base) - 1)]
        elif kind == 2:
            b = bytearray(base)
            for _ in range(rng.randint(1, 4)):
                b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
            yield bytes(b)
        elif kind == 3:
            tags = "".join(rng.choice("ifsbhtdScrmTFNI[]xyz") for _ in range(rng.randint(0, 6)))
            yield osc_message("/ciel/seed")[:12] + (f",{tags}".encode() + b"\0" * 4)[: (len(tags) + 5) // 4 * 4]
        elif kind == 4:
            depth = rng.randint(50, 1500)
            # Headers outermost first, each element 20 bytes bigger than the one inside: built in O(depth).
            head = _bundle(time.time() + 3600, [])
            yield b"".join(head + struct.pack(">i", len(base) + 20 * (depth - 1 - k)) for k in range(depth)) + base
        elif kind == 5:
            yield _bundle(time.time() + rng.uniform(1, 1e6), [base, rng.choice(VALID)])
        elif kind == 6:
            yield b"#bundle\0" + b"\0" * 8 + struct.pack(">i", rng.randint(-(2**31), 2**31 - 1)) + base
        elif kind == 7:
            yield osc_message("/ciel/interval", rng.choice([math.nan, math.inf, -math.inf, 1e38, -1e38]), types="f")
        elif kind == 8:
            yield b"/ciel/seed\0\0,s\0\0" + rng.randbytes(8) + b"\0\0\0\0"  # bad UTF-8 string
        else:
            yield base + rng.randbytes(rng.randint(1, 16))


def _messages(packet: bytes) -> int | None:
    """What the node must count for a packet: its messages, or None for malformed."""
    try:
        return len(parse_packet(packet))
    except MalformedPacket:
        return None


def _random_packet(rng: random.Random, depth: int = 0) -> tuple[bytes, list[tuple[str, list[object]]]]:
    """A well-formed packet built by python-osc, and the messages it holds."""
    if depth < 3 and rng.random() < 0.3:
        bundle = OscBundleBuilder(IMMEDIATELY)
        expected: list[tuple[str, list[object]]] = []
        for _ in range(rng.randint(0, 4)):
            packet, messages = _random_packet(rng, depth + 1)
            bundle.add_content(OscBundle(packet) if packet.startswith(b"#bundle") else OscMessage(packet))
            expected += messages
        return bundle.build().dgram, expected
    address = "/" + "/".join(rng.choice(["ciel", "seed", "x", "é"]) for _ in range(rng.randint(1, 3)))
    builder = OscMessageBuilder(address)
    args: list[object] = []
    kinds = ""
    for _ in range(rng.randint(0, 5)):
        kind = rng.choice("ifsbhdTFN")
        make = {
            "i": lambda: rng.randint(-(2**31), 2**31 - 1), "f": lambda: struct.unpack(">f", rng.randbytes(4))[0],
            "s": lambda: "".join(rng.choice("abcé ") for _ in range(rng.randint(0, 9))),
            "b": lambda: rng.randbytes(rng.randint(1, 9)), "h": lambda: rng.randint(-(2**63), 2**63 - 1),
            "d": lambda: rng.uniform(-1e300, 1e300), "T": lambda: True, "F": lambda: False, "N": lambda: None,
        }
        value = make[kind]()
        builder.add_arg(value, kind)
        args.append(value)
        kinds += kind
    built = builder.build().dgram
    assert osc_message(address, *args, types=kinds) == built  # the node's own encoder, byte for byte
    if set(kinds) <= set("ifsb"):
        assert osc_message(address, *args) == built  # ... inferring the types as python-osc does
    return built, [(address, args)]


def test_the_parser_agrees_with_python_osc_and_is_stricter() -> None:
    rng = random.Random(99)
    for _ in range(3000):  # well-formed: the same messages, the same values
        packet, expected = _random_packet(rng)
        got = parse_packet(packet)
        assert repr(got) == repr(expected)
        assert repr(got) == repr([(m.message.address, m.message.params) for m in OscPacket(packet).messages])
    accepted = 0
    for packet in mutants(random.Random(98), 5000):  # garbage: never accepted where python-osc refuses
        mine = _messages(packet)
        if mine is None:
            continue
        accepted += 1
        theirs = OscPacket(packet).messages
        assert sorted(a for a, _ in parse_packet(packet)) == sorted(m.message.address for m in theirs)
    assert accepted > 500
    # What python-osc accepts and the node does not: missing bytes, and the work bounds.
    for truncated in (b"/ciel/volume_ceiling\0\0\0\0,f\0\0", b"/a\0\0,f\0\0\0\0", b"/a\0\0,f\0\0\0\0\0"):
        assert len(OscPacket(truncated).messages) == 1 and _messages(truncated) is None
    deep = osc_message("/ciel/next")
    for _ in range(MAX_DEPTH):
        deep = _bundle(0, [deep])
    assert _messages(deep) == 1 and _messages(_bundle(0, [deep])) is None
    many = [osc_message("/ciel/next")] * MAX_MESSAGES
    assert _messages(_bundle(0, many)) == MAX_MESSAGES and _messages(_bundle(0, [*many, many[0]])) is None


def _valid_state(c: Controls) -> bool:
    for spec in PARAMS.controls:
        values = getattr(c, spec.name)
        for k, v in enumerate(values if isinstance(values, tuple) else (values,)):
            if not (isinstance(v, (int, float)) and math.isfinite(v) and spec.lo[k] <= v <= spec.hi[k]):
                return False
    return True


class Target:
    def __init__(self, running: RunningNode) -> None:
        self.node, self.server, self.port = running.node, running.osc, running.osc_port


@pytest.fixture
async def target(tmp_path: Path, tiny_checkpoints: tuple[Path, Path]) -> AsyncIterator[Target]:
    async with running_node(node_config(tmp_path / "state", tiny_checkpoints), first_piece=False) as running:
        # Parsing under test here, not the per-source rate (tests/test_osc.py has that).
        running.osc.limits = SourceLimits(trusted_rate=1e9, trusted_burst=1e9)
        yield Target(running)


async def _caught_up(counters: dict[str, int], sent: int, deadline_s: float = 30.0) -> None:
    end = time.monotonic() + deadline_s
    while counters["received"] + counters["dropped"] < sent:
        assert time.monotonic() < end, f"received {counters['received']} of {sent}"
        await asyncio.sleep(0.002)


async def test_100k_udp_packets(target: Target) -> None:
    rng = random.Random(1234)
    counters = target.node.osc_counters
    expected_messages = expected_malformed = sent = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        batch: list[bytes] = []
        for packet in mutants(rng, 100_000):
            if len(packet) > 65507:
                continue
            batch.append(packet)
            # Pace by count and bytes: the kernel charges ~1 KB per datagram against a ~200 KB buffer.
            if len(batch) == 100 or sum(map(len, batch)) > 50_000:
                for p in batch:
                    s.sendto(p, ("127.0.0.1", target.port))
                sent += len(batch)
                for p in batch:  # what a correct node must count (the parser is checked against python-osc above)
                    n = _messages(p)
                    expected_messages += n or 0
                    expected_malformed += n is None
                batch.clear()
                await _caught_up(counters, sent)
                assert _valid_state(target.node.controls.controls)
    if batch:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for p in batch:
                s.sendto(p, ("127.0.0.1", target.port))
        sent += len(batch)
        for p in batch:
            n = _messages(p)
            expected_messages += n or 0
            expected_malformed += n is None
        await _caught_up(counters, sent)
    assert sent >= 99_000
    assert counters["received"] == sent
    assert counters["malformed"] == expected_malformed > 10_000
    assert counters["applied"] + counters["rejected"] == expected_messages
    # Still up, and a valid message right after is applied.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(osc_message("/ciel/seed", 777, types="i"), ("127.0.0.1", target.port))
    await until(lambda: target.node.controls.controls.seed == 777)


async def test_tcp_garbage_half_open_and_too_many_connections(target: Target) -> None:
    target.server.first_packet_s = 0.5
    rng = random.Random(7)
    counters = target.node.osc_counters
    # Half-open: connect and say nothing; they must not pin the node's connection slots.
    idle = [socket.create_connection(("127.0.0.1", target.port)) for _ in range(MAX_TCP_CONNECTIONS)]
    extra = socket.create_connection(("127.0.0.1", target.port))  # one too many: refused at once
    await until(lambda: counters["dropped"] >= 1)
    await until(lambda: len(target.server.connections) == 0, 5)  # the idle ones were closed
    for s in [*idle, extra]:
        s.close()
    # Garbage over SLIP and over length-prefix framing, split at random, mixed with valid packets.
    for framing in (slip_encode, length_prefix_encode):
        reader, writer = await asyncio.open_connection("127.0.0.1", target.port)
        stream = b"".join(framing(p) for p in mutants(rng, 2000) if 0 < len(p) < 60000)
        if framing is length_prefix_encode:
            stream = b"\0\0\0\x08" + osc_message("/ciel/next")[:8] + stream
        pos = 0
        while pos < len(stream):
            step = rng.randint(1, 4096)
            writer.write(stream[pos : pos + step])
            pos += step
        writer.write(framing(osc_message("/ciel/drift", 0.125, types="f")))
        await writer.drain()
        await until(lambda: target.node.controls.controls.drift == 0.125, 20)
        writer.close()
        target.node.controls.update(drift=0.1)
        assert _valid_state(target.node.controls.controls)
    # A stream that lies about its length is closed; the node carries on.
    reader, writer = await asyncio.open_connection("127.0.0.1", target.port)
    writer.write(b"\x00\x7f\xff\xff" + b"x" * 100)
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 5) == b""
    reader, writer = await asyncio.open_connection("127.0.0.1", target.port)
    writer.write(slip_encode(osc_message("/ciel/seed", 4321, types="i")))
    await writer.drain()
    await until(lambda: target.node.controls.controls.seed == 4321)
    writer.close()
