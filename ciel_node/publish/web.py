"""The audience surface: aiohttp, read-only. The page, the latest piece as JSON (ETag/304), a push channel, media."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import stat
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from ciel_node.errors import CielError
from ciel_node.fdlimit import CappedListener, ConnectionCaps
from ciel_node.publish.media import MediaStore, is_media_name

log = logging.getLogger(__name__)

WEB_ROOT = Path(__file__).resolve().parent.parent.parent / "web"
AFRAME = Path("node_modules") / "aframe" / "dist" / "aframe-master.min.js"
CONTENT_TYPES = {"png": "image/png", "webp": "image/webp", "avif": "image/avif", "mp3": "audio/mpeg",
                 "opus": "audio/ogg; codecs=opus", "wav": "audio/wav"}
IMMUTABLE = "public, max-age=31536000, immutable"
PAGE_FILES = {"index.html", "app.js", "style.css", "note.html"}
MAX_PIECES = 500
PIECE_KINDS = ("image", "sky", "audio")  # the files an entry must name to be a piece for the audience
CHUNK = 256 * 1024  # media are sent in reads of this size from the descriptor that was checked
VERIFIED_MAX = 4096  # media inodes whose content hash was checked, remembered
# A connection with no request under way (none sent yet, half a request line, or idle between polls) is closed
# after this long. aiohttp's own default under AppRunner is 3630 s: connections that never send a byte filled the
# connection cap, and everyone else got 503s for an hour. Pollers ask every second or two; a page's stream is a
# request under way, never idle.
IDLE_S = 15.0

Health = Callable[[], dict[str, Any]]
NextAt = Callable[[], float | None]


def is_piece(entry: dict[str, Any]) -> bool:
    """Whether a manifest entry has what the audience needs: a seq and its three files."""
    return isinstance(entry.get("seq"), int) and all(isinstance(entry.get(k), str) for k in PIECE_KINDS)


def piece_json(entry: dict[str, Any], next_at: float | None) -> dict[str, Any]:
    """A manifest entry (one that `is_piece`) as the contract's JSON: file names become /media/ URLs."""
    return {
        "seq": entry["seq"],
        "created_at": entry.get("created_at"),
        "image": f"/media/{entry['image']}",
        "sky": f"/media/{entry['sky']}",
        "audio": f"/media/{entry['audio']}",
        # The same sound as Ogg Opus (lighter): the page takes it where the browser plays Opus. Older pieces have none.
        **({"audio_opus": f"/media/{entry['audio_opus']}"} if isinstance(entry.get("audio_opus"), str) else {}),
        # The skies the piece's sound moves its picture through: one strip, cell k shown from keyframe_times[k].
        **_keyframes(entry),
        "duration_s": entry.get("duration_s"),
        "params": entry.get("params", {}),
        "checkpoints": entry.get("checkpoints", {}),
        "next_at": next_at,
    }


def _keyframes(entry: dict[str, Any]) -> dict[str, Any]:
    name, times = entry.get("keyframes"), entry.get("keyframe_times")
    if not isinstance(name, str) or not isinstance(times, list) or not times:
        return {}
    return {"keyframes": f"/media/{name}", "keyframe_times": times}


