"""A real node, running in the test's event loop with its OSC and web surfaces on free loopback ports."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ciel_node.app import Node, audience_surface, control_surfaces
from ciel_node.config import RunConfig
from ciel_node.controls.osc_server import OscServer


def node_config(state: Path, checkpoints: tuple[Path, Path], **settings: Any) -> RunConfig:
    """Tiny-model defaults for tests: free ports, in-process rendering, short sounds, a first piece at once,
    no speakers (tests/test_playback.py turns them on)."""
    controls = {"interval": 3600.0, **settings.pop("controls", {})}
    defaults: dict[str, Any] = {"osc": "127.0.0.1:0", "web": "127.0.0.1:0", "render_process": False,
                                "max_sound_s": 1.0, "playback": False}
    return RunConfig(state_dir=state, audio_checkpoint=checkpoints[0], image_checkpoint=checkpoints[1],
                     controls=controls, **{**defaults, **settings})


@dataclass
class RunningNode:
    node: Node
    osc: OscServer
    web_port: int

    @property
    def osc_port(self) -> int:
        return self.osc.port

    @property
    def controls(self):  # type: ignore[no-untyped-def]
        return self.node.controls.controls


@asynccontextmanager
async def running_node(config: RunConfig, first_piece: bool = True) -> AsyncIterator[RunningNode]:
    """Build, start (OSC, web, schedule), wait for the first piece, yield; stop in reverse order."""
    node = Node(config)
    stop = asyncio.Event()
    async with control_surfaces(node, config) as osc, audience_surface(node, config) as web_port:
        task = asyncio.create_task(node.run(stop))
        try:
            if first_piece:
                await until(lambda: node.media.last_seq >= 1, 30)
            yield RunningNode(node, osc, web_port)
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)


async def until(cond: Callable[[], Any], deadline_s: float = 10.0, what: str = "condition") -> None:
    """Poll `cond` until true; fail with `what` after the deadline."""
    end = time.monotonic() + deadline_s
    while not cond():
        assert time.monotonic() < end, f"{what} not met within {deadline_s} s"
        await asyncio.sleep(0.01)
