"""The OSC surface against real peers (liblo's oscsend and oscdump), over UDP and TCP, in a running node."""

from __future__ import annotations

import asyncio
import math
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nodes import RunningNode, node_config, running_node, until
from oscpeers import OscDump, free_port, oscsend
from pythonosc.osc_bundle_builder import OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from ciel_node.controls.framing import SlipDecoder, slip_encode
from ciel_node.publish.feedback import Channel, osc_message
from ciel_node.state import RANGES


class Running:
    def __init__(self, running: RunningNode) -> None:
        self.node, self.server, self.port = running.node, running.osc, running.osc_port

    def subscribers(self) -> list[Channel]:
        return self.server.hub.subscribers

    @property
    def controls(self):  # type: ignore[no-untyped-def]
        return self.node.controls.controls

    @property
    def counters(self) -> dict[str, int]:
        return self.node.osc_counters


@pytest.fixture
async def node(tmp_path: Path, tiny_checkpoints: tuple[Path, Path]) -> AsyncIterator[Running]:
    async with running_node(node_config(tmp_path / "state", tiny_checkpoints)) as running:
        yield Running(running)


async def test_udp_controls_int_and_float_with_feedback(node: Running) -> None:
    async with OscDump() as dump:
        await oscsend(node.port, "/ciel/subscribe", "i", dump.port)
        await until(lambda: node.counters["applied"] >= 1)
        await oscsend(node.port, "/ciel/interval", "f", 5.5)
        await dump.expect(r"^/ciel/state/interval f 5\.5")
        await oscsend(node.port, "/ciel/interval", "i", 7)  # Max sends ints
        await dump.expect(r"^/ciel/state/interval f 7\.0")
        await oscsend(node.port, "/ciel/seed", "i", 2147483647)
        await dump.expect(r"^/ciel/state/seed i 2147483647")
        await oscsend(node.port, "/ciel/seed", "f", 12.0)  # Pd sends floats
        await dump.expect(r"^/ciel/state/seed i 12$")
        await oscsend(node.port, "/ciel/drift", "f", 0.25)
        await dump.expect(r"^/ciel/state/drift f 0\.25")
        await oscsend(node.port, "/ciel/volume_ceiling", "i", -20)
        await dump.expect(r"^/ciel/state/volume_ceiling f -20\.0")
        await oscsend(node.port, "/ciel/playback", "i", 0)
        await dump.expect(r"^/ciel/state/playback i 0")
    c = node.controls
    assert (c.interval, c.seed, c.drift, c.volume_ceiling, c.playback) == (7.0, 12, 0.25, -20.0, 0)


async def test_out_of_range_is_clamped_and_echoed(node: Running) -> None:
    async with OscDump() as dump:
        await oscsend(node.port, "/ciel/subscribe", "i", dump.port)
        await oscsend(node.port, "/ciel/volume_ceiling", "i", 12)
        await dump.expect(r"^/ciel/state/volume_ceiling f 0\.0")
        await oscsend(node.port, "/ciel/interval", "f", 0.01)
        await dump.expect(r"^/ciel/state/interval f 0\.5")
        await oscsend(node.port, "/ciel/interval", "f", 1e9)
        await dump.expect(r"^/ciel/state/interval f 3600\.0")
        await oscsend(node.port, "/ciel/drift", "f", -3)
        await dump.expect(r"^/ciel/state/drift f 0\.0")
        # Already at the clamp: nothing changes, yet the sender still hears what was set.
        n = dump.count(r"^/ciel/state/drift f 0\.0")
        await oscsend(node.port, "/ciel/drift", "f", -7)
        await until(lambda: dump.count(r"^/ciel/state/drift f 0\.0") == n + 1)
    assert node.controls.volume_ceiling == 0.0 and node.controls.interval == 3600.0


