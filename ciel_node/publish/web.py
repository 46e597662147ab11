"""The audience surface: aiohttp, read-only. The page, the latest piece as JSON (ETag/304), a push channel, media."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from ciel_node.errors import CielError
from ciel_node.publish.media import MediaStore

log = logging.getLogger(__name__)

WEB_ROOT = Path(__file__).resolve().parent.parent.parent / "web"
AFRAME = Path("node_modules") / "aframe" / "dist" / "aframe-master.min.js"
MEDIA_NAME = re.compile(r"^[0-9a-f]{24}(?:[0-9a-f]{40})?\.(png|mp3|wav)$")  # sha256; 24 hex: older state dirs
CONTENT_TYPES = {"png": "image/png", "mp3": "audio/mpeg", "wav": "audio/wav"}
IMMUTABLE = "public, max-age=31536000, immutable"
PAGE_FILES = {"index.html", "app.js", "style.css", "note.html"}
MAX_PIECES = 500
MAX_EVENT_CLIENTS = 2000

Health = Callable[[], dict[str, Any]]
NextAt = Callable[[], float | None]


def piece_json(entry: dict[str, Any], next_at: float | None) -> dict[str, Any]:
    """A manifest entry as the contract's JSON: file names become /media/ URLs."""
    return {
        "seq": entry["seq"],
        "created_at": entry.get("created_at"),
        "image": f"/media/{entry['image']}",
        "sky": f"/media/{entry['sky']}",
        "audio": f"/media/{entry['audio']}",
        "duration_s": entry.get("duration_s"),
        "params": entry.get("params", {}),
        "checkpoints": entry.get("checkpoints", {}),
        "next_at": next_at,
    }


