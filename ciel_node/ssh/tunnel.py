"""Outgoing SSH: checked client connections (shared with the operator) and the reverse tunnel through a relay."""

from __future__ import annotations

import asyncio
import getpass
import logging
import os
import random
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko

from ciel_node.errors import CielError
from ciel_node.net import reach
from ciel_node.ssh.policy import WIRE_LOG, disabled_algorithms, printable
from ciel_node.ssh.pump import Pumps, close_channel

log = logging.getLogger(__name__)

BACKOFF_MIN_S = 0.25
BACKOFF_MAX_S = 4.0  # below the 5 s a relay restart may cost: a sleeping retry never overshoots it much
KEEPALIVE_S = 5  # SSH keepalives put data in flight, so TCP_USER_TIMEOUT notices a dead relay
MAX_FORWARDS = 16
DEFAULT_KEYS = ("id_ed25519", "id_ecdsa", "id_rsa")


class SshTrustError(CielError):
    """Host key unknown or changed, or the key refused: retrying cannot help, a person must act."""


class SshLinkError(CielError):
    """Unreachable, not SSH, forward refused: may heal by itself, so links retry."""


@dataclass(frozen=True)
class SshTarget:
    user: str
    host: str
    port: int = 22

    @property
    def known_hosts_name(self) -> str:
        """The name OpenSSH files this host under in known_hosts."""
        return self.host if self.port == 22 else f"[{self.host}]:{self.port}"

    def __str__(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"


def parse_target(value: str, flag: str = "--ssh") -> SshTarget:
    """`user@host[:port]` (IPv6 as `user@[::1]:port`); without `user@`, the local user name, as ssh does."""
    user, at, rest = value.rpartition("@")
    if not at:
        user = getpass.getuser()
    host, port_s = rest, ""
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        port_s = tail[1:] if tail.startswith(":") else tail
    elif rest.count(":") == 1:
        host, _, port_s = rest.partition(":")
    ok = bool(host) and (not at or bool(user)) and (port_s == "" or port_s.isdigit())
    port = int(port_s) if port_s and ok else 22
    if not ok or not 1 <= port <= 65535 or any(c.isspace() for c in value):
        raise CielError(f"{flag} {value!r} must be user@host[:port], e.g. {flag} op@node.example.org:2222")
    return SshTarget(user, host, port)


def load_key(path: Path | None, prompt: bool = False) -> paramiko.PKey | None:
    """The private key to log in with; None means ssh-agent and ~/.ssh/id_* (paramiko's usual search)."""
    if path is None:
        return None
    try:
        return paramiko.PKey.from_path(path)
    except paramiko.PasswordRequiredException:
        if prompt and sys.stdin.isatty():
            try:
                return paramiko.PKey.from_path(path, getpass.getpass(f"passphrase for {path}: "))
            except (paramiko.SSHException, ValueError):
                raise CielError(f"wrong passphrase for the key {path}; try again") from None
        raise CielError(
            f"the key {path} is passphrase-protected; run ssh-add {path} and leave out --key (ssh-agent is used), "
            "or use a key without a passphrase"
        ) from None
    except OSError as e:
        raise CielError(f"cannot read the key {path} ({e.strerror}); pass --key with your private key file") from None
    except Exception as e:  # noqa: BLE001 - a public key, a damaged file, an unknown key type
        raise CielError(
            f"{path} is not a usable private key ({e}); pass --key with an ed25519, ECDSA or RSA private key "
            "(not the .pub file)"
        ) from None


def default_known_hosts() -> Path:
    return Path.home() / ".ssh" / "known_hosts"


class _KnownHostsPolicy(paramiko.MissingHostKeyPolicy):
    """An unknown host: refused with its fingerprint, or recorded in known_hosts on first use when asked to."""

    def __init__(self, known_hosts: Path, trust_on_first_use: bool, fix: str) -> None:
        self.known_hosts, self.tofu, self.fix = known_hosts, trust_on_first_use, fix

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        if not self.tofu:
            raise SshTrustError(
                f"the host key of {hostname} is not in {self.known_hosts} ({key.get_name()} {key.fingerprint}); "
                f"{self.fix}"
            )
        try:
            self.known_hosts.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.known_hosts, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a") as f:
                f.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
        except OSError as e:
            raise SshTrustError(
                f"cannot record the host key of {hostname} in {self.known_hosts} ({e.strerror}); "
                "pass --known-hosts with a writable file"
            ) from None
        client.get_host_keys().add(hostname, key.get_name(), key)
        log.warning("trusting %s on first use: %s %s, recorded in %s", hostname, key.get_name(), key.fingerprint,
                    self.known_hosts)


def _tune(sock: socket.socket) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in (("TCP_KEEPIDLE", 10), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3), ("TCP_USER_TIMEOUT", 20000)):
        if hasattr(socket, name):  # Linux; elsewhere the defaults (slower to notice a dead link) apply
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)


