"""End to end: the shipped Pure Data patch, headless, against a real running node."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from conftest import require_tool
from nodes import free_port, free_ports, node_config, running_node, until
from oscpeers import oscsend
from test_controllers import PD_PATCH, Pd, Proc, harness_patch

from ciel_node.app import Node


@pytest.fixture
async def running(tmp_path: Path, tiny_checkpoints: tuple[Path, Path]) -> AsyncIterator[tuple[Node, int]]:
    async with running_node(node_config(tmp_path / "state", tiny_checkpoints)) as r:
        yield r.node, r.osc_port


async def _until(what: str, cond, proc: Proc, deadline_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    """`until`, failing with what Pd said last."""
    await until(cond, deadline_s, what, lambda: f"Pd said:\n{proc.text()[-3000:]}")


async def test_shipped_pd_patch_drives_the_node_and_shows_its_state(running: tuple[Node, int], tmp_path: Path
                                                                    ) -> None:
    node, port = running
    pd = require_tool("pd")
    listen = free_port(socket.SOCK_DGRAM)
    argv = [pd, "-nogui", "-noaudio", "-nomidi", "-nrt", "-noprefs", "-stderr", "-open", str(PD_PATCH),
            "-send", f"ciel-connect 127.0.0.1 {port}", "-send", f"ciel-listen {listen}",
            "-send", "ciel-drift 0.4", "-send", "ciel-seed 99", "-send", "ciel-volume_ceiling -80"]
    proc = Proc(argv, tmp_path / "pd.txt")
    try:
        # A performer's moves reach the node (the ceiling clamped to the contract's -60 on the way)...
        c = lambda: node.controls.controls  # noqa: E731
        await _until("the knobs reaching the node",
                     lambda: c().seed == 99 and abs(c().drift - 0.4) < 1e-6 and c().volume_ceiling == -60.0, proc)
        assert node.osc_counters["rejected"] == 0
        # ...the patch shows the node's real state, including what someone else changed...
        await oscsend(port, "/ciel/interval", "f", 2.5)
        await _until("Pd showing the interval set elsewhere",
                     lambda: re.search(r"^ciel-state: interval 2\.5$", proc.text(), re.M) is not None, proc)
        await _until("Pd showing the seed", lambda: "ciel-state: seed 99" in proc.text(), proc)
        # ...and the seq of each new piece (the shorter interval reschedules the next one now).
        await _until("a new piece", lambda: node.media.last_seq >= 2, proc)
        seq = node.media.last_seq
        await _until("Pd showing the piece", lambda: re.search(rf"^ciel-piece: {seq}\b", proc.text(), re.M)
                     is not None, proc)
        assert "couldn't create" not in proc.text()
    finally:
        proc.stop()


async def test_shipped_pd_patch_moves_xy_and_recalls_a_preset_with_a_glide(running: tuple[Node, int], tmp_path: Path
                                                                          ) -> None:
    """Pd headless drives an XY move, a preset store and a gliding recall through the shipped patch; the node's xy
    comes back onto the pad all the way (shown, never sent back: an echo would be a performer's move and stop the
    glide)."""
    node, port = running
    pd = require_tool("pd")
    listen, ctrl = free_ports(2, socket.SOCK_DGRAM)
    harness = tmp_path / "harness.pd"
    harness.write_text(harness_patch(ctrl))
    argv = [pd, "-nogui", "-noaudio", "-nomidi", "-nrt", "-noprefs", "-stderr", "-open", str(harness),
            "-open", str(PD_PATCH), "-send", f"ciel-connect 127.0.0.1 {port}", "-send", f"ciel-listen {listen}",
            "-send", "ciel-xy-sound 0.25 0.75"]
    proc = Proc(argv, tmp_path / "pd.txt")
    patch = Pd(proc, listen, ctrl)
    c = lambda: node.controls.controls  # noqa: E731
    shown_x = lambda: [float(v) for v in re.findall(r"^shown-xy-sound-x: set (\S+)$", proc.text(), re.M)]  # noqa: E731
    try:
        await _until("the xy move reaching the node", lambda: c().xy_sound == (0.25, 0.75), proc)
        patch.command("send ciel-preset-store 3")
        await _until("slot 3 stored", lambda: 3 in node.presets.slots, proc)
        patch.command("send ciel-xy-sound 0.875 0.125")
        await _until("the second move", lambda: c().xy_sound == (0.875, 0.125), proc)
        before = len(shown_x())
        patch.command("send ciel-preset-recall 3 0.5")  # half a second's glide back to slot 3
        await _until("the recall landing on the stored xy", lambda: c().xy_sound == (0.25, 0.75), proc)
        await _until("Pd showing where the node is", lambda: shown_x()[-1:] == [0.25], proc)
        way = shown_x()[before:]
        assert any(0.25 < x < 0.875 for x in way), f"no step of the glide shown on the pad: {way}"
        assert node.osc_counters["rejected"] == 0
        assert "couldn't create" not in proc.text()
    finally:
        proc.stop()
