"""OSCQuery (the Vidvox OSCQueryProposal): the declared parameter space as JSON over HTTP, live values pushed
over a WebSocket on the same port, and an mDNS advertisement beyond loopback.

What is served is derived from the registry (params.py) and the store's live values; nothing here knows a
parameter by name. Read-only: values are set over OSC (HOST_INFO says where), never through this surface.
Spec: github.com/Vidvox/OSCQueryProposal (README, units.md); ossia (libossia) is the reference implementation.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import json
import logging
import socket
import struct
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

from ciel_node.controls.mdns import Advertisement, is_unspecified
from ciel_node.controls.wire import osc_message
from ciel_node.errors import CielError
from ciel_node.fdlimit import CappedListener, ConnectionCaps
from ciel_node.params import READ, WRITE, ParamSpec, Value
from ciel_node.state import ControlStore

log = logging.getLogger(__name__)

MAX_CLIENTS = 256  # WebSocket listeners at most; fewer when the open-files limit is low (max_clients())
HTTP_CONNECTIONS = 64  # connections beside the listeners at least: plain requests, handshakes refused with 503
MAX_FRAME = 64 * 1024  # a client's command is ~50 bytes; a larger frame closes the socket (1009)
SEND_BUFFER = 64 * 1024  # the kernel's send buffer of a listener's socket (pushes are tens of bytes each)
QUEUE_BYTES = 256 * 1024  # pushes waiting for one client; past it the client is too slow and is dropped
HEARTBEAT_S = 20.0  # a listener that answers no ping for this long is gone (a laptop shut, a cable out)
IDLE_S = 15.0  # an HTTP connection with no request under way is closed after this long (as the web's)
TURN = 16  # WebSocket commands handled before the loop serves everyone else again

# The proposal's attributes; of these, the ones this server answers. EXTENSIONS lists only those it supports.
KNOWN = ("FULL_PATH", "CONTENTS", "TYPE", "HOST_INFO", "ACCESS", "VALUE", "RANGE", "DESCRIPTION", "TAGS",
         "EXTENDED_TYPE", "UNIT", "CRITICAL", "CLIPMODE", "OVERLOADS", "HTML")
SUPPORTED = ("FULL_PATH", "CONTENTS", "TYPE", "ACCESS", "VALUE", "RANGE", "DESCRIPTION", "UNIT", "CLIPMODE")
EXTENSIONS = {"ACCESS": True, "VALUE": True, "RANGE": True, "DESCRIPTION": True, "UNIT": True, "CLIPMODE": True,
              "LISTEN": True}
# units.md's names (as ossia spells them) for the registry's units; others are left out rather than guessed.
UNITS = {"s": "time.second", "dBFS": "gain.db", "ms": "time.ms", "Hz": "time.hz", "deg": "angle.degree"}
IMPULSE = "I"  # a command's TYPE: OSC 1.1's impulse ("bang"), as ossia publishes one; its VALUE is [null]
CONTAINERS = {"/": "ciel-node: the declared parameter space (set values over OSC: see ?HOST_INFO)",
              "/ciel": "controls (read/write) and commands (write-only)",
              "/ciel/status": "readouts the node sets (read-only)",
              "/ciel/bend": "network bending: transforms inside the nets' layers, per net and layer (1: the latent "
                            "side); clear puts every bend back to neutral",
              "/ciel/bend/image": "the image net (DCGAN generator): its stages' feature maps, then the picture",
              "/ciel/bend/sound": "the sound net (VAE decoder): its hidden layers, then the output spectrum"}
EXAMPLE = '{"COMMAND": "LISTEN", "DATA": "/ciel/drift"}'  # what a client's command looks like, for its errors
JSON_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
_CAST = {"i": int, "h": int, "f": float, "d": float, "s": str}


def max_clients(nofile: int | None = None) -> int:
    """WebSocket listeners for an open-files limit: a quarter of what the web surface leaves for everything else."""
    caps = ConnectionCaps.from_limit(nofile)
    return max(16, min(MAX_CLIENTS, (caps.nofile - 2 * caps.connections) // 4))


def _values(spec: ParamSpec, value: Value) -> list[Any]:
    values = value if isinstance(value, (tuple, list)) else (value,)
    return [_CAST[t](v) for t, v in zip(spec.types, values)]


def _static(spec: ParamSpec) -> dict[str, Any]:
    """A method's attributes that never change (everything but VALUE)."""
    node: dict[str, Any] = {"FULL_PATH": spec.address, "DESCRIPTION": spec.description, "ACCESS": spec.access,
                            "TYPE": spec.types or IMPULSE}
    if spec.choices and spec.lo:  # several values, some strings: a range for each (features: mode, amount)
        node["RANGE"] = [{"VALS": list(spec.choices)} if t == "s" else {"MIN": _CAST[t](lo), "MAX": _CAST[t](hi)}
                         for t, lo, hi in zip(spec.types, spec.lo, spec.hi)]
    elif spec.choices:
        node["RANGE"] = [{"VALS": list(spec.choices)}]
    elif spec.lo:
        node["RANGE"] = [{"MIN": _CAST[t](lo), "MAX": _CAST[t](hi)} for t, lo, hi in zip(spec.types, spec.lo, spec.hi)]
        node["CLIPMODE"] = [spec.clip] * len(spec.types)
    if spec.unit in UNITS:
        node["UNIT"] = [UNITS[spec.unit]] * len(spec.types)
    return node


