"""The HTTP surface through pytest-aiohttp: contract fields, caching headers, read-only, no way out of media/."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from ciel_node.fdlimit import ConnectionCaps
from ciel_node.publish.media import MediaStore
from ciel_node.publish.web import IMMUTABLE, WebSurface, serve


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


# --- issue 11: no 500s, quiet bad requests, HEAD on the stream, caps, media only as the store wrote it -------

async def raw_exchange(site: Site, data: bytes, until: bytes, deadline_s: float = 5.0) -> bytes:
    """Send raw bytes on a fresh connection; read until `until` has arrived (or fail at the deadline)."""
    reader, writer = await asyncio.open_connection(site.client.server.host, site.client.server.port)
    writer.write(data)
    await writer.drain()
    got = b""
    try:
        async with asyncio.timeout(deadline_s):
            while until not in got:
                chunk = await reader.read(65536)
                assert chunk, f"connection closed after {got!r}"
                got += chunk
    finally:
        writer.close()
    return got


@pytest.mark.parametrize("bad", ["%C2%B2", "%D9%A3", "9" * 5000, "0" * 5000 + "1", "%20", "+1", "1_0"])
async def test_limits_that_int_refuses_are_a_400_not_a_500(site: Site, bad: str) -> None:
    site.publish(1)
    r = await site.client.get(f"/api/pieces?limit={bad}")
    assert r.status == 400, (bad[:20], r.status)
    error = (await r.json())["error"]
    assert "limit=" in error and "whole number in 1..500" in error and len(error) < 200
    assert site.surface.counters["errors"] == 0


async def test_an_entry_without_its_files_is_not_a_piece(site: Site) -> None:
    site.publish(1)
    site.store.publish({"image": (b"only an image", ".png")}, dict(META))  # seq 2: no sky, no sound
    r = await site.client.get("/api/latest")
    assert r.status == 200 and (await r.json())["seq"] == 1
    r = await site.client.get("/api/pieces")
    assert r.status == 200 and [p["seq"] for p in await r.json()] == [1]
    assert site.surface.counters["errors"] == 0


async def test_an_unexpected_failure_is_a_counted_500(site: Site) -> None:
    def broken() -> dict[str, Any]:
        raise RuntimeError("a bug")

    site.surface.health = broken
    r = await site.client.get("/api/health")
    assert r.status == 500 and "error" in await r.json()
    assert site.surface.counters["errors"] == 1
    assert (await site.client.get("/api/latest")).status == 404  # and it carries on


async def test_a_malformed_request_line_is_one_short_log_line(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    request = b"GET /\x00 HTTP/1.1\r\n\r\n"
    assert len(request) == 19
    answer = await raw_exchange(site, request, b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.") and b" 400 " in answer.split(b"\r\n")[0]
    records = [r for r in caplog.records if r.name == "aiohttp.server"]  # (the test server has an access log)
    assert len(records) == 1 and records[0].exc_info is None, [r.getMessage() for r in records]
    line = records[0].getMessage()
    assert "bad request from 127.0.0.1" in line and len(line) < 160 and "\n" not in line
    assert site.surface.counters["bad_requests"] == 1
    assert (await site.client.get("/api/latest")).status == 404  # still serving


async def test_head_on_the_event_stream_is_headers_only(site: Site) -> None:
    site.publish(1)
    # HEAD then GET pipelined on one connection: the GET is answered only if the HEAD ended.
    answer = await raw_exchange(site, b"HEAD /api/events HTTP/1.1\r\nHost: x\r\n\r\n"
                                      b"GET /api/latest HTTP/1.1\r\nHost: x\r\n\r\n", b'"seq":1')
    head = answer.split(b"\r\n\r\n", 1)[0]
    assert head.startswith(b"HTTP/1.1 200") and b"text/event-stream" in head
    assert answer.count(b"HTTP/1.1 200") == 2 and b"retry:" not in answer
    assert site.surface.counters["event_clients"] == 0


async def test_listeners_past_the_cap_get_503_with_retry_after(tmp_path: Path, aiohttp_client: Any) -> None:
    store = MediaStore(tmp_path / "state")
    surface = WebSurface(store, dict, lambda: None, web_root=tmp_path,
                         caps=ConnectionCaps(nofile=64, connections=8, listeners=2))
    client = await aiohttp_client(surface.app())
    streams = [await client.get("/api/events") for _ in range(2)]
    assert [r.status for r in streams] == [200, 200]
    r = await client.get("/api/events")
    assert r.status == 503 and r.headers["Retry-After"] == "5" and "poll /api/latest" in await r.text()
    assert surface.counters["refused"] == 1 and surface.counters["errors"] == 0
    health = await (await client.get("/api/health")).json()
    assert health["web"]["max_event_clients"] == 2 and health["web"]["max_connections"] == 8
    for stream in streams:
        stream.close()


def _hard_link_or_skip(source: Path, link: Path) -> None:
    try:
        os.link(source, link)
    except OSError as e:  # another filesystem, or fs.protected_hardlinks for a file we do not own
        pytest.skip(f"cannot hard-link {source} into the media folder: {e}")


async def test_a_hard_link_in_media_is_not_served(site: Site, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"not for the audience\n")
    name = hashlib.sha256(outside.read_bytes()).hexdigest() + ".png"  # even under its own content's name
    _hard_link_or_skip(outside, site.store.media / name)
    r = await site.client.get(f"/media/{name}")
    assert r.status == 404 and b"audience" not in await r.read()
    assert site.surface.counters["media_refused"] == 1


async def test_a_hard_link_to_a_system_file_is_not_served(site: Site) -> None:
    passwd = Path("/etc/passwd")
    name = hashlib.sha256(passwd.read_bytes()).hexdigest() + ".png"
    _hard_link_or_skip(passwd, site.store.media / name)
    try:
        r = await site.client.get(f"/media/{name}")
        assert r.status == 404 and b"root:" not in await r.read()
    finally:
        (site.store.media / name).unlink()


async def test_a_published_file_keeps_being_served_with_a_backup_link_but_not_with_changed_bytes(
    site: Site, tmp_path: Path
) -> None:
    entry = site.publish(1)
    image, sky = site.store.media / entry["image"], site.store.media / entry["sky"]
    assert (await site.client.get(f"/media/{entry['image']}")).status == 200
    _hard_link_or_skip(image, tmp_path / "backup.png")  # `cp -al` of the state dir: the sky must not go blank
    r = await site.client.get(f"/media/{entry['image']}")
    assert r.status == 200 and await r.read() == _files(1)["image"][0]
    with open(tmp_path / "backup.png", "r+b") as f:  # ... but bytes changed through that link are not served
        f.write(b"X")
    assert (await site.client.get(f"/media/{entry['image']}")).status == 404
    with open(sky, "r+b") as f:  # same inode, other bytes: not what the store wrote
        f.write(b"X")
    assert (await site.client.get(f"/media/{entry['sky']}")).status == 404
    r = await site.client.get(f"/media/{entry['audio']}")
    assert r.status == 200 and await r.read() == _files(1)["audio"][0]


async def test_media_ranges_and_revalidation(site: Site) -> None:
    entry = site.publish(1)
    url, body = f"/media/{entry['audio']}", _files(1)["audio"][0]
    r = await site.client.get(url, headers={"Range": "bytes=10-19"})
    assert r.status == 206 and await r.read() == body[10:20]
    assert r.headers["Content-Range"] == f"bytes 10-19/{len(body)}"
    r = await site.client.get(url, headers={"Range": "bytes=-5"})
    assert r.status == 206 and await r.read() == body[-5:]
    r = await site.client.get(url, headers={"Range": f"bytes={len(body)}-"})
    assert r.status == 416
    r = await site.client.get(url)
    etag = r.headers["ETag"]
    r = await site.client.get(url, headers={"If-None-Match": etag})
    assert r.status == 304 and r.headers["Cache-Control"] == IMMUTABLE


async def test_a_symlink_swapped_in_is_never_followed(site: Site, tmp_path: Path) -> None:
    entry = site.publish(1)
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"SECRET " * 100)
    real = site.store.media / entry["image"]
    spare, link = tmp_path / "spare.png", tmp_path / "link.png"
    os.link(real, spare)  # to swap the real file back in (a second link only while it is out of media/)
    os.unlink(real)
    os.symlink(secret, link)
    stop = threading.Event()

    def swapper() -> None:  # the real file and a symlink, alternately, as fast as rename allows
        while not stop.is_set():
            os.link(spare, tmp_path / "in.png")
            os.replace(tmp_path / "in.png", real)
            os.symlink(secret, tmp_path / "ln.png")
            os.replace(tmp_path / "ln.png", real)

    thread = threading.Thread(target=swapper, daemon=True)
    thread.start()
    try:
        for _ in range(1000):  # the old check-then-open lost about 1 in 100
            r = await site.client.get(f"/media/{entry['image']}")
            assert b"SECRET" not in await r.read()
    finally:
        stop.set()
        thread.join()


async def test_connections_past_the_cap_get_a_503_and_are_closed(tmp_path: Path) -> None:
    """Idle connections fill the connection cap: the next one is answered 503 at once, not left to time out."""
    surface = WebSurface(MediaStore(tmp_path / "state"), dict, lambda: None, web_root=tmp_path,
                         caps=ConnectionCaps(nofile=64, connections=3, listeners=2))
    async with serve(surface, "127.0.0.1", 0) as port:
        idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
        async def connections() -> int:
            while surface.connections() < 3:
                await asyncio.sleep(0.01)
            return surface.connections()
        assert await asyncio.wait_for(connections(), 5) == 3
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /api/latest HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = await asyncio.wait_for(reader.read(), 5)  # read to EOF: the node closes it
        assert answer.startswith(b"HTTP/1.1 503 ") and b"Retry-After: 5" in answer and b"too many connections" in answer
        writer.close()
        assert surface.counters["refused"] == 1
        idle[0][1].close()  # one leaves: the next is served
        async def served() -> bytes:
            while True:
                r, w = await asyncio.open_connection("127.0.0.1", port)
                w.write(b"GET /api/latest HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                line = await r.readline()
                w.close()
                if b" 503 " not in line:
                    return line
                await asyncio.sleep(0.05)
        assert (await asyncio.wait_for(served(), 5)).startswith(b"HTTP/1.1 404")  # no piece yet: the API's answer
        for _, w in idle[1:]:
            w.close()


async def test_connections_that_send_nothing_are_closed_and_free_the_cap(tmp_path: Path, monkeypatch) -> None:
    """Connections that never send a request (or half of one) fill the cap, then time out: the cap is free
    again and a poller is served, instead of 503s for as long as a stranger keeps sockets open."""
    import ciel_node.publish.web as web_module

    monkeypatch.setattr(web_module, "IDLE_S", 1.0, raising=False)
    surface = WebSurface(MediaStore(tmp_path / "state"), dict, lambda: None, web_root=tmp_path,
                         caps=ConnectionCaps(nofile=64, connections=3, listeners=2))
    async with serve(surface, "127.0.0.1", 0) as port:
        idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
        idle[0][1].write(b"GET /api/lat")  # a slow request line is no request under way either

        async def filled() -> None:
            while surface.connections() < 3:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(filled(), 5)
        for reader, _ in idle:  # each is closed by the node: EOF, not our timeout
            assert await asyncio.wait_for(reader.read(), 10) == b""

        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /api/latest HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert (await asyncio.wait_for(reader.readline(), 5)).startswith(b"HTTP/1.1 404")  # served, no piece yet
        writer.close()
        for _, w in idle:
            w.close()
