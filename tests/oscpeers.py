"""Real OSC peers for the tests: liblo's oscsend and oscdump, driven from asyncio."""

from __future__ import annotations

import asyncio
import re
import socket
import time

from conftest import require_tool
from nodes import free_port

# What liblo prints when the node closed a TCP connection before oscsend wrote to it (a refused peer).
RESET = re.compile(rb"broken pipe|connection reset|connection refused", re.I)


async def oscsend(target: str | int, address: str, types: str = "", *values: object, refused_ok: bool = False
                  ) -> bool:
    """`oscsend 127.0.0.1 PORT ...` for an int target, or a liblo URL (osc.tcp://127.0.0.1:PORT).

    `refused_ok`: the node may close the connection first (a disallowed source); then a reset is an
    answer, not a failure. Returns whether oscsend itself succeeded.
    """
    exe = require_tool("oscsend")
    where = ["127.0.0.1", str(target)] if isinstance(target, int) else [target]
    args = [*where, address] + ([types, *map(str, values)] if types else [])
    proc = await asyncio.create_subprocess_exec(exe, *args, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    if refused_ok and proc.returncode != 0 and RESET.search(out + err):
        return False
    assert proc.returncode == 0, (args, out, err)
    return True


def _udp_port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class OscDump:
    """`oscdump -L PORT`: every message it receives, one line each, e.g. `/ciel/state/seed i 7`."""

    def __init__(self) -> None:
        self.port = free_port(socket.SOCK_DGRAM)
        self.lines: list[str] = []
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> OscDump:
        exe = require_tool("oscdump")
        for _ in range(3):  # the free port may be taken by someone else before oscdump binds it: try another
            self._proc = await asyncio.create_subprocess_exec(exe, "-L", str(self.port), stdout=asyncio.subprocess.PIPE,
                                                              stderr=asyncio.subprocess.PIPE)
            # Ready when its port is taken: feedback sent before that would be lost (and look like a dead peer).
            end = time.monotonic() + 10
            while _udp_port_free(self.port) and self._proc.returncode is None:
                assert time.monotonic() < end, "oscdump did not start listening"
                await asyncio.sleep(0.01)
            try:  # still running a moment after the port is taken: it is oscdump that holds it
                await asyncio.wait_for(self._proc.wait(), 0.05)
            except TimeoutError:
                self._reader = asyncio.create_task(self._read())
                return self
            self.port = free_port(socket.SOCK_DGRAM)
        raise AssertionError(f"oscdump could not listen: {await self._proc.stderr.read() if self._proc.stderr else ''}")

    async def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        while line := await self._proc.stdout.readline():
            # oscdump prefixes each message with its timetag ("eeabb159.5e6c6de7 /ciel/..."): drop it.
            self.lines.append(re.sub(r"^[0-9a-f]+\.[0-9a-f]+ ", "", line.decode(errors="replace").strip()))

    async def expect(self, pattern: str, deadline_s: float = 10.0) -> str:
        """Wait for a line matching `pattern` (a regex, searched); returns it."""
        rx = re.compile(pattern)
        end = time.monotonic() + deadline_s
        while True:
            for line in self.lines:
                if rx.search(line):
                    return line
            if time.monotonic() > end:
                raise AssertionError(f"oscdump never printed {pattern!r}; it printed {self.lines[-20:]}")
            await asyncio.sleep(0.01)

    def count(self, pattern: str) -> int:
        rx = re.compile(pattern)
        return sum(1 for line in self.lines if rx.search(line))

    async def __aexit__(self, *exc: object) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.terminate()
            await self._proc.wait()
        if self._reader is not None:
            await self._reader