class Namespace:
    """The OSC address space as the proposal's JSON: containers from the addresses' parts, methods from the specs."""

    def __init__(self, store: ControlStore, reported: Callable[[str, Value], Value]) -> None:
        self.store, self.reported = store, reported
        self.specs = {s.address: s for s in store.registry}
        self.static = {a: _static(s) for a, s in self.specs.items()}
        self.children: dict[str, list[str]] = {"/": []}
        for address in self.specs:
            parts = address.strip("/").split("/")
            for k in range(len(parts)):
                parent, path = "/" + "/".join(parts[:k]), "/" + "/".join(parts[: k + 1])
                if path not in self.children and path not in self.specs:
                    self.children[path] = []
                if path not in self.children[parent]:
                    self.children[parent].append(path)

    def __contains__(self, path: str) -> bool:
        return path in self.specs or path in self.children

    def value(self, spec: ParamSpec) -> list[Any]:
        """VALUE: the live value as a list (one item per type tag); [null] for a command (the JSON of an impulse)."""
        if spec.command:
            return [None] * max(1, len(spec.types))
        return _values(spec, self.reported(spec.name, self.store.value(spec.name)))

    def node(self, path: str) -> dict[str, Any]:
        """The whole node at `path` (a method, or a container with everything under it), values live."""
        spec = self.specs.get(path)
        if spec is not None:
            return {**self.static[path], "VALUE": self.value(spec)}
        contents = {child.rsplit("/", 1)[1]: self.node(child) for child in self.children[path]}
        return {"FULL_PATH": path, "DESCRIPTION": CONTAINERS.get(path, ""), "ACCESS": 0, "CONTENTS": contents}

    def attribute(self, path: str, name: str) -> tuple[bool, Any]:
        """(whether the node has it, its value) for one supported attribute."""
        spec = self.specs.get(path)
        if spec is not None:
            node = {**self.static[path], "VALUE": self.value(spec)} if name == "VALUE" else self.static[path]
        elif name == "CONTENTS":
            node = self.node(path)
        else:
            node = {"FULL_PATH": path, "DESCRIPTION": CONTAINERS.get(path, ""), "ACCESS": 0}
        return name in node, node.get(name)

    def readable(self, path: str) -> bool:
        spec = self.specs.get(path)
        return spec is not None and spec.access & READ != 0


class _Client:
    """One WebSocket peer: what it listens to, and its outgoing frames.

    A push is one write to its transport, or, while the socket is backed up, an entry in its own queue (sent by
    its own task): a client that stops reading fills its own buffers, never the loop's time or anyone else's;
    past QUEUE_BYTES queued it is dropped.
    """

    def __init__(self, ws: web.WebSocketResponse, request: web.Request) -> None:
        self.ws, self.transport, self.peer = ws, request.transport, request.remote or "?"
        self.paths: set[str] = set()
        self.writer: asyncio.Task[None] | None = None
        self.dropped = False
        self._queue: deque[bytes | str] = deque()
        self._bytes = 0
        self._ready = asyncio.Event()

    def push(self, frame: bytes | str, wire: bytes | None = None) -> bool:
        """Send a frame (bytes: a binary OSC message; str: a JSON text frame) or queue it; False if that makes the
        client too slow.

        While nothing waits and the socket keeps up, the frame goes straight to the transport, whole (no task
        wake-up per listener per change: a hundred listeners cost a hundred writes). Otherwise it queues
        behind what waits, for the writer task, in order. `wire`: the frame already framed (once for every listener).
        """
        if self.dropped:
            return False
        transport = self.transport
        if (not self._queue and transport is not None and not transport.is_closing() and not self.ws.closed
                and transport.get_write_buffer_size() < SEND_BUFFER):
            transport.write(wire or _ws_frame(frame))
            return True
        if self._bytes + len(frame) > QUEUE_BYTES:
            return False
        self._queue.append(frame)
        self._bytes += len(frame)
        self._ready.set()
        return True

    async def write(self) -> None:
        """Send what is queued, in order, for as long as the socket is open (the client's own task)."""
        with contextlib.suppress(ConnectionError, RuntimeError):
            while not self.ws.closed:
                await self._ready.wait()
                self._ready.clear()
                while self._queue:
                    frame = self._queue.popleft()
                    self._bytes -= len(frame)
                    if isinstance(frame, bytes):
                        await self.ws.send_bytes(frame)
                    else:
                        await self.ws.send_str(frame)

    async def drop(self) -> None:
        """Close a client that stopped reading: 1008 with the reason if the close gets through, else cut."""
        self.dropped = True
        self._queue.clear()
        if self.writer is not None:
            self.writer.cancel()  # it may be waiting for the socket to drain, which it never will
        try:
            await asyncio.wait_for(self.ws.close(code=1008, message=b"too slow: 256 KiB of pushes waiting"), 2.0)
        except Exception:  # noqa: BLE001 - timed out or broken: the connection goes either way
            if self.transport is not None:
                self.transport.abort()