TOFU_FIX = "compare it with the fingerprint the node logs at start-up, then rerun with --trust-on-first-use"


def connect(target: SshTarget, key: paramiko.PKey | None, known_hosts: Path, trust_on_first_use: bool = False,
            timeout: float = 10.0, unknown_fix: str = TOFU_FIX) -> paramiko.SSHClient:
    """An authenticated SSH client whose host key matched known_hosts; SshTrustError / SshLinkError otherwise.

    `unknown_fix` ends the error for an unknown host key: what the reader should do about it.
    """
    where = f"{target.host}:{target.port}"
    try:
        sock = socket.create_connection((target.host, target.port), timeout=timeout)
    except OSError as e:
        why = e.strerror or str(e) or type(e).__name__
        raise SshLinkError(
            f"cannot reach {where} ({why}); check the host, the port, and that its SSH server is running"
        ) from None
    _tune(sock)
    client = paramiko.SSHClient()
    # Failures come back as our one-line errors; paramiko's own lines (tracebacks included) stay out of the log.
    client.set_log_channel(WIRE_LOG)
    logging.getLogger(WIRE_LOG).setLevel(logging.CRITICAL)
    if known_hosts.exists():
        try:
            client.get_host_keys().load(str(known_hosts))
        except (OSError, UnicodeDecodeError) as e:
            sock.close()
            raise SshTrustError(f"cannot read {known_hosts} ({e}); pass --known-hosts with a readable file") from None
    client.set_missing_host_key_policy(_KnownHostsPolicy(known_hosts, trust_on_first_use, unknown_fix))
    try:
        client.connect(
            target.host, target.port, username=target.user, pkey=key, sock=sock, timeout=timeout,
            look_for_keys=key is None, allow_agent=key is None, banner_timeout=timeout, auth_timeout=timeout,
            disabled_algorithms=disabled_algorithms(),  # what current OpenSSH offers, as the node's own server
        )
    except SshTrustError:
        client.close()
        raise
    except paramiko.BadHostKeyException as e:
        client.close()
        name = target.known_hosts_name
        raise SshTrustError(
            f"the host key of {name} has CHANGED: it offers {e.key.get_name()} {e.key.fingerprint}, but "
            f"{known_hosts} has {e.expected_key.get_name()} {e.expected_key.fingerprint}; if you know why it changed, "
            f"remove the old entry with: ssh-keygen -R '{name}' -f {known_hosts}"
        ) from None
    except paramiko.AuthenticationException:
        client.close()
        which = f"{key.get_name()} {key.fingerprint}" if key is not None else "from ssh-agent and ~/.ssh/id_*"
        raise SshTrustError(
            f"{target} did not accept the key ({which}); add the public key (the .pub beside it) to the "
            "server's authorized_keys"
        ) from None
    except paramiko.IncompatiblePeer as e:
        client.close()
        raise SshLinkError(
            f"{where} offers none of the algorithms current OpenSSH uses ({printable(e)}); its SSH server needs "
            "aes*-ctr or aes*-gcm ciphers, hmac-sha2-* MACs and curve25519, ecdh or SHA-2 diffie-hellman key exchange"
        ) from None
    except paramiko.SSHException as e:
        client.close()
        if "No authentication methods" in str(e):  # no --key, no agent, no ~/.ssh/id_*
            raise SshTrustError(
                f"no key to log in to {target} with; pass --key FILE or load one into ssh-agent (ssh-add)"
            ) from None
        raise SshLinkError(
            f"SSH handshake with {where} failed ({printable(e or type(e).__name__)}); is it an SSH server? "
            "(servers also hang up on addresses with too many failed logins: wait a few seconds)"
        ) from None
    except (EOFError, OSError) as e:
        client.close()
        raise SshLinkError(
            f"SSH handshake with {where} failed ({printable(e or type(e).__name__)}); is it an SSH server? "
            "(servers also hang up on addresses with too many failed logins: wait a few seconds)"
        ) from None
    transport = client.get_transport()
    assert transport is not None
    transport.set_keepalive(KEEPALIVE_S)
    return client