@pytest.mark.parametrize(
    ("address", "types", "values", "reason"),
    [
        ("/ciel/seed", "s", ["hello"], "seed must be a number"),
        ("/ciel/drift", "f", ["nan"], "drift must be finite"),
        ("/ciel/interval", "f", ["inf"], "interval must be finite"),
        ("/ciel/drift", "ff", [0.1, 0.2], "drift takes one number, got 2 arguments"),
        ("/ciel/volume_ceiling", "", [], "volume_ceiling takes one number, got 0 arguments"),
        ("/ciel/playback", "T", [], "playback must be a number"),
        ("/ciel/next", "i", [1], "next takes no arguments"),
        ("/ciel/subscribe", "s", ["x"], "port must be a number"),
        ("/ciel/subscribe", "is", [9999, "example.org"], "is not an IP address"),
        ("/ciel/get", "i", [70000], "port must be a whole number in 1..65535"),
        ("/ciel/bogus", "i", [1], "unknown address"),
        ("/ciel/seed/extra", "i", [1], "unknown address"),
    ],
)
async def test_bad_messages_change_nothing_and_answer_error(
    node: Running, address: str, types: str, values: list[object], reason: str
) -> None:
    before = node.controls
    async with OscDump() as dump:
        await oscsend(node.port, "/ciel/subscribe", "i", dump.port)
        await until(lambda: node.counters["applied"] >= 1)
        await oscsend(node.port, address, types, *values)
        line = await dump.expect(r"^/ciel/error ss ")
    assert address in line and reason in line
    assert node.controls == before
    assert node.counters["rejected"] == 1


async def test_tcp_length_prefix_from_liblo(node: Running) -> None:
    await oscsend(f"osc.tcp://127.0.0.1:{node.port}", "/ciel/seed", "i", 77)
    await until(lambda: node.controls.seed == 77)
    await oscsend(f"osc.tcp://127.0.0.1:{node.port}", "/ciel/drift", "f", 0.75)
    await until(lambda: node.controls.drift == 0.75)


async def _tcp_read_until(reader: asyncio.StreamReader, decoder: SlipDecoder, want: bytes, deadline_s: float = 10.0
                          ) -> list[bytes]:
    got: list[bytes] = []
    end = time.monotonic() + deadline_s
    while not any(p.startswith(want) for p in got):
        data = await asyncio.wait_for(reader.read(4096), max(0.01, end - time.monotonic()))
        assert data, "connection closed"
        got += list(decoder.feed(data))
    return got


async def test_tcp_slip_single_end_with_feedback_on_the_same_connection(node: Running) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", node.port)
    decoder = SlipDecoder()
    # A single-END peer, its packet split across writes; then a subscription over the connection.
    frame = slip_encode(osc_message("/ciel/seed", 4242, types="i"))[1:]
    writer.write(frame[:5])
    await writer.drain()
    writer.write(frame[5:] + slip_encode(osc_message("/ciel/subscribe", 1, types="i")))
    await writer.drain()
    await until(lambda: node.controls.seed == 4242)
    await oscsend(node.port, "/ciel/drift", "f", 0.5)  # someone else turns a knob, over UDP
    got = await _tcp_read_until(reader, decoder, b"/ciel/state/drift")
    assert any(p.startswith(b"/ciel/state/drift") for p in got)
    writer.write(slip_encode(osc_message("/ciel/get")))
    await writer.drain()
    await _tcp_read_until(reader, decoder, b"/ciel/state/playback")
    assert any(ch.key[0] == "tcp" for ch in node.subscribers())
    writer.close()
    await until(lambda: not any(ch.key[0] == "tcp" for ch in node.subscribers()))  # closed: unsubscribed


async def test_get_with_reply_port_answers_every_state(node: Running) -> None:
    async with OscDump() as dump:
        await oscsend(node.port, "/ciel/get", "i", dump.port)
        for name, tag in (("interval", "f"), ("seed", "i"), ("drift", "f"), ("volume_ceiling", "f"),
                          ("playback", "i")):
            await dump.expect(rf"^/ciel/state/{name} {tag} ")


async def test_next_publishes_now_and_pushes_the_piece(node: Running) -> None:
    async with OscDump() as dump:
        await oscsend(node.port, "/ciel/subscribe", "i", dump.port)
        await until(lambda: node.counters["applied"] >= 1)
        await oscsend(node.port, "/ciel/next")
        line = await dump.expect(r"^/ciel/piece iss 2 ")
    assert node.node.media.last_seq == 2
    latest = node.node.media.latest()
    assert f"/media/{latest['image']}" in line and f"/media/{latest['audio']}" in line


