"""The one byte pump: every SSH forward (the server's direct-tcpip, the reverse tunnel's remote forward, the
operator's TCP forwards) copies bytes between a channel and a TCP socket here, one bounded, counted thread each."""

from __future__ import annotations

import selectors
import socket
import threading
import time
from collections.abc import Callable

import paramiko

IO_TIMEOUT_S = 10.0  # a forward whose peer stops reading for this long is closed
CHUNK = 65536


def pump(chan: paramiko.Channel, sock: socket.socket, stop: threading.Event) -> None:
    """Copy bytes both ways between an SSH channel and a TCP socket until either side closes or `stop` is set;
    both are closed at the end."""
    sel = selectors.DefaultSelector()  # epoll: no FD_SETSIZE limit in a node with many sockets
    try:
        # OSC packets and WebSocket frames are small: without this, Nagle and delayed ACKs add ~40 ms to answers.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(IO_TIMEOUT_S)
        chan.settimeout(IO_TIMEOUT_S)  # bounds sendall when the peer's window stays shut
        sel.register(chan, selectors.EVENT_READ, chan)
        sel.register(sock, selectors.EVENT_READ, sock)
        while not stop.is_set():
            for ready, _ in sel.select(0.5):
                if ready.data is chan:
                    data = chan.recv(CHUNK)
                    if not data:
                        return
                    sock.sendall(data)
                else:
                    data = sock.recv(CHUNK)
                    if not data:
                        return
                    chan.sendall(data)
    except (OSError, EOFError, ValueError, paramiko.SSHException):
        pass  # either side went away (ValueError: a closed file in the selector): both are closed below
    finally:
        sel.close()
        close_channel(chan)
        sock.close()


def close_channel(chan: paramiko.Channel) -> None:
    """Close a channel whose transport may already be gone (paramiko then raises from close())."""
    try:
        chan.close()
    except (OSError, EOFError, paramiko.SSHException):
        pass


class Pumps:
    """The forwards one owner runs: at most `limit` at once, each a `pump` in a thread of its own, the number open
    in `counters[name]`; `stop` ends them all, `join` waits for their threads."""

    def __init__(self, limit: int, counters: dict[str, int], name: str, stop: threading.Event,
                 thread_name: str = "ciel-ssh-forward") -> None:
        self.limit, self.counters, self.name, self.stop = limit, counters, name, stop
        self.thread_name = thread_name
        counters.setdefault(name, 0)
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()

    def full(self) -> bool:
        return self.counters[self.name] >= self.limit

    def start(self, chan: paramiko.Channel | Callable[[], paramiko.Channel | None], sock: socket.socket) -> None:
        """Pump `chan` <-> `sock` in a thread of its own until either side closes. `chan` may also be a function that
        opens the channel: a round trip over the link, made in that thread so the caller (an accept loop) never
        waits on it; it returns None when it could not (and says why), and `sock` is closed. Over the limit (a race
        with another start after `full` said no), both are closed at once instead."""
        with self._lock:
            full = self.full()
            if not full:
                self.counters[self.name] += 1
        if full:
            if isinstance(chan, paramiko.Channel):
                close_channel(chan)
            sock.close()
            return

        def run() -> None:
            opened = None
            try:
                opened = chan if isinstance(chan, paramiko.Channel) else chan()
                if opened is not None:
                    pump(opened, sock, self.stop)
            finally:
                if opened is None:
                    sock.close()
                with self._lock:
                    self.counters[self.name] -= 1
                    self._threads.discard(thread)

        thread = threading.Thread(target=run, name=self.thread_name, daemon=True)
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def join(self, deadline_s: float = 5.0) -> None:
        """Wait for every pump thread (after `stop` was set, or their sockets closed) up to the deadline in all."""
        end = time.monotonic() + deadline_s
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, end - time.monotonic()))