class ReverseTunnel:
    """Keeps an outgoing SSH connection to a relay whose remote forward (127.0.0.1:remote_port there) leads to
    the node's OSC TCP port, for nodes behind NAT. Reconnects with backoff (0.25 s doubling to 4 s), all in
    one thread plus one per forwarded connection: the event loop never waits on the network.

    The remote port is kept across reconnects (the relay's first pick when remote_port is None), so operators
    keep one address. The relay's host key must already be in known_hosts: a daemon cannot ask anyone.
    """

    def __init__(self, target: str, key: Path | None, known_hosts: Path | None, osc_port: int,
                 remote_port: int | None = None, counters: dict[str, int] | None = None,
                 osc_host: str = "127.0.0.1") -> None:
        self.target = parse_target(target, "--reverse-tunnel")
        self.key_path = key
        self.known_hosts = known_hosts or default_known_hosts()
        self.osc = (reach(osc_host), osc_port)
        self.remote_port = remote_port
        self.counters = counters if counters is not None else {}
        for name in ("tunnel_up", "tunnel_reconnects"):
            self.counters.setdefault(name, 0)
        self._key: paramiko.PKey | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._client: paramiko.SSHClient | None = None
        self._thread: threading.Thread | None = None
        self._forwards = Pumps(MAX_FORWARDS, self.counters, "tunnel_forwards", self._stop, "ciel-tunnel-forward")
        self._connected_since: float | None = None
        self._ever_connected = False
        self._last_error: str | None = None
        self._logged: tuple[str, float] = ("", 0.0)

    async def start(self) -> None:
        self._key = await asyncio.to_thread(load_key, self.key_path)
        if not os.access(self.known_hosts, os.R_OK):
            raise CielError(
                f"the relay's host key must be in {self.known_hosts}, which is missing or unreadable; record it once "
                f"with: ssh -p {self.target.port} {self.target.user}@{self.target.host} true"
            )
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ciel-reverse-tunnel", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        with self._lock:
            client = self._client
        if client is not None:
            client.close()  # wakes a thread blocked in the handshake or the forward request
        await asyncio.to_thread(self._join)

    def _join(self, deadline_s: float = 5.0) -> None:
        end = time.monotonic() + deadline_s
        if self._thread is not None:
            self._thread.join(deadline_s)
        self._forwards.join(max(0.0, end - time.monotonic()))

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "connected": self._connected_since is not None,
                "since": self._connected_since,
                "reconnects": self.counters["tunnel_reconnects"],
                "last_error": self._last_error,
                "relay": str(self.target),
                "remote_port": self.remote_port,
            }

    # --- the tunnel thread --------------------------------------------------------------------
    def _run(self) -> None:
        backoff = BACKOFF_MIN_S
        while not self._stop.is_set():
            was_up = False
            try:
                self._serve_once()
            except CielError as e:
                self._failed(str(e))
            except (paramiko.SSHException, OSError, EOFError) as e:
                self._failed(f"the link to {self.target} failed ({printable(e or type(e).__name__)})")
            finally:
                with self._lock:
                    was_up = self._connected_since is not None
                    client, self._client, self._connected_since = self._client, None, None
                    self.counters["tunnel_up"] = 0
                if client is not None:
                    client.close()
            if was_up:
                backoff = BACKOFF_MIN_S
            if self._stop.wait(backoff * random.uniform(0.8, 1.0)):  # jitter: many nodes, one relay
                break
            backoff = min(backoff * 2, BACKOFF_MAX_S)

    def _serve_once(self) -> None:
        """Connect, ask for the remote forward, hand each incoming connection to a pump; returns when it drops."""
        t = self.target
        fix = f"record it, as the node's user, with: ssh -p {t.port} {t.user}@{t.host} true (and check the fingerprint)"
        client = connect(t, self._key, self.known_hosts, timeout=5.0, unknown_fix=fix)
        with self._lock:
            self._client = client
        if self._stop.is_set():
            return
        transport = client.get_transport()
        assert transport is not None
        wanted = self.remote_port or 0
        try:
            port = transport.request_port_forward("127.0.0.1", wanted)
        except paramiko.SSHException:
            raise SshLinkError(
                f"the relay {self.target} refused to listen on 127.0.0.1:{wanted or 'any port'}; is the port "
                "still held by an earlier session (set ClientAliveInterval on the relay) and is AllowTcpForwarding on?"
            ) from None
        with self._lock:
            self.remote_port = port or wanted
            self._connected_since = time.time()
            self._last_error = None
            self.counters["tunnel_up"] = 1
            if self._ever_connected:
                self.counters["tunnel_reconnects"] += 1
            self._ever_connected = True
        log.info("reverse tunnel up: %s listens on 127.0.0.1:%d for this node's OSC port %d",
                 self.target, self.remote_port, self.osc[1])
        while transport.is_active() and not self._stop.is_set():
            chan = transport.accept(0.5)
            if chan is not None:
                self._forward(chan)
        if not self._stop.is_set():
            self._failed(f"the link to {self.target} dropped")

    def _forward(self, chan: paramiko.Channel) -> None:
        try:
            if self._forwards.full():
                raise OSError(f"{MAX_FORWARDS} forwards already open")
            sock = socket.create_connection(self.osc, timeout=2.0)
        except OSError as e:
            log.warning("reverse tunnel: cannot forward to the node's OSC port %s:%d (%s)", *self.osc, e)
            close_channel(chan)
            return
        self._forwards.start(chan, sock)

    def _failed(self, message: str) -> None:
        with self._lock:
            self._last_error = message
        last, at = self._logged
        if message != last or time.monotonic() - at > 60:  # a relay down for hours logs once a minute
            log.warning("reverse tunnel: %s; retrying", message)
            self._logged = (message, time.monotonic())
