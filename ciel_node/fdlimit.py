"""The file-descriptor budget: raise RLIMIT_NOFILE, derive the web's connection caps from it, hold to them.

Every HTTP connection is a descriptor, and so is every media file being sent, the OSC and SSH sockets,
the render and sound processes' pipes, the state files being written. Past the soft limit `accept()`
fails with EMFILE, and asyncio's accept loop then logs once per backlog slot and retries as often (the
node once logged "Too many open files" 15,000 times a second and stopped publishing). So the web
surface accepts connections itself: below its cap it hands them to aiohttp, past it it answers a short
503 and closes, and when the process is out of descriptors anyway it pauses accepting for a moment
with one log line.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import resource
import socket
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

RESERVE_MIN = 64  # descriptors kept for everything but HTTP: media and state files, OSC, SSH, pipes
MAX_CONNECTIONS = 20_000  # beyond this, memory rather than descriptors is what runs out
LISTENER_SHARE = 0.75  # of the connection cap, for the push channel: pollers and media always get through
ACCEPT_BATCH = 64  # connections taken per wake-up of the listening socket
PAUSE_S = 0.5  # out of descriptors: stop accepting for this long (the kernel queues new ones meanwhile)
REFUSE_HOLD_S = 2.0  # a refused connection that sends nothing is closed after this long
BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 5\r\n"
    b"Connection: close\r\nContent-Length: 53\r\n\r\ntoo many connections to this node; try again shortly\n"
)
_OUT_OF_RESOURCES = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


def raise_nofile_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard one (what systemd's LimitNOFILE= or `ulimit -Hn` allow).

    Returns the soft limit in force afterwards.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else _nr_open()
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft if soft != resource.RLIM_INFINITY else target
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as e:  # a container may refuse: work within the soft limit
        log.warning("could not raise the open-files limit from %d to %d (%s)", soft, target, e)
        return soft
    return target


def _nr_open() -> int:
    try:
        with open("/proc/sys/fs/nr_open") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 1 << 20


@dataclass(frozen=True)
class ConnectionCaps:
    """How many HTTP connections, and push-channel listeners among them, the web surface takes."""

    nofile: int
    connections: int
    listeners: int

    @classmethod
    def from_limit(cls, nofile: int | None = None) -> ConnectionCaps:
        """Caps for a soft limit (default: the process's own now): a reserve for everything else, then
        half of the rest, since a connection may be sending a media file, which is a second descriptor."""
        if nofile is None:
            nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
            if nofile == resource.RLIM_INFINITY:
                nofile = _nr_open()
        reserve = max(RESERVE_MIN, nofile // 8)
        connections = min(MAX_CONNECTIONS, max(8, (nofile - reserve) // 2))
        return cls(nofile, connections, max(4, int(connections * LISTENER_SHARE)))


class _Refusal(asyncio.Protocol):
    """A connection past the cap: read what the client sends, answer 503, close (no reset on its request)."""

    def __init__(self, on_done: Callable[[], None]) -> None:
        self._on_done = on_done
        self.made = False
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.made, self._transport = True, transport
        self._timer = asyncio.get_running_loop().call_later(REFUSE_HOLD_S, transport.close)

    def data_received(self, data: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(BUSY)
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._on_done()


class CappedListener:
    """A listening TCP socket whose connections go to `factory` (aiohttp's server) up to a cap.

    `active()` says how many connections the factory's side holds now.
    """

    def __init__(self, factory: Callable[[], asyncio.BaseProtocol], active: Callable[[], int], cap: int,
                 counters: dict[str, int]) -> None:
        self.factory, self.active, self.cap, self.counters = factory, active, cap, counters
        self._sockets: list[socket.socket] = []
        self._pending = 0  # accepted, not yet handed over (aiohttp counts them only once connected)
        self._refusing = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        for key in ("refused", "accept_paused"):
            counters.setdefault(key, 0)

    @property
    def port(self) -> int:
        return int(self._sockets[0].getsockname()[1])

    def start(self, host: str, port: int, backlog: int = 1024) -> None:
        """Bind every address `host` resolves to (the same port for all) and start accepting; raises OSError."""
        self._loop = asyncio.get_running_loop()
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        seen: set[tuple[object, ...]] = set()
        try:
            for family, kind, proto, _, address in infos:
                if (family, address) in seen:
                    continue
                seen.add((family, address))
                sock = socket.socket(family, kind, proto)
                self._sockets.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                if port == 0 and len(self._sockets) > 1:  # one port for every address
                    address = (address[0], self.port, *address[2:])
                sock.bind(address)
                sock.listen(backlog)
                sock.setblocking(False)
        except OSError:
            self.close()
            raise
        for sock in self._sockets:
            self._loop.add_reader(sock.fileno(), self._accept, sock)

    def close(self) -> None:
        """Stop accepting; connections already handed to aiohttp are its to close."""
        for task in self._tasks:
            task.cancel()
        for sock in self._sockets:
            if self._loop is not None and sock.fileno() >= 0:
                self._loop.remove_reader(sock.fileno())
            sock.close()

    def _accept(self, sock: socket.socket) -> None:
        assert self._loop is not None
        for _ in range(ACCEPT_BATCH):
            try:
                conn, _ = sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue
            except OSError as e:
                if e.errno not in _OUT_OF_RESOURCES:
                    log.warning("web: accept failed: %s", e)
                    return
                # Pause instead of spinning: the kernel queues new connections until descriptors free up.
                self.counters["accept_paused"] += 1
                log.warning("web: out of file descriptors (%s); not accepting for %.1f s", e.strerror, PAUSE_S)
                self._loop.remove_reader(sock.fileno())
                self._loop.call_later(PAUSE_S, self._resume, sock)
                return
            conn.setblocking(False)
            if self.active() + self._pending >= self.cap:
                self.counters["refused"] += 1
                if self._refusing >= RESERVE_MIN // 2:  # a flood of refusals must not eat the reserve either
                    conn.close()
                    continue
                self._refusing += 1
                self._hand_over(conn, _Refusal(self._refused_done))
            else:
                self._pending += 1
                self._hand_over(conn, None)

    def _refused_done(self) -> None:
        self._refusing -= 1

    def _resume(self, sock: socket.socket) -> None:
        if self._loop is not None and sock.fileno() >= 0:
            self._loop.add_reader(sock.fileno(), self._accept, sock)

    def _hand_over(self, conn: socket.socket, refusal: _Refusal | None) -> None:
        """Make the transport (in a task, as asyncio's own accept loop does): aiohttp's, or a refusal."""
        assert self._loop is not None
        task = self._loop.create_task(self._connect(conn, refusal))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect(self, conn: socket.socket, refusal: _Refusal | None) -> None:
        assert self._loop is not None
        try:
            await self._loop.connect_accepted_socket(self.factory if refusal is None else lambda: refusal, conn)
        except OSError as e:
            log.debug("web: connection dropped while set up: %s", e)
            conn.close()
            if refusal is not None and not refusal.made:
                self._refused_done()
        finally:
            if refusal is None:
                self._pending -= 1
