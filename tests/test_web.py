"""The HTTP surface through pytest-aiohttp: contract fields, caching headers, read-only, no way out of media/."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from ciel_node.publish.media import MediaStore
from ciel_node.publish.web import IMMUTABLE, WebSurface


def _files(i: int, size: int = 2000) -> dict[str, tuple[bytes, str]]:
    body = (f"piece {i} ".encode() * size)[:size]
    return {"image": (b"I" + body, ".png"), "sky": (b"S" + body, ".png"),
            "audio": (b"A" + body, ".mp3"), "wav": (b"W" + body, ".wav")}


META = {"created_at": 1.5, "duration_s": 30.0, "params": {"seed": 1, "drift": 0.1, "interval": 30.0,
        "volume_ceiling": -6.0}, "checkpoints": {"audio": "a" * 16, "image": "b" * 16}}


class Site:
    def __init__(self, store: MediaStore, surface: WebSurface, client: TestClient) -> None:
        self.store, self.surface, self.client = store, surface, client
        self.next_at: float | None = 1234.5

    def publish(self, i: int, size: int = 2000) -> dict[str, Any]:
        entry = self.store.publish(_files(i, size), dict(META))
        self.surface.on_piece(entry)
        return entry


@pytest.fixture
async def site(tmp_path: Path, aiohttp_client: Any) -> Site:
    store = MediaStore(tmp_path / "state", keep_pieces=50)
    holder: dict[str, Site] = {}
    surface = WebSurface(store, lambda: {"uptime_s": 1.0}, lambda: holder["site"].next_at, web_root=tmp_path / "web")
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "index.html").write_text("<!doctype html><title>ciel</title>")
    client = await aiohttp_client(surface.app())
    holder["site"] = Site(store, surface, client)
    return holder["site"]


async def test_latest_fields_and_revalidation(site: Site) -> None:
    r = await site.client.get("/api/latest")
    assert r.status == 404 and r.headers["Cache-Control"] == "no-cache"
    entry = site.publish(1)
    r = await site.client.get("/api/latest")
    assert r.status == 200 and r.headers["Cache-Control"] == "no-cache"
    etag = r.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    body = await r.json()
    assert set(body) == {"seq", "created_at", "image", "sky", "audio", "duration_s", "params", "checkpoints",
                         "next_at"}
    assert body["seq"] == 1 and body["image"] == f"/media/{entry['image']}" and body["audio"].endswith(".mp3")
    assert body["params"] == META["params"] and body["next_at"] == 1234.5
    r = await site.client.get("/api/latest", headers={"If-None-Match": etag})
    assert r.status == 304 and r.headers["ETag"] == etag and await r.read() == b""
    r = await site.client.get("/api/latest", headers={"If-None-Match": '"other", ' + etag})
    assert r.status == 304
    site.next_at = 99.0  # a new schedule is news too
    r = await site.client.get("/api/latest", headers={"If-None-Match": etag})
    assert r.status == 200 and r.headers["ETag"] != etag
    site.publish(2)
    r = await site.client.get("/api/latest")
    assert (await r.json())["seq"] == 2


async def test_pieces_newest_first_and_bad_limits(site: Site) -> None:
    for i in range(5):
        site.publish(i)
    r = await site.client.get("/api/pieces?limit=3")
    assert [p["seq"] for p in await r.json()] == [5, 4, 3]
    assert len(await (await site.client.get("/api/pieces")).json()) == 5
    for bad in ("0", "-1", "abc", "1e3", "501", "2.5"):
        r = await site.client.get(f"/api/pieces?limit={bad}")
        assert r.status == 400 and bad in (await r.json())["error"]


async def test_media_is_immutable_and_typed(site: Site) -> None:
    entry = site.publish(1)
    for kind, ctype in (("image", "image/png"), ("sky", "image/png"), ("audio", "audio/mpeg"), ("wav", "audio/wav")):
        r = await site.client.get(f"/media/{entry[kind]}")
        assert r.status == 200 and r.headers["Cache-Control"] == IMMUTABLE
        assert r.headers["Content-Type"] == ctype
        assert await r.read() == _files(1)[kind][0]
    r = await site.client.head(f"/media/{entry['image']}")
    assert r.status == 200 and int(r.headers["Content-Length"]) == 2001


@pytest.mark.parametrize("path", [
    "/media/", "/media/../manifest.jsonl", "/media/%2e%2e/manifest.jsonl", "/media/..%2fmanifest.jsonl",
    "/media/%2e%2e%2fmanifest.jsonl", "/media/%2fetc%2fpasswd", "/media//etc/passwd", "/media/..%5cmanifest.jsonl",
    "/media/manifest.jsonl", "/media/.0123456789abcdef01234567.png.tmp-1-2", "/media/0123456789ABCDEF01234567.png",
    "/assets/../state/manifest.jsonl", "/assets/%2e%2e%2fstate%2fmanifest.jsonl", "/assets/secret.txt",
    "/state/manifest.jsonl", "/manifest.jsonl", "/web/index.html",
])
async def test_no_way_out_of_the_media_folder(site: Site, path: str) -> None:
    site.publish(1)
    (site.store.root.parent / "web" / "secret.txt").write_text("secret")
    r = await site.client.get(path)
    assert r.status == 404, (path, r.status)
    assert b"seq" not in await r.read()


async def test_symlink_in_media_is_not_followed(site: Site, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("not for the audience")
    name = "0123456789abcdef01234567.png"
    os.symlink(secret, site.store.media / name)
    r = await site.client.get(f"/media/{name}")
    assert r.status == 404


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
async def test_read_only(site: Site, method: str) -> None:
    entry = site.publish(1)
    for path in ("/", "/api/latest", "/api/pieces", "/api/health", f"/media/{entry['image']}"):
        r = await site.client.request(method, path, data=b"x")
        assert r.status == 405, (method, path)
    assert site.store.last_seq == 1 and (site.store.media / entry["image"]).exists()


async def test_oversized_headers_are_refused(site: Site) -> None:
    host, port = site.client.server.host, site.client.server.port
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"GET /api/latest HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n")
    await writer.drain()
    status = await asyncio.wait_for(reader.readline(), 5)
    writer.close()
    assert status.split()[1] in (b"400", b"413", b"431"), status


async def test_health_has_web_counters(site: Site) -> None:
    await site.client.get("/api/latest")
    data = await (await site.client.get("/api/health")).json()
    assert data["uptime_s"] == 1.0 and data["web"]["requests"] >= 2


async def test_a_piece_is_never_served_half_written(site: Site) -> None:
    stop = asyncio.Event()
    problems: list[str] = []

    async def reader() -> None:
        while not stop.is_set():
            r = await site.client.get("/api/latest")
            if r.status != 200:
                await asyncio.sleep(0)
                continue
            body = await r.json()
            for key in ("image", "sky", "audio"):
                m = await site.client.get(body[key])
                data = await m.read()
                if m.status == 404:
                    continue  # pruned since: fine, never partial
                name = body[key].rsplit("/", 1)[1]
                if hashlib.sha256(data).hexdigest() != name.split(".")[0]:
                    problems.append(f"{name}: {len(data)} bytes do not match their name")

    async def writer() -> None:
        loop = asyncio.get_running_loop()
        for i in range(60):
            await loop.run_in_executor(None, site.store.publish, _files(i, 200_000), dict(META))
        stop.set()

    await asyncio.gather(reader(), reader(), writer())
    assert problems == []


async def test_push_channel_sends_each_new_piece(site: Site) -> None:
    site.publish(1)
    r = await site.client.get("/api/events")
    assert r.headers["Content-Type"] == "text/event-stream"

    async def next_event() -> dict[str, Any]:
        data = b""
        while True:
            line = await asyncio.wait_for(r.content.readline(), 5)
            if line.startswith(b"data: "):
                data = line[6:]
            elif line == b"\n" and data:
                return json.loads(data)

    assert (await next_event())["seq"] == 1  # the current piece at once
    site.publish(2)
    assert (await next_event())["seq"] == 2
    r.close()


async def test_page_is_served(site: Site) -> None:
    r = await site.client.get("/")
    assert r.status == 200 and "ciel" in await r.text()
    r = await site.client.get("/vendor/aframe.min.js")
    assert r.status == 503  # not installed in this bare web root: a clear answer, not a crash


def test_app_builds(tmp_path: Path) -> None:
    assert isinstance(WebSurface(MediaStore(tmp_path), dict, lambda: None).app(), web.Application)
