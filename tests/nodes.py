"""The tests' shared helpers for running nodes: a free loopback port, polling with a deadline (async and sync), and
a real node in the test's event loop with its OSC, web and (optionally) SSH surfaces on free loopback ports."""

from __future__ import annotations

import asyncio
import io
import os
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

# The node's imports, in one place: modules being split or moved change only these lines.
from ciel_node.app import Node, audience_surface, control_surfaces
from ciel_node.config import RunConfig
from ciel_node.controls.osc_server import OscServer
from ciel_node.models.checkpoint import content_seal
from ciel_node.ssh.server import SshServer

POLL_S = 0.01  # how often `until` looks again: short next to any deadline, long enough not to starve the loop


def free_ports(n: int, kind: int = socket.SOCK_STREAM) -> list[int]:
    """`n` distinct ports on 127.0.0.1 nobody holds right now (held together while choosing, so they differ);
    TCP by default, socket.SOCK_DGRAM for UDP."""
    socks = [socket.socket(socket.AF_INET, kind) for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port on 127.0.0.1 nobody holds right now (TCP by default, socket.SOCK_DGRAM for UDP)."""
    return free_ports(1, kind)[0]


def _failure(what: str, deadline_s: float, detail: Callable[[], str] | None) -> str:
    return f"{what} not met within {deadline_s} s" + (f"; {detail()}" if detail else "")


async def until(cond: Callable[[], Any], deadline_s: float = 10.0, what: str = "condition",
                detail: Callable[[], str] | None = None) -> float:
    """Poll `cond` (without blocking the loop) until true; the seconds it took. Fails at the deadline, naming
    `what` and adding `detail()` (a peer's log, say)."""
    start = time.monotonic()
    while not cond():
        assert time.monotonic() - start < deadline_s, _failure(what, deadline_s, detail)
        await asyncio.sleep(POLL_S)
    return time.monotonic() - start


def until_sync(cond: Callable[[], Any], deadline_s: float, what: str, detail: Callable[[], str] | None = None,
               proc: subprocess.Popen[Any] | None = None) -> Any:
    """`until` for tests that drive processes without an event loop; returns `cond`'s first truthy value.
    With `proc`, fails at once when that process has exited (nothing it was to do can come any more)."""
    end = time.monotonic() + deadline_s
    while not (value := cond()):
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: the process exited ({proc.returncode}) first"
                                 + (f"; {detail()}" if detail else ""))
        assert time.monotonic() < end, _failure(what, deadline_s, detail)
        time.sleep(0.02)
    return value


def node_config(state: Path, checkpoints: tuple[Path, Path], interval: float = 3600.0, **settings: Any) -> RunConfig:
    """Tiny-model defaults for tests: free ports, in-process rendering, short sounds, a first piece at once,
    no speakers (tests/test_playback.py turns them on)."""
    controls = {"interval": interval, **settings.pop("controls", {})}
    defaults: dict[str, Any] = {"osc": "127.0.0.1:0", "web": "127.0.0.1:0", "oscquery": "127.0.0.1:0",
                                "render_process": False, "max_sound_s": 1.0, "speakers": False}
    return RunConfig(state_dir=state, audio_checkpoint=checkpoints[0], image_checkpoint=checkpoints[1],
                     controls=controls, **{**defaults, **settings})


@dataclass
class RunningNode:
    """A running node and its surfaces; `ssh` (with its own `counters`) only when `running_node` got keys."""

    node: Node
    osc: OscServer | None
    web_port: int | None
    ssh: SshServer | None = None  # a test may swap in a restarted server: it is the one stopped at the end
    counters: dict[str, int] = field(default_factory=dict)

    @property
    def osc_port(self) -> int:
        assert self.osc is not None, "this node runs without its OSC surface"
        return self.osc.port

    @property
    def controls(self):  # type: ignore[no-untyped-def]
        return self.node.controls.controls


@asynccontextmanager
async def running(node: Node) -> AsyncIterator[Node]:
    """The node's schedule in a task for the block; then stop it (30 s at most to finish)."""
    stop = asyncio.Event()
    task = asyncio.create_task(node.run(stop))
    try:
        yield node
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


@asynccontextmanager
async def running_node(config: RunConfig, *, first_piece: bool = True, osc: bool = True, web: bool = True,
                       authorized_keys: Path | None = None) -> AsyncIterator[RunningNode]:
    """Build, start (OSC, web, schedule), wait for this run's first piece, yield; stop in reverse order.

    `osc`/`web` False leave that surface off; `authorized_keys` starts an SshServer beside the node on a free port,
    forwarding to the OSC surface, with counters of its own; `first_piece` False yields at once.
    """
    node = Node(config)
    first = node.media.last_seq + 1  # a state dir with pieces in it: wait for a new one all the same
    async with control_surfaces(node, config) if osc else nullcontext() as osc_server, \
            audience_surface(node, config) if web else nullcontext() as web_port, running(node):
        r = RunningNode(node, osc_server, web_port)
        try:
            if authorized_keys is not None:
                assert osc_server is not None, "SSH forwards to the OSC surface"
                ssh = SshServer("127.0.0.1", 0, authorized_keys, config.state_dir / "ssh_host_key", "127.0.0.1",
                                osc_server.port, r.counters)
                await ssh.start()
                r.ssh = ssh
            if first_piece:
                await until(lambda: node.media.last_seq >= first, 30, "the node's first piece")
            yield r
        finally:
            if r.ssh is not None:  # first: its sessions end while the node still runs
                await r.ssh.stop()


async def next_piece(r: RunningNode, after: int, deadline_s: float = 60.0) -> dict[str, Any]:
    """Ask a running node for a piece now (/ciel/next) and wait for it: its manifest entry."""
    r.node.request_next()
    await until(lambda: r.node.media.last_seq > after, deadline_s, f"piece {after + 1}")
    entry = r.node.media.latest()
    assert entry is not None
    return entry


def media_bytes(state: Path, entry: dict[str, Any], key: str) -> bytes:
    """A published piece's file (`image`, `sky`, `audio`, `wav`) as the node wrote it in its state dir."""
    return (state / "media" / str(entry[key]).rsplit("/", 1)[-1]).read_bytes()


def tcp_sockets() -> list[tuple[int, int, str]]:
    """This process's TCP sockets as (local port, remote port, state) from /proc: state "0A" listens, "01" is an
    established connection."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    out = []
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if cols[9] in inodes:
                    out.append((int(cols[1].rsplit(":", 1)[1], 16), int(cols[2].rsplit(":", 1)[1], 16), cols[3]))
    return out


def save_resealed(payload: dict[str, Any], path: Path) -> None:
    """torch.save a checkpoint payload edited by a test, its seal recomputed: as a hostile editor who knows the seal
    would, so the checks after the seal (config, weights) are the ones tested."""
    payload["seal"] = {**payload.get("seal", {}), "sha256": content_seal(payload)}
    buf = io.BytesIO()  # as save_checkpoint writes: a file path would name the zip's folder after the file
    torch.save(payload, buf)
    path.write_bytes(buf.getvalue())
