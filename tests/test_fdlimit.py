"""The descriptor budget: a real node under a low RLIMIT_NOFILE refuses the crowd past its caps with 503,
keeps publishing, and keeps its log small; out of descriptors, the listener pauses instead of spinning."""

from __future__ import annotations

import asyncio
import resource
import selectors
import socket
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import aiohttp
import pytest
from nodes import free_port

from ciel_node.fdlimit import MAX_CONNECTIONS, ConnectionCaps, raise_nofile_limit

LOW = 256  # the node's soft = hard RLIMIT_NOFILE in these tests
TIMEOUT = aiohttp.ClientTimeout(total=10)


def _low_limit() -> None:  # in the child, before exec
    resource.setrlimit(resource.RLIMIT_NOFILE, (LOW, LOW))


def test_caps_leave_a_reserve_and_room_for_media_files() -> None:
    for nofile in (64, 256, 1024, 16384, 1 << 20):
        caps = ConnectionCaps.from_limit(nofile)
        assert 8 <= caps.connections <= MAX_CONNECTIONS and caps.listeners < caps.connections
        # each connection may hold a socket and an open media file, and the reserve stays free
        assert 2 * caps.connections + 64 <= max(nofile, 2 * 8 + 64), nofile
    assert ConnectionCaps.from_limit(16384).listeners >= 2000  # the shipped unit's limit: the old cap and more


def test_the_soft_limit_is_raised_to_the_hard_one() -> None:
    code = "from ciel_node.fdlimit import raise_nofile_limit; import resource; " \
           "print(raise_nofile_limit(), *resource.getrlimit(resource.RLIMIT_NOFILE))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True,
                         preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (100, 300))).stdout
    assert out.split() == ["300", "300", "300"]
    assert raise_nofile_limit() == resource.getrlimit(resource.RLIMIT_NOFILE)[0]  # idempotent here


