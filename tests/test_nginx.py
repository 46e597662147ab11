"""deploy/nginx.conf in front of a real node: media and /api/latest cached (HIT), headers kept, events streamed.

nginx is started by the test from a copy of the config rendered into tmp_path (ports and prefix
substituted), unprivileged-style: `nginx -p PREFIX -c CONF -e stderr -g 'daemon off;'`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from conftest import require_tool
from nginxpeers import running_nginx
from nodes import node_config, running_node

from ciel_node.app import Node
from ciel_node.publish.web import IMMUTABLE

TIMEOUT = aiohttp.ClientTimeout(total=10)


class Stack:
    def __init__(self, node: Node, node_port: int, port: int, http: aiohttp.ClientSession) -> None:
        self.node, self.http = node, http
        self.direct, self.proxy = f"http://127.0.0.1:{node_port}", f"http://127.0.0.1:{port}"

    async def get(self, url: str, **headers: str) -> tuple[aiohttp.ClientResponse, bytes]:
        async with self.http.get(url, headers=headers, timeout=TIMEOUT) as r:
            return r, await r.read()

    async def node_requests(self) -> int:
        """Requests the node has served (this one included)."""
        async with self.http.get(self.direct + "/api/health", timeout=TIMEOUT) as r:
            return int((await r.json())["web"]["requests"])


@pytest.fixture
async def stack(tmp_path: Path, tiny_checkpoints: tuple[Path, Path]) -> AsyncIterator[Stack]:
    require_tool("nginx")
    cfg = node_config(tmp_path / "state", tiny_checkpoints, max_sound_s=2.0, speakers=True)
    async with running_node(cfg, osc=False) as r, running_nginx(tmp_path / "nginx", r.web_port) as port, \
            aiohttp.ClientSession() as http:
        yield Stack(r.node, r.web_port, port, http)


async def test_media_is_cached_as_immutable(stack: Stack) -> None:
    r, latest = await stack.get(stack.proxy + "/api/latest")
    piece: dict[str, Any] = await r.json()
    for kind, ctype in (("sky", "image/webp"), ("image", "image/webp"), ("audio", "audio/mpeg")):
        _, original = await stack.get(stack.direct + piece[kind])
        first, body1 = await stack.get(stack.proxy + piece[kind])
        second, body2 = await stack.get(stack.proxy + piece[kind])
        assert first.status == second.status == 200
        assert first.headers["X-Cache-Status"] == "MISS" and second.headers["X-Cache-Status"] == "HIT"
        for r in (first, second):
            assert r.headers["Cache-Control"] == IMMUTABLE and r.headers["Content-Type"] == ctype
        assert body1 == body2 == original
    r, _ = await stack.get(stack.proxy + "/media/" + "0" * 24 + ".png")
    assert r.status == 404


async def test_latest_is_micro_cached_with_one_request_to_the_node(stack: Stack) -> None:
    first, body1 = await stack.get(stack.proxy + "/api/latest")
    second, body2 = await stack.get(stack.proxy + "/api/latest")
    assert first.status == second.status == 200 and body1 == body2
    assert second.headers["X-Cache-Status"] == "HIT", second.headers.get("X-Cache-Status")
    # The node's headers come through: browsers still revalidate, with the node's strong ETag.
    direct, _ = await stack.get(stack.direct + "/api/latest")
    assert second.headers["Cache-Control"] == "no-cache"
    assert second.headers["ETag"] == direct.headers["ETag"]
    r, body = await stack.get(stack.proxy + "/api/latest", **{"If-None-Match": direct.headers["ETag"]})
    assert r.status == 304 and body == b""

    # A burst of pollers after the entry expired: the node sees one request, not two hundred.
    await asyncio.sleep(1.1)
    before = await stack.node_requests()
    answers = await asyncio.gather(*(stack.get(stack.proxy + "/api/latest") for _ in range(200)))
    after = await stack.node_requests()
    assert all(r.status == 200 and b == body1 for r, b in answers)
    assert after - before - 1 <= 2, f"{after - before - 1} requests reached the node"

    # A new piece is visible through the cache within about a second.
    seq = int(json.loads(body1)["seq"])
    stack.node.request_next()
    end = time.monotonic() + 5
    while True:
        r, body = await stack.get(stack.proxy + "/api/latest")
        if int(json.loads(body)["seq"]) == seq + 1:
            break
        assert time.monotonic() < end, "the new piece did not come through the cache"
        await asyncio.sleep(0.1)


async def test_events_stream_through_unbuffered(stack: Stack) -> None:
    async with stack.http.get(stack.proxy + "/api/events", timeout=aiohttp.ClientTimeout(total=20)) as r:
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/event-stream")
        assert "X-Cache-Status" not in r.headers

        async def next_event() -> dict[str, Any]:
            lines: list[str] = []
            while True:
                line = (await asyncio.wait_for(r.content.readline(), 5)).decode().rstrip("\n")
                if line == "" and any(x.startswith("data: ") for x in lines):
                    data = next(x for x in lines if x.startswith("data: "))[6:]
                    return dict(json.loads(data))
                if line:
                    lines.append(line)

        first = await next_event()  # sent at connect
        assert first["seq"] == stack.node.media.last_seq
        published: list[float] = []  # when the node told its surfaces: nginx's part is from there on
        stack.node.piece_listeners.append(lambda entry: published.append(time.monotonic()))
        stack.node.request_next()
        pushed = await next_event()
        arrived = time.monotonic()
        assert pushed["seq"] == first["seq"] + 1 and published
        # A buffering proxy holds an event until its buffer fills or the stream ends: seconds at least. The
        # render before the publish is not nginx's (under load it alone took 2 s in a fresh-clone run).
        assert arrived - published[0] < 1.0, f"the push was held back {arrived - published[0]:.2f} s (buffered)"
