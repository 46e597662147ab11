"""Embedded SSH server: operators with an authorized key may open forwards to the node's OSC TCP port and its
OSCQuery port, and nothing else."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import paramiko

from ciel_node.errors import CielError
from ciel_node.net import bare, family, local_names, plain, reach, source_key
from ciel_node.ssh.keys import AuthorizedKey, AuthorizedKeys, load_or_create_host_key
from ciel_node.ssh.limits import MAX_SOURCES, SourceLimiter
from ciel_node.ssh.policy import KEY_ALGORITHMS, SERVER_DISABLED, WIRE_LOG, printable
from ciel_node.ssh.pump import Pumps, close_channel

log = logging.getLogger(__name__)

MAX_SESSIONS = 16  # SSH connections at once
MAX_UNAUTHENTICATED = 8  # of those, still logging in: half-open logins never crowd out operators
MAX_UNAUTHENTICATED_PER_SOURCE = 2  # of those, from one address: the other 6 stay for everyone else
MAX_FORWARDS = 32  # forwarded channels at once, over all sessions
MAX_AUTH_TRIES = 6  # failed keys per connection before it is closed (OpenSSH's MaxAuthTries)
# A real client sends its version line at once and needs two round trips for the key exchange, so these only
# ever cut off connections that hold a login slot and do nothing with it. All counted from the TCP accept.
BANNER_TIMEOUT_S = 3.0  # the client's version line
KEX_TIMEOUT_S = 6.0  # keys exchanged
LOGIN_GRACE_S = 10.0  # an authenticated session
EVICT_MIN_AGE_S = 1.0  # a login this young is never made room from: a burst of newcomers cannot cut off a fresh one
EVICTED_WAIT_S = LOGIN_GRACE_S  # an address just made room from may not make room itself: no chain of evictions
BUSY_LOG_EVERY_S = 60.0  # "every login slot is taken" once a minute at most: an attack must not flood the log

class _Gate(paramiko.ServerInterface):
    """paramiko's callbacks for one connection: answers at once (no I/O, no waiting), refuses all but the forward."""

    def __init__(self, server: SshServer, source: str) -> None:
        self.server, self.source = server, source
        self.failures = 0
        self.throttled = False
        self.key: AuthorizedKey | None = None
        self.user = ""
        self.destinations: dict[int, tuple[str, int]] = {}  # channel id -> where its accepted forward connects

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_none(self, username: str) -> int:
        return paramiko.AUTH_FAILED  # the usual first probe of every client: not counted

    def check_auth_password(self, username: str, password: str) -> int:
        return self._failed()

    def check_auth_interactive(self, username: str, submethods: str) -> int:
        return self._failed()

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        if self.failures >= MAX_AUTH_TRIES or self.throttled:  # the session thread is about to hang up
            self.server._count("ssh_rate_limited")
            return paramiko.AUTH_FAILED
        entry = self.server._keys.match(key.asbytes(), self.source) if self.server._keys else None
        if entry is None:
            return self._failed()
        self.key, self.user = entry, printable(username)
        self._check_signature(key)  # paramiko verifies the signature after this, with the same key object
        return paramiko.AUTH_SUCCESSFUL

    def _check_signature(self, key: paramiko.PKey) -> None:
        """An RSA signature made with SHA-1 (`ssh-rsa`) is refused, as OpenSSH does since 8.8, whatever paramiko
        (older ones, which pyproject allows, take it). A bad signature counts as a failed login."""
        verify = key.verify_ssh_sig

        def sha2_only(data: bytes, msg: paramiko.Message) -> bool:
            algorithm = msg.get_text()
            msg.rewind()
            ok = algorithm in KEY_ALGORITHMS and bool(verify(data, msg))
            if not ok:
                self.key = None
                self._failed()
            return ok

        setattr(key, "verify_ssh_sig", sha2_only)  # noqa: B010 - this one key object, for this one login

    def _failed(self) -> int:
        self.failures += 1
        if self.server.limiter.take(self.source):
            self.server._count("ssh_auth_failed")
        else:
            self.throttled = True  # the session thread hangs up
            self.server._count("ssh_rate_limited")
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        # "session" is what shells, exec, sftp, ptys, agents and X11 all need: none of them is offered.
        self._refuse(f"a {printable(kind)} channel")
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_direct_tcpip_request(self, chanid: int, origin: tuple[str, int],
                                           destination: tuple[str, int]) -> int:
        host, port = str(destination[0]), int(destination[1])
        target = self.server.destination(host, port)
        if target is None or self.key is None or not self.key.may_forward(host, port):
            self._refuse(f"a forward to {printable(host)}:{port} (only {self.server.allowed()} allowed)")
            return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
        if self.server.forwards.full():  # re-checked when the channel is picked up
            self._refuse(f"a forward: {MAX_FORWARDS} already open")
            return paramiko.OPEN_FAILED_RESOURCE_SHORTAGE
        self.destinations[chanid] = target
        return paramiko.OPEN_SUCCEEDED

    def check_port_forward_request(self, address: str, port: int) -> bool:
        self._refuse(f"a remote forward of {printable(address)}:{port}")
        return False

    def check_global_request(self, kind: str, msg: paramiko.Message) -> bool:
        if "forward" in kind:  # streamlocal-forward@openssh.com and friends; keepalives are no refusal
            self._refuse(f"a {printable(kind)} request")
        return False

    def check_channel_pty_request(self, *args: object) -> bool:
        return False

    def check_channel_shell_request(self, channel: paramiko.Channel) -> bool:
        return False

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        return False

    def check_channel_subsystem_request(self, channel: paramiko.Channel, name: str) -> bool:
        return False

    def check_channel_x11_request(self, *args: object) -> bool:
        return False

    def check_channel_forward_agent_request(self, channel: paramiko.Channel) -> bool:
        return False

    def _refuse(self, what: str) -> None:
        """`what` carries peer strings already through printable(): one record, one line."""
        self.server._count("ssh_refused")
        log.info("SSH: refused %s from %s@%s", what, self.user or "?", self.source)


