"""OSC 1.0 address patterns from real controllers: liblo's oscsend and osc.js (npm `osc`), over UDP and TCP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from conftest import require_tool
from nodes import RunningNode, node_config, running_node, until
from oscpeers import OscDump, oscsend

ROOT = Path(__file__).resolve().parent.parent
PEER = Path(__file__).resolve().parent / "oscjs" / "peer.mjs"


@pytest.fixture
async def node(tmp_path: Path, tiny_checkpoints: tuple[Path, Path]) -> AsyncIterator[RunningNode]:
    async with running_node(node_config(tmp_path / "state", tiny_checkpoints)) as running:
        yield running


async def oscjs(transport: str, port: int, messages: list[dict[str, Any]], until_address: str | None = None,
                deadline_ms: int = 10_000) -> list[dict[str, Any]]:
    """Run osc.js as the controller; the messages it got back, in order."""
    node_exe = require_tool("node")
    if not (ROOT / "web" / "node_modules" / "osc").is_dir():
        pytest.fail("web/node_modules lacks osc.js (run: cd web && npm ci)")
    job = {"transport": transport, "port": port, "messages": messages, "until": until_address,
           "deadline_ms": deadline_ms}
    proc = await asyncio.create_subprocess_exec(node_exe, str(PEER), json.dumps(job), stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode == 0, (proc.returncode, out, err)
    return [json.loads(line) for line in out.decode().splitlines()]


def f(value: float) -> dict[str, Any]:
    return {"type": "f", "value": value}


async def test_liblo_patterns_over_udp_apply_to_every_match(node: RunningNode) -> None:
    c = node.node.controls
    async with OscDump() as dump:
        await oscsend(node.osc_port, "/ciel/subscribe", "i", dump.port)
        await oscsend(node.osc_port, "/ciel/[dv]*", "f", 0.5)  # drift 0.5; the ceiling clamped to 0
        await dump.expect(r"^/ciel/state/volume_ceiling f 0\.0")
        await dump.expect(r"^/ciel/state/drift f 0\.5")
        assert (c.controls.drift, c.controls.volume_ceiling) == (0.5, 0.0)
        await oscsend(node.osc_port, "/ciel/{seed,interval}", "i", 9)
        await dump.expect(r"^/ciel/state/interval f 9\.0")
        assert (c.controls.seed, c.controls.interval) == (9, 9.0)
        await oscsend(node.osc_port, "/ciel/[!a-r]e?d", "i", 11)  # seed (s is not in a-r)
        await dump.expect(r"^/ciel/state/seed i 11$")
        await oscsend(node.osc_port, "/ciel/nothing*", "f", 1.0)
        line = await dump.expect(r"^/ciel/error ss ")
        assert "/ciel/nothing*" in line and "matches no parameter" in line
        await oscsend(node.osc_port, "/ciel/status/*", "i", 1)  # readouts are the node's to set
        line = await dump.expect(r"^/ciel/error ss \"?/ciel/status/\*")
        assert "read-only" in line
        await oscsend(node.osc_port, "/ciel/[drift", "f", 0.1)  # not a pattern: one clear error
        line = await dump.expect(r"^/ciel/error ss \"?/ciel/\[drift")
        assert "without ']'" in line and c.controls.drift == 0.5


async def test_liblo_pattern_over_tcp(node: RunningNode) -> None:
    await oscsend(f"osc.tcp://127.0.0.1:{node.osc_port}", "/ciel/dri?t", "f", 0.25)
    await until(lambda: node.controls.drift == 0.25, 10, "drift from a TCP pattern")


async def test_a_pattern_with_a_bad_match_still_applies_the_others(node: RunningNode) -> None:
    """`/ciel/*` reaches /ciel/next too, which takes no argument: that one is an error, the rest apply."""
    async with OscDump() as dump:
        await oscsend(node.osc_port, "/ciel/subscribe", "i", dump.port)
        assert node.osc is not None
        await until(lambda: len(node.osc.hub.subscribers) == 1, 10, "the subscription")
        applied = node.node.osc_counters["applied"]
        await oscsend(node.osc_port, "/ciel/*", "f", 1.0)
        line = await dump.expect(r"^/ciel/error ss ")
        assert "/ciel/next: next takes no arguments" in line
    c = node.controls
    assert (c.interval, c.seed, c.drift, c.synaesthesia, c.keyframes, c.volume_ceiling, c.playback) == (
        1.0, 1, 1.0, 1.0, 1, 0.0, 1)
    assert node.node.osc_counters["applied"] - applied == 7  # each match counts


async def test_oscjs_patterns_over_udp_and_tcp(node: RunningNode) -> None:
    # UDP: osc.js sends a pattern and an exact address in one go; both land.
    await oscjs("udp", node.osc_port, [{"address": "/ciel/{seed,interval}", "args": [{"type": "i", "value": 7}]},
                                       {"address": "/ciel/drift", "args": [f(0.125)]}])
    await until(lambda: (node.controls.seed, node.controls.interval, node.controls.drift) == (7, 7.0, 0.125), 10,
                "osc.js over UDP")
    # TCP (SLIP): clamped values are echoed on the connection, a pattern matching nothing answers an error there.
    got = await oscjs("tcp", node.osc_port, [{"address": "/ciel/{drift,volume_ceiling}", "args": [f(2.0)]},
                                             {"address": "/ciel/zz*", "args": [f(1.0)]}],
                      until_address="/ciel/error")
    assert {"address": "/ciel/state/drift", "args": [1.0]} in got
    assert {"address": "/ciel/state/volume_ceiling", "args": [0.0]} in got
    error = next(m for m in got if m["address"] == "/ciel/error")
    assert error["args"][0] == "/ciel/zz*" and "matches no parameter" in error["args"][1]
    assert (node.controls.drift, node.controls.volume_ceiling) == (1.0, 0.0)