async def test_shorter_interval_over_osc_reschedules_now(node: Running) -> None:
    await oscsend(node.port, "/ciel/interval", "f", 0.5)
    await until(lambda: node.node.media.last_seq >= 3, 15)


async def test_unsubscribe_stops_pushes(node: Running) -> None:
    async with OscDump() as first, OscDump() as second:
        await oscsend(node.port, "/ciel/subscribe", "is", first.port, "127.0.0.1")
        await oscsend(node.port, "/ciel/drift", "f", 0.3)
        await first.expect(r"^/ciel/state/drift f 0\.3")
        await oscsend(node.port, "/ciel/unsubscribe", "i", first.port)
        await oscsend(node.port, "/ciel/subscribe", "i", second.port)
        await oscsend(node.port, "/ciel/drift", "f", 0.6)
        await second.expect(r"^/ciel/state/drift f 0\.6")
    assert first.count(r"0\.6") == 0


async def test_dead_subscribers_are_dropped_and_subscribers_bounded(node: Running) -> None:
    hub_subs = node.subscribers
    dead = free_port()  # nobody listens there: the kernel answers port unreachable
    await oscsend(node.port, "/ciel/subscribe", "i", dead)
    await until(lambda: len(hub_subs()) == 1)
    for v in (0.2, 0.4, 0.6):
        await oscsend(node.port, "/ciel/drift", "f", v)
    await until(lambda: len(hub_subs()) == 0)
    for port in range(20000, 20040):
        await oscsend(node.port, "/ciel/subscribe", "i", port)
    await until(lambda: node.counters["applied"] >= 44)
    assert len(hub_subs()) <= 32


def _message(address: str, value: object):  # type: ignore[no-untyped-def]
    b = OscMessageBuilder(address)
    b.add_arg(value)
    return b.build()


async def test_bundles_nested_and_future_timetags_never_block(node: Running) -> None:
    inner = OscBundleBuilder(time.time() + 3600)  # an hour ahead
    inner.add_content(_message("/ciel/seed", 31337))
    outer = OscBundleBuilder(time.time() + 7200)
    outer.add_content(_message("/ciel/drift", 0.9))
    outer.add_content(inner.build())  # type: ignore[arg-type]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(outer.build().dgram, ("127.0.0.1", node.port))
    await until(lambda: node.controls.seed == 31337 and abs(node.controls.drift - 0.9) < 1e-6, 5)
    await oscsend(node.port, "/ciel/seed", "i", 5)  # and the loop is free for the next message
    await until(lambda: node.controls.seed == 5, 5)


async def test_osc_allow_drops_and_counts_other_sources(tmp_path: Path, tiny_checkpoints) -> None:
    cfg = node_config(tmp_path / "state", tiny_checkpoints, osc_allow="10.0.0.0/8,192.168.0.0/16")
    async with running_node(cfg) as r:
        await oscsend(r.osc_port, "/ciel/seed", "i", 99)
        await oscsend(f"osc.tcp://127.0.0.1:{r.osc_port}", "/ciel/seed", "i", 98)
        await until(lambda: r.node.osc_counters["dropped"] >= 2)
        assert r.controls.seed == 0 and r.node.osc_counters["applied"] == 0


async def test_counters_add_up(node: Running) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b"\x00garbage", ("127.0.0.1", node.port))
        s.sendto(osc_message("/ciel/seed", 3, types="i"), ("127.0.0.1", node.port))
        s.sendto(osc_message("/ciel/nope"), ("127.0.0.1", node.port))
    await until(lambda: node.counters["received"] == 3)
    c = node.counters
    assert (c["malformed"], c["applied"], c["rejected"], c["dropped"]) == (1, 1, 1, 0)
    assert node.node.health()["osc"]["received"] == 3


def test_state_ranges_match_the_contract() -> None:
    assert (RANGES["interval"].lo, RANGES["interval"].hi) == (0.5, 3600.0)
    assert (RANGES["seed"].lo, RANGES["seed"].hi) == (0, 2147483647)
    assert (RANGES["drift"].lo, RANGES["drift"].hi) == (0.0, 1.0)
    assert (RANGES["volume_ceiling"].lo, RANGES["volume_ceiling"].hi) == (-60.0, 0.0)
    assert not math.isnan(RANGES["drift"].hi)
