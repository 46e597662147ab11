"""A local TCP forward, as `ssh -L` makes: each connection to a local port becomes a direct-tcpip channel to a
port on the far side of the current SSH link, pumped both ways (HTTP and WebSocket alike: bytes are bytes)."""

from __future__ import annotations

import functools
import logging
import socket
import threading
import time
from collections.abc import Callable

import paramiko

from ciel_node.net import family
from ciel_node.ssh.policy import printable
from ciel_node.ssh.pump import Pumps

log = logging.getLogger(__name__)

MAX_FORWARDS = 32  # connections at once: a browser opens a few, an OSCQuery client one or two
OPEN_TIMEOUT_S = 10.0  # the far side's answer to one channel open
LOG_EVERY_S = 60.0  # the same refusal once a minute at most: a client retrying must not flood the terminal


class LocalForward:
    """Listens on `local`; each accepted connection is forwarded to `remote` (as the far side names it) through
    whatever transport `transport()` returns now. Without a live link a connection is closed at once and counted:
    the listener stays open across reconnects, as the operator's UDP port does.

    Threads: one accept loop, and one pump per connection (which opens its channel itself).
    """

    def __init__(self, local: tuple[str, int], remote: tuple[str, int],
                 transport: Callable[[], paramiko.Transport | None], what: str, counters: dict[str, int],
                 hint: str = "") -> None:
        self.local, self.remote, self.what, self.hint = local, remote, what, hint
        self._transport = transport
        self.counters = counters
        counters.setdefault("forward_refused", 0)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pumps = Pumps(MAX_FORWARDS, counters, "forwards", self._stop, "ciel-operator-forward")
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._logged: tuple[str, float] = ("", 0.0)

    @property
    def port(self) -> int:
        assert self._sock is not None
        return int(self._sock.getsockname()[1])

    def open(self) -> None:
        """Bind and listen; OSError (the caller names the flag) when the port is taken or unusable."""
        sock = socket.socket(family(self.local[0]), socket.SOCK_STREAM)
        try:
            # A restarted operator must get its port back while the last run's connections sit in TIME_WAIT
            # (on Linux this never lets two listeners share a port: a busy port is still an error).
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(self.local)
            sock.listen(16)
        except OSError:
            sock.close()
            raise
        sock.settimeout(0.25)  # the accept loop looks at the stop flag this often
        self._sock = sock
        self._thread = threading.Thread(target=self._accept_loop, name="ciel-operator-listen", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop listening and end every forward (their sockets and channels are closed by their pumps)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
        if self._sock is not None:
            self._sock.close()
        self._pumps.join(2.0)

    def _accept_loop(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, peer = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stop.is_set():
                    return
                time.sleep(0.1)  # out of descriptors: let some close
                continue
            transport = self._transport()
            if transport is None or not transport.is_active() or self._pumps.full():
                self._refused()
                conn.close()
                continue
            conn.settimeout(None)
            self._pumps.start(functools.partial(self._open_channel, transport, peer), conn)

    def _open_channel(self, transport: paramiko.Transport, peer: tuple[str, int]) -> paramiko.Channel | None:
        """In the pump's thread: the channel to `remote`, or None (counted, and said once a minute)."""
        try:
            return transport.open_channel("direct-tcpip", self.remote, (str(peer[0]), int(peer[1])),
                                          timeout=OPEN_TIMEOUT_S)
        except paramiko.ChannelException as e:
            self._say(f"the far side refused the {self.what} forward to {self.remote[0]}:{self.remote[1]} "
                      f"({printable(e.text)}){'; ' + self.hint if self.hint else ''}")
        except (paramiko.SSHException, OSError, EOFError) as e:
            self._say(f"the {self.what} forward failed as the link went down ({printable(e or type(e).__name__)})")
        self._refused()
        return None

    def _refused(self) -> None:
        with self._lock:
            self.counters["forward_refused"] += 1

    def _say(self, message: str) -> None:
        last, at = self._logged
        if message != last or time.monotonic() - at > LOG_EVERY_S:
            self._logged = (message, time.monotonic())
            log.warning("%s", message)