class WebSurface:
    """Builds the aiohttp application over the media store; owns the push-channel clients."""

    def __init__(self, media: MediaStore, health: Health, next_at: NextAt, web_root: Path = WEB_ROOT) -> None:
        self.media, self.health, self.next_at = media, health, next_at
        self.web_root = web_root
        self.counters = {"requests": 0, "not_modified": 0, "media": 0, "event_clients": 0, "errors": 0}
        self._clients: set[asyncio.Queue[bytes | None]] = set()
        self._latest_cache: tuple[Any, bytes, str] | None = None

    # --- app ---------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/", self._index)
        app.router.add_get("/api/latest", self._latest)
        app.router.add_get("/api/pieces", self._pieces)
        app.router.add_get("/api/health", self._health)
        app.router.add_get("/api/events", self._events)
        app.router.add_get("/media/{name}", self._media)
        app.router.add_get("/assets/{name}", self._asset)
        app.router.add_get("/vendor/aframe.min.js", self._aframe)
        app.on_shutdown.append(self._close_clients)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.counters["requests"] += 1
        try:
            response: web.StreamResponse = await handler(request)
        except web.HTTPException as e:
            if e.status >= 500:
                self.counters["errors"] += 1
            raise
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    # --- the page ----------------------------------------------------------------------------
    async def _index(self, request: web.Request) -> web.StreamResponse:
        return self._file(self.web_root / "index.html", "no-cache")

    async def _asset(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in PAGE_FILES:
            raise web.HTTPNotFound()
        return self._file(self.web_root / name, "no-cache")

    async def _aframe(self, request: web.Request) -> web.StreamResponse:
        path = self.web_root / AFRAME
        if not path.is_file():
            raise web.HTTPServiceUnavailable(text="A-Frame is not installed: run `make run` (npm ci in web/)\n")
        return self._file(path, "public, max-age=86400")

    @staticmethod
    def _file(path: Path, cache: str) -> web.StreamResponse:
        if not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={"Cache-Control": cache})

    # --- the API -----------------------------------------------------------------------------
    def _latest_body(self) -> tuple[bytes, str] | None:
        entry = self.media.latest()
        if entry is None:
            return None
        next_at = self.next_at()
        key = (entry["seq"], next_at)
        if self._latest_cache is None or self._latest_cache[0] != key:  # one encode per change, not per poll
            body = json.dumps(piece_json(entry, next_at), separators=(",", ":")).encode()
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            self._latest_cache = (key, body, etag)
        return self._latest_cache[1], self._latest_cache[2]

    async def _latest(self, request: web.Request) -> web.StreamResponse:
        found = self._latest_body()
        if found is None:
            raise web.HTTPNotFound(text='{"error": "no piece published yet"}', content_type="application/json",
                                   headers={"Cache-Control": "no-cache", "Retry-After": "1"})
        body, etag = found
        headers = {"Cache-Control": "no-cache", "ETag": etag}
        if etag in _etags(request.headers.get("If-None-Match", "")):
            self.counters["not_modified"] += 1
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, content_type="application/json", headers=headers)

    async def _pieces(self, request: web.Request) -> web.StreamResponse:
        raw = request.query.get("limit", "20")
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_PIECES:
            error = {"error": f"limit={raw!r}: give a whole number in 1..{MAX_PIECES}"}
            raise web.HTTPBadRequest(text=json.dumps(error), content_type="application/json")
        next_at = self.next_at()
        pieces = [piece_json(e, next_at) for e in self.media.recent(int(raw))]
        return web.json_response(pieces, headers={"Cache-Control": "no-cache"})

    async def _health(self, request: web.Request) -> web.StreamResponse:
        data = self.health()
        data["web"] = dict(self.counters)
        return web.json_response(data, headers={"Cache-Control": "no-cache"})

    # --- media -------------------------------------------------------------------------------
    async def _media(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        # Content names only: nothing outside the media folder, no temporaries, no listing.
        if not MEDIA_NAME.match(name):
            raise web.HTTPNotFound()
        path = self.media.media / name
        if path.is_symlink() or not path.is_file():
            raise web.HTTPNotFound()
        self.counters["media"] += 1
        content_type = CONTENT_TYPES[name.rsplit(".", 1)[1]]
        return web.FileResponse(path, headers={"Cache-Control": IMMUTABLE, "Content-Type": content_type})

    # --- push channel (Server-Sent Events) ------------------------------------------------------
    def on_piece(self, entry: dict[str, Any]) -> None:
        """Called in the loop when a piece is published: tell every listening page."""
        found = self._latest_body()
        if found is None:
            return
        message = b"event: piece\ndata: " + found[0] + b"\n\n"
        for queue in list(self._clients):
            if queue.full():  # a client that stopped reading loses pushes, not our memory
                continue
            queue.put_nowait(message)

    async def _events(self, request: web.Request) -> web.StreamResponse:
        if len(self._clients) >= MAX_EVENT_CLIENTS:
            raise web.HTTPServiceUnavailable(text="too many listeners on the push channel; poll /api/latest\n",
                                             headers={"Retry-After": "5"})
        response = web.StreamResponse(headers={
            "Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no",
        })
        await response.prepare(request)
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=8)
        self._clients.add(queue)
        self.counters["event_clients"] = len(self._clients)
        try:
            found = self._latest_body()
            await response.write(b"retry: 2000\n\n" + (b"event: piece\ndata: " + found[0] + b"\n\n" if found else b""))
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), 15.0)
                except TimeoutError:
                    message = b": keep-alive\n\n"  # proxies close idle streams
                if message is None:
                    break
                await response.write(message)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self._clients.discard(queue)
            self.counters["event_clients"] = len(self._clients)
        return response

    async def _close_clients(self, app: web.Application) -> None:
        for queue in list(self._clients):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)


def _etags(header: str) -> set[str]:
    return {part.strip().removeprefix("W/") for part in header.split(",") if part.strip()}


@contextlib.asynccontextmanager
async def serve(surface: WebSurface, host: str, port: int) -> AsyncIterator[int]:
    """Run the app in the current loop on host:port; yields the bound port."""
    runner = web.AppRunner(surface.app(), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024, reuse_address=True)
    try:
        await site.start()
    except OSError as e:
        await runner.cleanup()
        if e.errno == errno.EADDRINUSE:
            raise CielError(f"web port {host}:{port} is busy; pick another with --web HOST:PORT") from None
        raise CielError(f"cannot serve the web page on {host}:{port} ({e.strerror}); check --web HOST:PORT") from None
    bound = int(runner.addresses[0][1])
    log.info("web page on http://%s:%d/", host, bound)
    try:
        yield bound
    finally:
        await runner.cleanup()