class WebSurface:
    """Builds the aiohttp application over the media store; owns the push-channel clients."""

    def __init__(self, media: MediaStore, health: Health, next_at: NextAt, web_root: Path = WEB_ROOT,
                 caps: ConnectionCaps | None = None) -> None:
        self.media, self.health, self.next_at = media, health, next_at
        self.web_root = web_root
        self.caps = caps or ConnectionCaps.from_limit()  # from RLIMIT_NOFILE, as raised at start
        self.counters = {"requests": 0, "not_modified": 0, "media": 0, "event_clients": 0, "errors": 0,
                         "bad_requests": 0, "refused": 0, "media_refused": 0}
        self.connections: Callable[[], int] = lambda: 0  # set by serve(): connections open now
        self.relay: Callable[[], dict[str, Any]] | None = None  # the nchan publisher's stats, when there is one
        self._clients: set[asyncio.Queue[bytes | None]] = set()
        self._latest_cache: tuple[Any, bytes, str] | None = None
        self._verified: OrderedDict[tuple[int, ...], str] = OrderedDict()  # inode identity -> its checked name
        self._bad_requests = _BadRequestLine(self.counters)

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
        app.on_startup.append(self._quiet_bad_requests)
        app.on_cleanup.append(self._unquiet_bad_requests)
        app.on_shutdown.append(self._close_clients)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.counters["requests"] += 1
        try:
            response: web.StreamResponse = await handler(request)
        except web.HTTPException as e:
            if e.status >= 500 and e.status != 503:  # 503s are answers (not installed, at the cap)
                self.counters["errors"] += 1
            raise
        except (asyncio.CancelledError, ConnectionError):
            raise
        except Exception:
            # A bug, not the client's fault: counted, logged (rate-limited), a short answer; the node stays up.
            self.counters["errors"] += 1
            log.exception("web: %s %s failed", request.method, request.path[:200])
            return web.json_response({"error": "internal error; it is logged on the node"}, status=500,
                                     headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    async def _quiet_bad_requests(self, app: web.Application) -> None:
        logging.getLogger("aiohttp.server").addFilter(self._bad_requests)

    async def _unquiet_bad_requests(self, app: web.Application) -> None:
        logging.getLogger("aiohttp.server").removeFilter(self._bad_requests)

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
    def _latest_entry(self) -> dict[str, Any] | None:
        entry = self.media.latest()
        if entry is None or is_piece(entry):
            return entry
        return next((e for e in self.media.recent(MAX_PIECES) if is_piece(e)), None)  # rare: a damaged line

    def latest_json(self) -> bytes | None:
        """The latest piece as /api/latest and the push channel send it (None before the first)."""
        found = self._latest_body()
        return None if found is None else found[0]

    def _latest_body(self) -> tuple[bytes, str] | None:
        entry = self._latest_entry()
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
        # ASCII digits only: str.isdigit() takes "²", which int() refuses; and a few of them, since int()
        # refuses more than 4,300 digits too.
        if not re.fullmatch(r"[0-9]{1,4}", raw) or not 1 <= int(raw) <= MAX_PIECES:
            shown = raw if len(raw) <= 40 else raw[:40] + f"… ({len(raw)} characters)"
            error = {"error": f"limit={shown!r}: give a whole number in 1..{MAX_PIECES}"}
            raise web.HTTPBadRequest(text=json.dumps(error), content_type="application/json")
        next_at = self.next_at()
        pieces = [piece_json(e, next_at) for e in self.media.recent(MAX_PIECES) if is_piece(e)][: int(raw)]
        return web.json_response(pieces, headers={"Cache-Control": "no-cache"})

    async def _health(self, request: web.Request) -> web.StreamResponse:
        data = self.health()
        data["web"] = {**self.counters, "connections": self.connections(), "max_connections": self.caps.connections,
                       "max_event_clients": self.caps.listeners, "nofile": self.caps.nofile}
        data["audience"] = self.audience()
        return web.json_response(data, headers={"Cache-Control": "no-cache"})

    def audience(self) -> dict[str, Any]:
        """How the audience is served: direct (this node's /api/events) or through nchan as well; the listeners this
        node holds itself; what one piece costs a listener (its bytes, as published)."""
        latest = self._latest_entry() or {}
        sizes = latest.get("bytes")
        sizes = sizes if isinstance(sizes, dict) else {}
        per_piece = {k: sizes[k] for k in ("sky", "keyframes", "audio", "audio_opus", "image")
                     if isinstance(sizes.get(k), int)}
        return {
            "mode": "nchan" if self.relay is not None else "direct",
            "listeners": len(self._clients),
            # The page downloads the sky, its keyframes and one sound of each piece (the Opus where it plays it);
            # the picture is there for other clients.
            "bytes_per_piece": {**per_piece, "page": per_piece.get("sky", 0) + per_piece.get("keyframes", 0)
                                + per_piece.get("audio_opus", per_piece.get("audio", 0))}
            if per_piece else None,
            "nchan": self.relay() if self.relay is not None else None,
        }

    # --- media -------------------------------------------------------------------------------
    async def _media(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        # Content names only: nothing outside the media folder, no temporaries, no listing.
        if not is_media_name(name):
            raise web.HTTPNotFound()
        loop = asyncio.get_running_loop()
        opened = await loop.run_in_executor(None, self._open_media, name)
        if not isinstance(opened, tuple):
            if opened == "refused":
                self.counters["media_refused"] += 1
                log.warning("media/%s is not a file the store wrote (a link, or changed bytes): not served", name)
            raise web.HTTPNotFound()
        fd, st = opened
        try:
            self.counters["media"] += 1
            stem, suffix = name.split(".")
            headers = {"Cache-Control": IMMUTABLE, "Content-Type": CONTENT_TYPES[suffix], "ETag": f'"{stem}"',
                       "Accept-Ranges": "bytes", "X-Content-Type-Options": "nosniff"}
            return await _send_open_file(request, fd, st, headers)
        finally:
            os.close(fd)

    def _open_media(self, name: str) -> tuple[int, os.stat_result] | str | None:
        """(In a thread.) Open media/<name> if it is a file the store wrote; the caller sends from, and closes, the fd.

        Checked on the open descriptor, so a swap of the name afterwards changes nothing: not a symlink
        (O_NOFOLLOW, also when one is swapped in between a check and the open), a regular file, bytes that
        hash to the name (checked once per inode and change), and one link only unless the store names the
        file in a kept piece: a hard link placed here shares an inode with a file elsewhere, while a piece's
        own file may have a second link from a backup (`cp -al`, rsnapshot), which must not blank the sky.
        None when there is no such file, "refused" when it is not the store's.
        """
        try:
            fd = os.open(self.media.media / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return None  # absent, pruned, or a symlink (ELOOP)
        try:
            st = os.fstat(fd)
            identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
            ok = stat.S_ISREG(st.st_mode) and (st.st_nlink == 1 or self.media.names(name))
            if ok and self._verified.get(identity) != name:
                ok = _hashes_to(fd, name.split(".")[0])
                if ok:
                    self._verified[identity] = name
                    while len(self._verified) > VERIFIED_MAX:
                        self._verified.popitem(last=False)
            if ok:
                return fd, st
        except OSError:
            pass
        os.close(fd)
        return "refused"

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
        headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        if request.method == "HEAD":  # the headers of the stream, not the stream
            return web.Response(headers=headers)
        if len(self._clients) >= self.caps.listeners:  # derived from RLIMIT_NOFILE: never run out of fds
            self.counters["refused"] += 1
            busy = web.Response(status=503, text="too many listeners on the push channel; poll /api/latest\n",
                                headers={"Retry-After": "5", "Cache-Control": "no-cache"})
            busy.force_close()  # and free the descriptor
            return busy
        response = web.StreamResponse(headers=headers)
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


def _hashes_to(fd: int, stem: str) -> bool:
    digest, offset = hashlib.sha256(), 0
    while chunk := os.pread(fd, CHUNK, offset):
        digest.update(chunk)
        offset += len(chunk)
    return digest.hexdigest()[: len(stem)] == stem


async def _send_open_file(request: web.Request, fd: int, st: os.stat_result,
                          headers: dict[str, str]) -> web.StreamResponse:
    """Answer from an open descriptor: 304 on a matching If-None-Match, one byte range (206/416), or all."""
    size = st.st_size
    if headers["ETag"] in _etags(request.headers.get("If-None-Match", "")):
        return web.Response(status=304, headers={k: v for k, v in headers.items() if k != "Content-Type"})
    start, count, status = 0, size, 200
    try:
        wanted = request.http_range
    except ValueError:
        wanted = slice(None, None)  # a malformed Range is ignored: the whole file (RFC 9110 14.2)
    if wanted.start is not None:
        start = max(0, size + wanted.start) if wanted.start < 0 else wanted.start
        end = size if wanted.stop is None else min(wanted.stop, size)
        if start >= size:
            return web.Response(status=416, headers={**headers, "Content-Range": f"bytes */{size}"})
        count, status = end - start, 206
        headers = {**headers, "Content-Range": f"bytes {start}-{end - 1}/{size}"}
    response = web.StreamResponse(status=status, headers=headers)
    response.content_length = count
    response.last_modified = st.st_mtime
    await response.prepare(request)
    if request.method != "HEAD":
        loop = asyncio.get_running_loop()
        while count > 0:
            chunk = await loop.run_in_executor(None, os.pread, fd, min(CHUNK, count), start)
            if not chunk:
                break
            await response.write(chunk)
            start, count = start + len(chunk), count - len(chunk)
    await response.write_eof()
    return response


class _BadRequestLine(logging.Filter):
    """On aiohttp's server logger: a request that does not parse is one short line, not a traceback.

    A stranger's 19 bytes used to cost 559 bytes of log; now one line (rate-limited like all the log)
    and a count in the web stats.
    """

    def __init__(self, counters: dict[str, int]) -> None:
        super().__init__()
        self.counters = counters

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError):
            return True
        self.counters["bad_requests"] += 1
        reason = exc.message.strip().splitlines()[0].rstrip(":")[:80] if exc.message else type(exc).__name__
        remote = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
        record.msg, record.args = "web: bad request from %s: %r", (remote, reason)
        if record.levelno > logging.INFO:  # a stranger's garbage is not an error of the node
            record.levelno, record.levelname = logging.INFO, "INFO"
        record.exc_info, record.exc_text = None, None
        return True


@contextlib.asynccontextmanager
async def serve(surface: WebSurface, host: str, port: int) -> AsyncIterator[int]:
    """Run the app in the current loop on host:port; yields the bound port.

    The node accepts connections itself (fdlimit.CappedListener): at most `surface.caps.connections`
    reach aiohttp, the others get a short 503, and running out of descriptors pauses accepting instead
    of spinning.
    """
    runner = web.AppRunner(surface.app(), access_log=None, handle_signals=False, keepalive_timeout=IDLE_S)
    await runner.setup()
    server = runner.server
    assert server is not None
    surface.connections = lambda: len(server.connections)
    listener = CappedListener(server, surface.connections, surface.caps.connections, surface.counters)
    try:
        listener.start(host, port, backlog=1024)
    except OSError as e:
        await runner.cleanup()
        if e.errno == errno.EADDRINUSE:
            raise CielError(f"web port {host}:{port} is busy; pick another with --web HOST:PORT") from None
        raise CielError(f"cannot serve the web page on {host}:{port} ({e.strerror}); check --web HOST:PORT") from None
    log.info("web page on http://%s:%d/ (at most %d connections, %d listeners; open-files limit %d)",
             host, listener.port, surface.caps.connections, surface.caps.listeners, surface.caps.nofile)
    try:
        yield listener.port
    finally:
        listener.close()
        await runner.cleanup()
