"""The audience through nginx's pub/sub (deploy/nginx-nchan.conf, real nginx + nchan, real redis-server).

The node publishes each piece once (--publish-to); listeners on nginx get it pushed, the newest at once on
connecting; relays sharing one Redis all get it; the node holds one connection for it whatever the audience;
nginx or Redis restarted mid-run: the node keeps publishing, and listeners get the next piece.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from nginxpeers import NCHAN_CONF, connections_to, require_nchan, running_nginx, running_redis
from nodes import RunningNode, free_port, next_piece, node_config, running_node, until

from ciel_node.publish import fanout as fanout_module
from ciel_node.publish.web import piece_json

PUB = "/internal/pieces"
TIMEOUT = aiohttp.ClientTimeout(total=10)


@dataclass
class Listener:
    """A subscriber on /api/events as a browser's EventSource is: reconnects (with Last-Event-ID) when the stream
    fails or ends; the `piece` events it got, in order."""

    url: str
    pieces: list[dict[str, Any]] = field(default_factory=list)
    events: list[str] = field(default_factory=list)  # every event's name (nchan names ours `piece`)
    answers: list[int | str] = field(default_factory=list)  # each connection's HTTP status, or why it failed
    task: asyncio.Task[None] | None = None

    @property
    def seqs(self) -> list[int]:
        return [p["seq"] for p in self.pieces]

    async def run(self, http: aiohttp.ClientSession) -> None:
        last_id = ""
        while True:
            headers = {"Accept": "text/event-stream", **({"Last-Event-ID": last_id} if last_id else {})}
            try:
                async with http.get(self.url, headers=headers,
                                    timeout=aiohttp.ClientTimeout(total=None, sock_connect=5)) as r:
                    self.answers.append(r.status)
                    if r.status == 200:
                        assert r.headers["Content-Type"].startswith("text/event-stream"), r.headers
                        event, data = "message", []
                        async for raw in r.content:
                            line = raw.decode().rstrip("\r\n")
                            if line.startswith("event:"):
                                event = line[6:].strip()
                            elif line.startswith("id:"):
                                last_id = line[3:].strip()
                            elif line.startswith("data:"):
                                data.append(line[5:].lstrip())
                            elif not line and data:
                                self.events.append(event)
                                if event == "piece":
                                    self.pieces.append(json.loads("\n".join(data)))
                                event, data = "message", []
            except (aiohttp.ClientError, OSError) as e:
                self.answers.append(type(e).__name__)
            await asyncio.sleep(0.5)  # as a browser's EventSource retries


@contextlib.asynccontextmanager
async def listening(http: aiohttp.ClientSession, url: str) -> AsyncIterator[Listener]:
    listener = Listener(url)
    listener.task = asyncio.create_task(listener.run(http))
    try:
        yield listener
    finally:
        listener.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, aiohttp.ClientError):
            await listener.task


async def health(r: RunningNode, http: aiohttp.ClientSession) -> dict[str, Any]:
    async with http.get(f"http://127.0.0.1:{r.web_port}/api/health", timeout=TIMEOUT) as resp:
        data: dict[str, Any] = await resp.json()
        return data


def latest_json(r: RunningNode) -> dict[str, Any]:
    entry = r.node.media.latest()
    assert entry is not None
    return piece_json(entry, r.node.next_at)


@pytest.fixture
def checkpoints(tiny_checkpoints: tuple[Path, Path]) -> tuple[Path, Path]:
    require_nchan()
    return tiny_checkpoints


async def test_each_piece_is_published_once_and_pushed_to_every_listener(
        tmp_path: Path, checkpoints: tuple[Path, Path]) -> None:
    port = free_port()
    cfg = node_config(tmp_path / "state", checkpoints, publish_to=f"http://127.0.0.1:{port}{PUB}")
    async with running_node(cfg, osc=False) as r, \
            running_nginx(tmp_path / "nginx", r.web_port, NCHAN_CONF, port=port), aiohttp.ClientSession() as http:
        events = f"http://127.0.0.1:{port}/api/events"
        # The node published its latest piece when it started (nginx came up after it: the retry brought it).
        await until(lambda: connections_to(port) == 1, 15, "the node's one connection to nginx")
        async with listening(http, events) as first:
            await until(lambda: first.pieces, 15, "the newest piece, at once on connecting")
            assert first.pieces[-1] == latest_json(r)  # the same JSON as /api/latest
            assert first.events == ["piece"]  # named as the page listens for it

            # Fifty more listeners, and one that never reads: all on nginx, none on the node.
            never = await asyncio.open_connection("127.0.0.1", port)
            never[1].write(b"GET /api/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
            async with contextlib.AsyncExitStack() as stack:
                many = [await stack.enter_async_context(listening(http, events)) for _ in range(50)]
                await until(lambda: all(m.pieces for m in many), 15, "every listener's first piece",
                            lambda: repr([(m.answers, m.seqs) for m in many[:5]]))
                before = (await health(r, http))["web"]
                seq = r.node.media.last_seq
                for k in range(1, 6):  # pieces in quick succession: every listener gets every one, in order
                    await next_piece(r, seq + k - 1)
                want = list(range(seq + 1, seq + 6))
                await until(lambda: all(m.seqs[-5:] == want for m in [first, *many]), 15,
                            "pieces pushed to all 51 listeners", lambda: repr([m.seqs for m in many[:3]]))
                # One connection from the node to nginx, whatever the number of listeners (51 here plus one
                # that never reads, all from this process too: the node's is the one that is not theirs).
                assert connections_to(port) == 1 + 51 + 1
                after = await health(r, http)
                assert after["web"]["event_clients"] == 0 == before["event_clients"]  # none of them on the node
                audience = after["audience"]
                assert audience["mode"] == "nchan" and audience["listeners"] == 0
                relay = audience["nchan"]
                assert relay["last_error"] is None and relay["published"] >= 6, relay  # the latest at start, and 5
                assert relay["subscribers"] == 52  # nchan's own count, as it answered the last publish
                sizes = audience["bytes_per_piece"]
                entry = r.node.media.latest()
                assert entry is not None and sizes["sky"] == len((r.node.config.state_dir / "media" /
                                                                  entry["sky"]).read_bytes())
                assert sizes["page"] == sizes["sky"] + sizes["audio_opus"] < sizes["sky"] + sizes["audio"]
            never[1].close()


async def test_a_listener_on_another_relay_gets_the_piece_through_redis(
        tmp_path: Path, checkpoints: tuple[Path, Path]) -> None:
    a, b = free_port(), free_port()
    cfg = node_config(tmp_path / "state", checkpoints, publish_to=f"http://127.0.0.1:{a}{PUB}")
    async with running_redis(tmp_path / "redis") as redis, running_node(cfg, osc=False) as r, \
            running_nginx(tmp_path / "relay-a", r.web_port, NCHAN_CONF, port=a, redis_port=redis), \
            running_nginx(tmp_path / "relay-b", r.web_port, NCHAN_CONF, port=b, redis_port=redis), \
            aiohttp.ClientSession() as http:
        await until(lambda: r.node.media.latest() is not None and connections_to(a) == 1, 15, "published to A")
        async with listening(http, f"http://127.0.0.1:{b}/api/events") as far, \
                listening(http, f"http://127.0.0.1:{a}/api/events") as near:
            # The newest piece at once on B too: it was published through A, kept in Redis.
            await until(lambda: far.pieces and near.pieces, 15, "the newest piece on both relays")
            assert far.pieces[-1] == near.pieces[-1] == latest_json(r)
            entry = await next_piece(r, r.node.media.last_seq)
            await until(lambda: far.seqs[-1:] == [entry["seq"]] == near.seqs[-1:], 15, "the next piece on both")
            assert far.pieces[-1] == latest_json(r)
            assert connections_to(b) == 1  # only the far listener: the node never talks to relay B


async def test_a_relay_restarted_mid_run_gets_the_next_piece_and_the_node_goes_on(
        tmp_path: Path, checkpoints: tuple[Path, Path]) -> None:
    port = free_port()
    cfg = node_config(tmp_path / "state", checkpoints, publish_to=f"http://127.0.0.1:{port}{PUB}")
    async with running_node(cfg, osc=False) as r, aiohttp.ClientSession() as http:
        async with running_nginx(tmp_path / "nginx", r.web_port, NCHAN_CONF, port=port), \
                listening(http, f"http://127.0.0.1:{port}/api/events") as before:
            await until(lambda: before.pieces, 15, "a piece before the restart")
        # nginx is down: pieces go on being made and published here; the relay's publish fails and is retried.
        down = await next_piece(r, r.node.media.last_seq)
        await until(lambda: r.node.media.last_seq == down["seq"], 5, "a piece while nginx is down")
        relay: dict[str, Any] = {}

        async def failed() -> bool:
            relay.update((await health(r, http))["audience"]["nchan"])
            return relay["errors"] >= 1 and relay["last_error"] is not None

        deadline = asyncio.get_running_loop().time() + 15
        while not await failed():
            assert asyncio.get_running_loop().time() < deadline, relay
            await asyncio.sleep(0.1)
        assert "Cannot connect" in relay["last_error"] or "refused" in relay["last_error"].lower(), relay
        # Back on the same port, empty: the node's retry publishes the newest piece, which a newcomer gets at once.
        async with running_nginx(tmp_path / "nginx", r.web_port, NCHAN_CONF, port=port), \
                listening(http, f"http://127.0.0.1:{port}/api/events") as after:
            await until(lambda: after.pieces, 20, "the newest piece after the restart")
            assert after.pieces[-1]["seq"] == down["seq"]
            entry = await next_piece(r, down["seq"])
            await until(lambda: after.seqs[-1:] == [entry["seq"]], 15, "the next piece after the restart")
        assert (await health(r, http))["audience"]["nchan"]["last_error"] is None


async def test_redis_restarted_mid_run_relays_get_the_next_piece(
        tmp_path: Path, checkpoints: tuple[Path, Path]) -> None:
    a, b, redis = free_port(), free_port(), free_port()
    cfg = node_config(tmp_path / "state", checkpoints, publish_to=f"http://127.0.0.1:{a}{PUB}")
    async with running_node(cfg, osc=False) as r, aiohttp.ClientSession() as http, \
            contextlib.AsyncExitStack() as first_redis:
        await first_redis.enter_async_context(running_redis(tmp_path / "redis", redis))
        async with running_nginx(tmp_path / "relay-a", r.web_port, NCHAN_CONF, port=a, redis_port=redis), \
                running_nginx(tmp_path / "relay-b", r.web_port, NCHAN_CONF, port=b, redis_port=redis), \
                listening(http, f"http://127.0.0.1:{b}/api/events") as far:
            await until(lambda: far.pieces, 15, "a piece on relay B")
            await first_redis.aclose()  # Redis goes away (and comes back empty: nothing is saved); nginx stays
            gone = await next_piece(r, r.node.media.last_seq)  # made and kept here all the same
            async with running_redis(tmp_path / "redis", redis):
                # Once nchan is back on Redis, the node's next publish (its retry, or the next piece) reaches
                # relay B's listener, which reconnected meanwhile as a browser does.
                end = asyncio.get_running_loop().time() + 40
                while not (far.seqs and far.seqs[-1] >= gone["seq"]):
                    assert asyncio.get_running_loop().time() < end, (far.seqs, far.answers[-5:])
                    r.node.request_next()
                    with contextlib.suppress(AssertionError):
                        await until(lambda: far.seqs and far.seqs[-1] >= gone["seq"], 2, "")
                assert far.pieces[-1]["seq"] <= r.node.media.last_seq


async def test_a_thousand_listeners_opening_at_once_all_get_the_next_piece(
        tmp_path: Path, checkpoints: tuple[Path, Path]) -> None:
    port = free_port()
    cfg = node_config(tmp_path / "state", checkpoints, publish_to=f"http://127.0.0.1:{port}{PUB}")
    async with running_node(cfg, osc=False) as r, \
            running_nginx(tmp_path / "nginx", r.web_port, NCHAN_CONF, port=port):
        await until(lambda: connections_to(port) == 1, 15, "the node's connection to nginx")
        seq = r.node.media.last_seq
        want = f'"seq":{seq + 1},'.encode()
        opened = asyncio.Event()
        ready = 0

        async def listener() -> None:
            nonlocal ready
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /api/events HTTP/1.1\r\nHost: ciel\r\nAccept: text/event-stream\r\n\r\n")
            seen = b""
            try:
                while f'"seq":{seq},'.encode() not in seen:  # the newest piece first
                    chunk = await reader.read(4096)
                    assert chunk, f"the stream ended before the newest piece: {seen[:300]!r}"
                    seen += chunk
                ready += 1
                if ready == 1000:
                    opened.set()
                while want not in seen:
                    chunk = await reader.read(4096)
                    assert chunk, "the stream ended"
                    seen += chunk
            finally:
                writer.close()

        tasks = [asyncio.create_task(listener()) for _ in range(1000)]  # all at once
        try:
            await asyncio.wait_for(opened.wait(), 30)
            r.node.request_next()  # the node publishes once; nginx pushes to all 1000
            await asyncio.wait_for(asyncio.gather(*tasks), 30)
        finally:
            for t in tasks:
                t.cancel()
        await until(lambda: connections_to(port) == 1, 10, "the listeners' sockets closed, the node's one left")
        assert r.node.media.last_seq == seq + 1


async def test_the_page_through_nchan_shows_and_plays_the_pieces(tmp_path: Path) -> None:
    from test_browser import SHIPPED, chromium, get_json  # the same Chromium driver and models as the page's tests

    require_nchan()
    port = free_port()
    cfg = node_config(tmp_path / "state", SHIPPED, 3600, max_sound_s=8.0,
                      publish_to=f"http://127.0.0.1:{port}{PUB}")
    async with running_node(cfg, osc=False) as r, \
            running_nginx(tmp_path / "nginx", r.web_port, NCHAN_CONF, port=port), \
            chromium(tmp_path, 640, 360) as page:
        origin = f"http://127.0.0.1:{port}"
        await page.open_page(origin + "/")
        assert await page.eval("ciel.transport") == "events"
        latest = await get_json(origin + "/api/latest")
        assert await page.eval("ciel.seq") == latest["seq"] and await page.eval("ciel.sky") == latest["sky"]
        await page.call("click", selector="#listen")
        await page.wait("ciel.audioState === 'running' && ciel.analyserLevel() > 1e-4", 15)
        r.node.request_next()
        await page.wait(f"ciel.seq === {latest['seq'] + 1}", 15)
        # The new piece's sky, from the node itself: nginx micro-caches /api/latest and answers once from the stale
        # copy while it refreshes (proxy_cache_use_stale updating), which gave the old piece's sky. The page's sky
        # follows its seq once the texture has loaded.
        new = await get_json(f"http://127.0.0.1:{r.web_port}/api/latest")
        assert new["seq"] == latest["seq"] + 1, new
        await page.wait(f"ciel.sky === {json.dumps(new['sky'])}", 15)
        assert (await get_json(f"http://127.0.0.1:{r.web_port}/api/health"))["web"]["event_clients"] == 0
        assert await page.eval("ciel.soundErrors") == 0
        assert (await page.eval("ciel.soundUrl")).endswith(".opus")
        await page.assert_same_origin(origin)


async def test_a_relay_that_forgot_the_piece_gets_it_again_without_a_new_piece(
        tmp_path: Path, checkpoints: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fanout_module, "CHECK_S", 0.5)  # the node asks whether the channel holds a piece this often
    port = free_port()
    cfg = node_config(tmp_path / "state", checkpoints, publish_to=f"http://127.0.0.1:{port}{PUB}")
    async with running_node(cfg, osc=False) as r, aiohttp.ClientSession() as http:
        async with running_nginx(tmp_path / "nginx", r.web_port, NCHAN_CONF, port=port), \
                listening(http, f"http://127.0.0.1:{port}/api/events") as before:
            await until(lambda: before.pieces, 15, "the piece")
        published = (await health(r, http))["audience"]["nchan"]["published"]
        # Restarted between two pieces (no Redis): its channel is empty, and no publish failed to tell the node.
        async with running_nginx(tmp_path / "nginx", r.web_port, NCHAN_CONF, port=port), \
                listening(http, f"http://127.0.0.1:{port}/api/events") as after:
            await until(lambda: after.pieces, 15, "the newest piece, published again")
            assert after.pieces[-1] == latest_json(r)
        relay = (await health(r, http))["audience"]["nchan"]
        assert relay["published"] >= published + 1 and relay["republished"] >= 1, relay