class _Session:
    def __init__(self, conn: socket.socket, source: str) -> None:
        self.conn, self.source = conn, source
        self.key = source_key(source)  # what the per-address limit counts by (an IPv6 /64 is one)
        self.started = time.monotonic()
        self.transport: paramiko.Transport | None = None
        self.authenticated = False
        self.evicted = False  # made room for another address's login; its thread is closing it

    def pending(self) -> bool:
        """Still logging in, and holding a login slot. Asks paramiko too, not only this session's thread: that one
        looks every 0.2 s (much later on a busy machine), and a connection already logged in must neither keep its
        address's slot from the next login nor be made room from. paramiko marks a login done before it tells the
        client, so the client's next connection always finds the slot free."""
        if self.authenticated or self.evicted:
            return False
        t = self.transport
        return t is None or not t.is_authenticated()

    def progress(self) -> int:
        """How far the login got: 0 nothing, 1 the client's version line, 2 keys exchanged (read without a lock:
        paramiko's thread only ever moves these forward)."""
        t = self.transport
        if t is None or not t.remote_version:
            return 0
        return 2 if t.initial_kex_done else 1

    def overdue(self, now: float) -> bool:
        age = now - self.started
        return (age > BANNER_TIMEOUT_S and self.progress() == 0) or (age > KEX_TIMEOUT_S and self.progress() < 2) or (
            age > LOGIN_GRACE_S)

    def evict(self) -> None:
        """Hang up from another thread: the session's own thread sees the end and cleans up."""
        self.evicted = True
        try:
            self.conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        self.conn.close()