async def _open_listener(port: int) -> tuple[bytes, asyncio.StreamWriter]:
    """One audience page's push channel: the status line, and the connection held open."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /api/events HTTP/1.1\r\nHost: node\r\n\r\n")
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    return head, writer


async def test_a_crowd_past_the_descriptor_limit(tmp_path: Path, tiny_checkpoints: tuple[Path, Path]) -> None:
    """Listeners past the cap get 503 + Retry-After, the node keeps publishing, and the log stays small.

    (Before: the cap was a fixed 2,000, accept() hit EMFILE at about 240 listeners, asyncio logged a
    traceback per backlog slot, thousands of lines a second, and no more pieces came.)
    """
    port = free_port()
    log_path = tmp_path / "node.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ciel_node", "run", "--state-dir", str(tmp_path / "state"),
             "--audio-checkpoint", str(tiny_checkpoints[0]), "--image-checkpoint", str(tiny_checkpoints[1]),
             "--no-playback", "--interval", "1", "--max-sound-s", "1",
             "--osc", f"127.0.0.1:{free_port()}", "--web", f"127.0.0.1:{port}",
             "--oscquery", "off"],  # only the web's descriptors in play
            stdout=log, stderr=subprocess.STDOUT, preexec_fn=_low_limit)
    writers: list[asyncio.StreamWriter] = []
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
            async def get_json(path: str) -> dict | None:  # type: ignore[type-arg]
                try:
                    async with http.get(f"http://127.0.0.1:{port}{path}") as r:
                        return await r.json() if r.status == 200 else None
                except aiohttp.ClientConnectionError:
                    return None

            end = time.monotonic() + 60
            while (latest := await get_json("/api/latest")) is None:
                assert proc.poll() is None, log_path.read_text()
                assert time.monotonic() < end, "the node published nothing within 60 s"
                await asyncio.sleep(0.1)
            crowd = LOW + 50  # past the descriptor limit itself, so past any cap below it
            heads: Counter[bytes] = Counter()
            for start in range(0, crowd, 25):  # arriving 25 at a time, as pages do
                for result in await asyncio.gather(*(_open_listener(port) for _ in range(min(25, crowd - start))),
                                                   return_exceptions=True):
                    assert not isinstance(result, BaseException), f"{result!r} after {dict(heads)}\n" + "\n".join(
                        log_path.read_text().splitlines()[-20:])
                    head, writer = result
                    status = head.split(b"\r\n", 1)[0]
                    heads[status] += 1
                    if b" 503 " in status:
                        assert b"Retry-After: 5" in head, head
                        writer.close()
                    else:
                        writers.append(writer)
            health = await get_json("/api/health")
            assert health is not None
            web = health["web"]
            assert web["nofile"] == LOW and web["max_event_clients"] < web["max_connections"] < LOW // 2
            assert heads[b"HTTP/1.1 200 OK"] == web["max_event_clients"], dict(heads)
            assert heads[b"HTTP/1.1 503 Service Unavailable"] == crowd - web["max_event_clients"], dict(heads)

            # With every listener slot held, the node still publishes and still answers.
            seq = latest["seq"]
            end = time.monotonic() + 30
            while (now := await get_json("/api/latest")) is None or now["seq"] <= seq:
                assert time.monotonic() < end, f"no piece after {seq} in 30 s:\n{log_path.read_text()[-3000:]}"
                await asyncio.sleep(0.2)
            health = await get_json("/api/health")
            assert health is not None and health["web"]["errors"] == 0
            assert health["web"]["event_clients"] == web["max_event_clients"]
    finally:
        for writer in writers:
            writer.close()
        proc.terminate()
        proc.wait(30)
    lines = log_path.read_text().splitlines()
    assert len(lines) < 60 and log_path.stat().st_size < 16_000, "\n".join(lines[:80])
    assert not any("Too many open files" in line for line in lines), "\n".join(lines[:80])


LISTENER_SCRIPT = textwrap.dedent("""
    import asyncio, logging, resource, socket, sys
    from ciel_node.fdlimit import CappedListener
    from ciel_node.logrates import rate_limit_root_handlers

    logging.basicConfig(level="INFO", format="%(levelname)s %(name)s: %(message)s")
    rate_limit_root_handlers()

    class Hold(asyncio.Protocol):
        def connection_made(self, transport):
            transport.write(b"hello\\n")

    async def main():
        counters = {}
        listener = CappedListener(Hold, lambda: 0, 10**6, counters)  # a cap the descriptors cannot reach
        listener.start("127.0.0.1", 0)
        print(listener.port, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # the test is done
        print(counters["accept_paused"], flush=True)
        listener.close()

    asyncio.run(main())
""")


def _greetings(sockets: list[socket.socket], quiet_s: float = 2.0) -> int:
    """How many of `sockets` were greeted (accepted), waiting until none has been for `quiet_s`."""
    greeted: set[socket.socket] = set()
    with selectors.DefaultSelector() as sel:
        for s in sockets:
            sel.register(s, selectors.EVENT_READ)
        while events := sel.select(quiet_s):
            for key, _ in events:
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                assert sock.recv(16) == b"hello\n"
                greeted.add(sock)
                sel.unregister(sock)
    return len(greeted)


async def test_out_of_descriptors_pauses_accepting_with_one_line(tmp_path: Path) -> None:
    """Past the process's own limit, accept() fails: the listener pauses and logs once, then serves again.

    asyncio's own accept loop logs a traceback per backlog slot per wake-up (the log storm of issue 11).
    """
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", LISTENER_SCRIPT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64)))
    assert proc.stdout is not None and proc.stdin is not None and proc.stderr is not None
    try:
        port = int(await asyncio.wait_for(proc.stdout.readline(), 60))
        held: list[socket.socket] = []
        for _ in range(150):  # far more than 64 descriptors: the kernel queues what is not accepted
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            held.append(s)
        greeted = await asyncio.get_running_loop().run_in_executor(None, _greetings, held)
        assert 20 < greeted < 64
        for s in held:
            s.close()
        # Descriptors freed: it accepts again after its pause.
        end = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                    s.settimeout(2)
                    if s.recv(16) == b"hello\n":
                        break
            except OSError:
                pass
            assert time.monotonic() < end, "never accepted again"
        proc.stdin.write(b"done\n")
        await proc.stdin.drain()
        paused = int(await asyncio.wait_for(proc.stdout.readline(), 10))
        await asyncio.wait_for(proc.wait(), 10)
        err = (await proc.stderr.read()).decode()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert paused >= 1
    lines = err.splitlines()
    assert any("out of file descriptors" in line for line in lines)
    assert len(lines) <= 12 and "Traceback" not in err, err[:3000]


pytestmark = pytest.mark.timeout(180)