class OscQueryServer:
    """The OSCQuery surface: an aiohttp app on one port (HTTP and WebSocket), fed by the store's watch()."""

    def __init__(self, store: ControlStore, osc_host: str, osc_port: int,
                 reported: Callable[[str, Value], Value] = lambda name, value: value, name: str | None = None,
                 clients: int | None = None) -> None:
        self.store = store
        self.osc_host, self.osc_port = osc_host, osc_port
        self.namespace = Namespace(store, reported)
        self.name = name or f"ciel-node on {socket.gethostname()}"[:63]
        self.max_clients = clients or max_clients()
        self.counters = {"requests": 0, "not_found": 0, "bad_requests": 0, "clients": 0, "refused": 0, "pushes": 0,
                         "slow_dropped": 0, "ws_errors": 0}
        self.clients: set[_Client] = set()
        self.port = 0
        self.host = ""
        self.mdns = Advertisement(self.name)
        self._listeners: dict[str, set[_Client]] = {}  # address -> clients listening to it
        self._last: dict[str, Any] = {}  # address -> the last frame's values (a repeat is not pushed)
        self._cache: dict[tuple[str, str], tuple[int, bytes]] = {}
        self._version = 0  # changes of any value: cached answers older than this are rebuilt
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = 0
        self._runner: web.AppRunner | None = None
        self._listener: CappedListener | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        store.watch(self._changed)

    # --- start / stop --------------------------------------------------------------------------
    async def start(self, host: str, port: int) -> None:
        """Listen on host:port; raises CielError for a busy or impossible address. Advertises beyond loopback."""
        self._loop, self._thread = asyncio.get_running_loop(), threading.get_ident()
        app = web.Application(client_max_size=4096)
        app.router.add_route("*", "/{path:.*}", self._request)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, keepalive_timeout=IDLE_S)
        await runner.setup()
        server = runner.server
        assert server is not None
        # Room for every listener, and as many again for plain requests and for handshakes past the cap (each
        # answered 503 at once): beyond that the listener itself refuses, as the web's does.
        cap = self.max_clients + max(HTTP_CONNECTIONS, self.max_clients)
        listener = CappedListener(server, lambda: len(server.connections), cap, self.counters)
        try:
            listener.start(host, port, backlog=1024)
        except OSError as e:
            await runner.cleanup()
            if e.errno == errno.EADDRINUSE:
                raise CielError(f"OSCQuery port {host}:{port} is busy; pick another with --oscquery HOST:PORT, "
                                "or --oscquery off") from None
            raise CielError(f"cannot serve OSCQuery on {host}:{port} ({e.strerror}); check --oscquery HOST:PORT, "
                            "or --oscquery off") from None
        self._runner, self._listener = runner, listener
        self.host, self.port = host, listener.port
        log.info("OSCQuery on http://%s:%d/ (WebSocket on the same port, at most %d listeners)", host, self.port,
                 self.max_clients)
        self._spawn(self.mdns.start(host, self.port, self.osc_host, self.osc_port))  # nothing on loopback

    async def stop(self) -> None:
        self._loop = None  # the store keeps calling its watchers: from now on they cost nothing here
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.mdns.stop()
        if self._listener is not None:
            self._listener.close()
        for client in list(self.clients):
            with contextlib.suppress(Exception):
                await client.ws.close(code=1001, message=b"node stopping")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- HTTP ----------------------------------------------------------------------------------
    async def _request(self, request: web.Request) -> web.StreamResponse:
        self.counters["requests"] += 1
        if request.headers.get("Upgrade", "").lower() == "websocket":  # on any path, as the proposal says
            return await self._websocket(request)
        if request.method not in ("GET", "HEAD"):
            return _error(405, f"{request.method} is not served here: OSCQuery is read with GET; set values over "
                               f"OSC", headers={"Allow": "GET, HEAD"})
        attributes = [part.split("=", 1)[0].upper() for part in request.query_string.split("&") if part]
        if "HOST_INFO" in attributes:  # the path is irrelevant for it
            return _json(self._host_info(request))
        path = request.path.rstrip("/") or "/"
        if path not in self.namespace:
            self.counters["not_found"] += 1
            return _error(404, f"no OSC method or container at {_short(path)}; GET / lists them all")
        unknown = [a for a in attributes if a not in SUPPORTED]
        if unknown:
            self.counters["bad_requests"] += 1
            what = "is not an OSCQuery attribute" if unknown[0] not in KNOWN else "is not supported by this server"
            return _error(400, f"{_short(unknown[0])} {what}; ask for one of {', '.join(SUPPORTED)} (or HOST_INFO)")
        if "VALUE" in attributes and not self.namespace.readable(path):
            return web.Response(status=204, headers=JSON_HEADERS)  # a container or a command: no value to read
        key = (path, "&".join(attributes))
        cached = self._cache.get(key)
        if cached is None or cached[0] != self._version:  # one encode per change, not per request
            if attributes:
                found = [(a, *self.namespace.attribute(path, a)) for a in attributes]
                body: Any = {a: v for a, has, v in found if has}  # an attribute that does not apply: {} (proposal)
            else:
                body = self.namespace.node(path)
            cached = (self._version, json.dumps(body, separators=(",", ":")).encode())
            if len(attributes) <= 1:
                self._cache[key] = cached
        return web.Response(body=cached[1], content_type="application/json", headers=JSON_HEADERS)

    def _host_info(self, request: web.Request) -> dict[str, Any]:
        """HOST_INFO. WS_IP/WS_PORT: where this client reached us (its Host header when that is an IP: through an
        SSH forward or a NAT the client's own view is the one that works); OSC on a wildcard address: the same IP."""
        reached_ip, reached_port = self.host, self.port
        sock = request.transport.get_extra_info("sockname") if request.transport else None
        if sock:
            reached_ip, reached_port = sock[0], sock[1]
        try:
            host = request.url.host or ""
            ipaddress.ip_address(host)
            reached_ip, reached_port = host, request.url.port or reached_port
        except ValueError:
            pass
        osc_ip = reached_ip if is_unspecified(self.osc_host) else self.osc_host
        return {"NAME": self.name, "OSC_IP": osc_ip, "OSC_PORT": self.osc_port, "OSC_TRANSPORT": "UDP",
                "WS_IP": reached_ip, "WS_PORT": reached_port, "EXTENSIONS": EXTENSIONS}

    # --- WebSocket -----------------------------------------------------------------------------
    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if len(self.clients) >= self.max_clients:
            self.counters["refused"] += 1
            return _error(503, f"too many OSCQuery listeners ({self.max_clients}); try again shortly",
                          headers={"Retry-After": "5"}, close=True)
        ws = web.WebSocketResponse(max_msg_size=MAX_FRAME, heartbeat=HEARTBEAT_S, compress=False)
        if not ws.can_prepare(request).ok:
            return _error(400, "not a WebSocket handshake")
        sock = request.transport.get_extra_info("socket") if request.transport else None
        if sock is not None:  # a fixed kernel buffer: a stalled listener holds 64 KiB there, not autotuning's 4 MiB
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        client = _Client(ws, request)
        self.clients.add(client)  # before the handshake's await: handshakes at once cannot overshoot the cap
        self.counters["clients"] = len(self.clients)
        try:
            await ws.prepare(request)
            client.writer = asyncio.ensure_future(client.write())
            handled = 0
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._command(client, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    self._refuse(client, "OSC over this WebSocket is not taken: send it to OSC_IP:OSC_PORT from "
                                         "?HOST_INFO (UDP, or TCP on the same port)")
                handled += 1
                if handled % TURN == 0:
                    await asyncio.sleep(0)  # a client pipelining commands gets a turn, not the loop
            if ws.close_code == 1009:
                self.counters["ws_errors"] += 1
        finally:
            self._forget(client)
            if client.writer is not None:
                client.writer.cancel()
        return ws

    def _command(self, client: _Client, text: str) -> None:
        """A client's JSON command: LISTEN or IGNORE a method's address; anything else gets an ERROR frame."""
        try:
            message = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as e:  # RecursionError: "[[[[…" nested past Python's stack
            what = f"{e.msg} at character {e.pos}" if isinstance(e, json.JSONDecodeError) else "nested too deeply"
            return self._refuse(client, f"not JSON ({what}): send {EXAMPLE}", text)
        if not isinstance(message, dict):
            return self._refuse(client, f"a command is a JSON object: {EXAMPLE}", text)
        command, data = message.get("COMMAND"), message.get("DATA")
        if command not in ("LISTEN", "IGNORE"):
            return self._refuse(client, f"COMMAND {_short(command)} is not served; LISTEN and IGNORE are", text)
        spec = self.namespace.specs.get(data) if isinstance(data, str) else None
        if spec is None or spec.access == WRITE:
            why = ("is a command: it holds no value to listen to" if spec is not None
                   else "is a container: LISTEN to one of its methods" if isinstance(data, str) and data in
                   self.namespace else "is not an OSC method here; GET / lists them")
            return self._refuse(client, f"{command} {_short(data)}: DATA {why}", text)
        if command == "LISTEN":
            client.paths.add(spec.address)
            self._listeners.setdefault(spec.address, set()).add(client)
        else:
            client.paths.discard(spec.address)
            self._listeners.get(spec.address, set()).discard(client)

    def _refuse(self, client: _Client, reason: str, received: str | None = None) -> None:
        self.counters["ws_errors"] += 1
        error = {"COMMAND": "ERROR", "DATA": reason}
        if received is not None:
            error["RECEIVED"] = _clip(received)
        self._deliver(client, json.dumps(error))

    def _deliver(self, client: _Client, frame: bytes | str, wire: bytes | None = None) -> bool:
        """Send or queue a frame for a client; one that has let too much pile up is dropped (in its own task)."""
        if client.push(frame, wire):
            return True
        if not client.dropped:
            client.dropped = True
            self._forget(client)
            self.counters["slow_dropped"] += 1
            log.info("OSCQuery: dropped %s, which stopped reading (%d KiB waiting)", client.peer, QUEUE_BYTES >> 10)
            self._spawn(client.drop())
        return False

    def _forget(self, client: _Client) -> None:
        self.clients.discard(client)
        self.counters["clients"] = len(self.clients)
        for path in client.paths:
            self._listeners.get(path, set()).discard(client)
        client.paths.clear()

    # --- pushes --------------------------------------------------------------------------------
    def _changed(self, name: str, value: Value) -> None:
        """store.watch(): any value changed (OSC, the SSH operator, the node's readouts), from any thread."""
        if self._loop is None:
            return
        if threading.get_ident() != self._thread:
            self._loop.call_soon_threadsafe(self._push, name, value)
        else:
            self._push(name, value)

    def _push(self, name: str, value: Value) -> None:
        self._version += 1
        spec = self.store.registry[name]
        listeners = self._listeners.get(spec.address)
        if not listeners:
            self._last.pop(spec.address, None)
            return
        values = _values(spec, self.namespace.reported(name, value))
        if self._last.get(spec.address) == values:
            return  # e.g. playback switched on a node without speakers: what it reports did not change
        self._last[spec.address] = values
        frame = osc_message(spec.address, *values, types=spec.types)  # once, for every listener
        wire = _ws_frame(frame)
        for client in list(listeners):
            if self._deliver(client, frame, wire):
                self.counters["pushes"] += 1


# --- helpers --------------------------------------------------------------------------------------
def _ws_frame(frame: bytes | str) -> bytes:
    """One unmasked, unfragmented WebSocket frame (RFC 6455 5.2), as a server sends it: binary, or text for a str."""
    payload, opcode = (frame, 0x2) if isinstance(frame, bytes) else (frame.encode(), 0x1)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + payload


def _error(status: int, message: str, headers: dict[str, str] | None = None, close: bool = False) -> web.Response:
    response = web.Response(status=status, text=json.dumps({"error": message}), content_type="application/json",
                            headers={**JSON_HEADERS, **(headers or {})})
    if close:
        response.force_close()
    return response


def _json(body: Any) -> web.Response:
    return web.Response(body=json.dumps(body, separators=(",", ":")).encode(), content_type="application/json",
                        headers=JSON_HEADERS)


def _short(value: Any) -> str:
    """A value from a client, quoted and cut to a line (a fuzzer may send 64 KiB)."""
    return repr(_clip(value)) if isinstance(value, str) else _clip(json.dumps(value))


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters)"