class SshServer:
    """Owns the SSH listener, its sessions and their forwards; start() binds, stop() closes all and joins threads.

    Threads: paramiko's own per connection, one per session (login deadline, picking up channels) and
    one per forward (a pump: bytes both ways to the node's OSC TCP server, which answers on the same connection,
    or to its OSCQuery server, HTTP and WebSocket alike). The accept loop runs in the node's event loop and never
    blocks it. `oscquery_port` None: OSC only.
    """

    def __init__(self, host: str, port: int, authorized_keys: Path, host_key: Path,
                 osc_host: str, osc_port: int, counters: dict[str, int],
                 oscquery_port: int | None = None, oscquery_host: str = "127.0.0.1") -> None:
        self.host, self.port = host, port
        self.authorized_keys, self.host_key = authorized_keys, host_key
        self.osc_port, self.oscquery_port = osc_port, oscquery_port
        # port -> (the names a client may give for it, where the forward connects)
        self._targets = {osc_port: (local_names(osc_host), (reach(osc_host), osc_port))}
        if oscquery_port is not None:
            self._targets[oscquery_port] = (local_names(oscquery_host), (reach(oscquery_host), oscquery_port))
        self.counters = counters
        for name in ("ssh_auth_ok", "ssh_auth_failed", "ssh_rate_limited", "ssh_refused", "ssh_busy", "ssh_evicted",
                     "ssh_login_timeouts", "ssh_connections", "ssh_sessions"):
            counters.setdefault(name, 0)
        self.limiter = SourceLimiter()
        self._keys: AuthorizedKeys | None = None
        self._host_key: paramiko.PKey | None = None
        self._sock: socket.socket | None = None
        self._accept_task: asyncio.Task[None] | None = None
        self._lock = threading.Lock()
        self._sessions: set[_Session] = set()
        self._threads: set[threading.Thread] = set()
        self._stopping = threading.Event()
        self.forwards = Pumps(MAX_FORWARDS, counters, "ssh_forwards", self._stopping)
        self._busy_logged = -BUSY_LOG_EVERY_S
        self._evicted_from: OrderedDict[str, float] = OrderedDict()  # source key -> when (LRU, MAX_SOURCES)

    def destination(self, host: str, port: int) -> tuple[str, int] | None:
        """Where a forward asked for as host:port connects, if it names the node's OSC or OSCQuery port."""
        names, target = self._targets.get(port, (frozenset(), None))
        return target if bare(host) in names else None

    def allowed(self) -> str:
        """The allowed destinations, for the log."""
        if self.oscquery_port is None:
            return f"the node's OSC port {self.osc_port} is"
        return f"the node's OSC port {self.osc_port} and OSCQuery port {self.oscquery_port} are"

    def _count(self, name: str, delta: int = 1) -> None:
        with self._lock:
            self.counters[name] += delta

    async def start(self) -> None:
        self._keys = AuthorizedKeys.load(self.authorized_keys)
        self._host_key = load_or_create_host_key(self.host_key)
        logging.getLogger(WIRE_LOG).setLevel(logging.CRITICAL)
        sock = socket.socket(family(self.host), socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(64)
            sock.setblocking(False)
        except OSError as e:
            sock.close()
            if e.errno == errno.EADDRINUSE:
                raise CielError(
                    f"SSH port {self.host}:{self.port} is busy; pick another with --ssh HOST:PORT"
                ) from None
            raise CielError(
                f"cannot listen for SSH on {self.host}:{self.port} ({e.strerror}); check --ssh HOST:PORT"
            ) from None
        self._sock = sock
        self.port = sock.getsockname()[1]
        self._stopping.clear()
        self._accept_task = asyncio.create_task(self._accept_loop(sock))
        log.info(
            "SSH on %s:%d: %d authorized key(s) from %s, forwards to %s only; host key %s %s",
            self.host, self.port, len(self._keys), self.authorized_keys,
            f"OSC port {self.osc_port}" + (f" and OSCQuery port {self.oscquery_port}" if self.oscquery_port else ""),
            self._host_key.get_name(), self._host_key.fingerprint,
        )

    async def stop(self) -> None:
        self._stopping.set()
        if self._accept_task is not None:
            self._accept_task.cancel()
            try:
                await self._accept_task
            except asyncio.CancelledError:
                pass
            self._accept_task = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        await asyncio.to_thread(self._close_all)

    def _close_all(self, deadline_s: float = 5.0) -> None:
        with self._lock:
            sessions, threads = list(self._sessions), list(self._threads)
        for session in sessions:
            session.close()
        end = time.monotonic() + deadline_s
        for thread in threads:
            thread.join(max(0.0, end - time.monotonic()))
        self.forwards.join(max(0.0, end - time.monotonic()))

    async def _accept_loop(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, addr = await loop.sock_accept(sock)
            except OSError as e:  # out of file descriptors, a reset before accept: keep serving
                log.warning("SSH: accept failed (%s)", e)
                await asyncio.sleep(0.1)
                continue
            self._admit(conn, plain(str(addr[0])))

    def _admit(self, conn: socket.socket, source: str) -> None:
        self._count("ssh_connections")
        if not self.limiter.take(source):
            self._count("ssh_rate_limited")
            conn.close()  # before any key exchange: a flood costs the node almost nothing
            return
        session = _Session(conn, source)
        with self._lock:
            busy = not self._make_room(session)
            if not busy:
                self._sessions.add(session)
                self.counters["ssh_sessions"] = len(self._sessions)
        if busy:
            self._count("ssh_busy")
            conn.close()
            return
        conn.setblocking(True)
        # OSC packets are small: without this, Nagle and delayed ACKs add ~40 ms to every answer.
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._spawn(self._serve, session, name=f"ciel-ssh-{source}")

    def _make_room(self, newcomer: _Session) -> bool:
        """Whether `newcomer` may log in now (under self._lock). One address holds at most
        MAX_UNAUTHENTICATED_PER_SOURCE login slots. When all MAX_UNAUTHENTICATED are taken, an address holding none
        takes the slot of the least advanced, then oldest, login of an address holding the most, among those at
        least EVICT_MIN_AGE_S old: a few addresses holding every slot with idle connections never shut an operator
        out, and a login in its first second is never cut off. An address that was made room from in the last
        EVICTED_WAIT_S takes free slots only: idle connections reconnecting at once cannot evict one another in turn
        (and the operator with them)."""
        live = [s for s in self._sessions if not s.evicted]
        pending = [s for s in live if s.pending()]
        held: dict[str, int] = {}
        for s in pending:
            held[s.key] = held.get(s.key, 0) + 1
        mine = held.get(newcomer.key, 0)
        # Sessions on their way out still hold a thread: bounded too, however fast addresses churn.
        if len(live) >= MAX_SESSIONS or len(self._sessions) >= MAX_SESSIONS + MAX_UNAUTHENTICATED:
            return False
        if mine >= MAX_UNAUTHENTICATED_PER_SOURCE:
            return False
        if len(pending) < MAX_UNAUTHENTICATED:
            return True
        now = time.monotonic()
        if mine or now - self._evicted_from.get(newcomer.key, -EVICTED_WAIT_S) < EVICTED_WAIT_S:
            return False
        if now - self._busy_logged > BUSY_LOG_EVERY_S:
            self._busy_logged = now
            log.warning("SSH: all %d login slots are taken (%d addresses); each new address takes the slot of the "
                        "longest-waiting idle login (ssh_evicted)", MAX_UNAUTHENTICATED, len(held))
        candidates = [s for s in pending if now - s.started >= EVICT_MIN_AGE_S]
        if not candidates:
            return False
        victim = min(candidates, key=lambda s: (-held[s.key], s.progress(), s.started))
        victim.evict()
        self.counters["ssh_evicted"] += 1
        self._evicted_from.pop(victim.key, None)
        self._evicted_from[victim.key] = now
        while len(self._evicted_from) > MAX_SOURCES:
            self._evicted_from.popitem(last=False)
        return True

    def _spawn(self, target: Callable[..., None], *args: object, name: str) -> None:

        def run() -> None:
            try:
                target(*args)
            finally:
                with self._lock:
                    self._threads.discard(thread)

        thread = threading.Thread(target=run, name=name, daemon=True)
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def _serve(self, session: _Session) -> None:
        """One connection: key exchange and login within the grace time, then pick up its forwards."""
        gate = _Gate(self, session.source)
        t: paramiko.Transport | None = None
        try:
            t = session.transport = paramiko.Transport(session.conn, disabled_algorithms=SERVER_DISABLED)
            t.set_log_channel(WIRE_LOG)
            # paramiko's own timers only as a backstop: this loop's deadlines come first and are counted.
            t.banner_timeout, t.handshake_timeout = BANNER_TIMEOUT_S + 1, KEX_TIMEOUT_S + 1
            assert self._host_key is not None
            t.add_server_key(self._host_key)
            t.start_server(event=threading.Event(), server=gate)  # with an event: returns at once
            while t.is_active() and not self._stopping.is_set() and not session.evicted:
                if not session.authenticated:
                    if t.is_authenticated():
                        self._logged_in(session, gate)
                    elif gate.throttled or gate.failures >= MAX_AUTH_TRIES:
                        break
                    elif session.overdue(time.monotonic()):
                        self._count("ssh_login_timeouts")
                        break
                chan = t.accept(0.2)
                if chan is not None:
                    self._forward(chan, gate.destinations.pop(chan.get_id(), None))
        except (OSError, EOFError, paramiko.SSHException):
            pass  # a client that vanished mid-handshake: nothing to report
        finally:
            if t is not None and t.authenticated and not session.authenticated:
                self._logged_in(session, gate)  # logged in and left before this loop looked
            session.close()
            with self._lock:
                self._sessions.discard(session)
                self.counters["ssh_sessions"] = len(self._sessions)

    def _logged_in(self, session: _Session, gate: _Gate) -> None:
        session.authenticated = True
        self._count("ssh_auth_ok")
        key = gate.key
        log.info("SSH: %s@%s logged in (key on line %d%s)", gate.user, session.source,
                 key.line if key else 0, f", {printable(key.comment)}" if key and key.comment else "")

    def _forward(self, chan: paramiko.Channel, target: tuple[str, int] | None) -> None:
        if target is None or self.forwards.full():  # None: not a forward the gate approved
            close_channel(chan)
            return
        try:
            sock = socket.create_connection(target, timeout=2.0)
        except OSError as e:
            what = "OSC" if target[1] == self.osc_port else "OSCQuery"
            log.warning("SSH: the node's %s port %s:%d does not answer (%s)", what, *target, e)
            close_channel(chan)
            return
        self.forwards.start(chan, sock)
