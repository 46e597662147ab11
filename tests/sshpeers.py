"""Real SSH peers for the tests: ssh-keygen keys, a stock sshd, OpenSSH client lines, the operator bridge.

A node with its SSH server beside it: `nodes.running_node(..., authorized_keys=...)`."""

from __future__ import annotations

import asyncio
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from conftest import require_tool
from nodes import free_port


def keygen(path: Path, kind: str = "ed25519") -> Path:
    """A fresh key pair (no passphrase); returns the private key path, the public one is beside it."""
    extra = ["-b", "2048"] if kind == "rsa" else []
    subprocess.run([require_tool("ssh-keygen"), "-q", "-t", kind, *extra, "-N", "", "-C", f"test-{kind}",
                    "-f", str(path)], check=True)
    return path


class Keys:
    """An operator's key in an authorized_keys file, a stranger's key, and a known_hosts path (not yet written)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir()
        self.op = keygen(folder / "op")
        self.stranger = keygen(folder / "stranger")
        self.authorized = folder / "authorized_keys"
        self.authorized.write_text(f"# the operators\n\n{pub(self.op)}\n")
        self.known_hosts = folder / "known_hosts"


def pub(key: Path) -> str:
    return Path(f"{key}.pub").read_text().strip()


def tcp_ready(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def descendants(pid: int) -> list[int]:
    """Every process under `pid` (sshd's per-connection children), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class Sshd:
    """A stock OpenSSH sshd on 127.0.0.1 (-D -e, private config); kill() also ends its per-connection children."""

    def __init__(self, folder: Path, authorized_keys: Path, permit_open: list[int], permit_listen: int | None = None,
                 port: int | None = None, extra: tuple[str, ...] = ()) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.host_key = folder / "ssh_host_ed25519_key"
        if not self.host_key.exists():
            keygen(self.host_key)
        lines = [
            f"Port {self.port}", "ListenAddress 127.0.0.1", f"HostKey {self.host_key}",
            f"PidFile {folder / 'sshd.pid'}", f"AuthorizedKeysFile {authorized_keys}", "StrictModes no",
            "UsePAM no", "PasswordAuthentication no", "KbdInteractiveAuthentication no", "PermitTTY no",
            "AllowTcpForwarding yes", "GatewayPorts no", "X11Forwarding no", "AllowAgentForwarding no",
            "PermitOpen " + (" ".join(f"127.0.0.1:{p}" for p in permit_open) or "none"), "LogLevel VERBOSE",
        ]
        if permit_listen is not None:
            lines.append(f"PermitListen 127.0.0.1:{permit_listen}")
        lines.extend(extra)  # e.g. "Ciphers 3des-cbc": a relay stuck in the past
        self.config = folder / "sshd_config"
        self.config.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = folder / "sshd.log"

    def known_hosts_line(self) -> str:
        return f"[127.0.0.1]:{self.port} {pub(self.host_key)}"

    async def start(self) -> None:
        sshd = require_tool("sshd")
        os.makedirs("/run/sshd", exist_ok=True)  # its privilege-separation directory
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([sshd if sshd.startswith("/") else "/usr/sbin/sshd", "-D", "-e",
                                          "-f", str(self.config)], stdout=log, stderr=log)
        end = time.monotonic() + 10
        while not tcp_ready(self.port):
            if self.proc.poll() is not None or time.monotonic() > end:
                raise AssertionError(f"sshd did not start: {self.log.read_text()[-2000:]}")
            await asyncio.sleep(0.02)

    def kill(self) -> None:
        """The relay goes down hard: the listener and every session it holds (by their PIDs)."""
        if self.proc is None:
            return
        for pid in [*descendants(self.proc.pid), self.proc.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(5)
        self.proc = None

    def logs(self) -> str:
        return self.log.read_text(errors="replace")


class IdleHolder:
    """An attacker that opens `count` TCP connections to an SSH port, round-robin from `sources`, sends nothing (or
    just its version line, with `banner`), and opens a new one as soon as the server closes one. A thread of its
    own; `lifetimes` holds how long each closed connection was held (seconds), `opened` how many were made."""

    def __init__(self, port: int, sources: list[str], count: int, banner: bool = False) -> None:
        self.port, self.sources, self.count, self.banner = port, sources, count, banner
        self.lifetimes: list[float] = []
        self.opened = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-idle-holder", daemon=True)

    def _open(self, sel: selectors.BaseSelector, k: int) -> None:
        sock = socket.socket()
        sock.bind((self.sources[k % len(self.sources)], 0))
        sock.settimeout(2)
        try:
            sock.connect(("127.0.0.1", self.port))
            if self.banner:
                sock.sendall(b"SSH-2.0-idle\r\n")
        except OSError:
            sock.close()
            return
        sock.setblocking(False)
        sel.register(sock, selectors.EVENT_READ, (k, time.monotonic()))
        self.opened += 1

    def _run(self) -> None:
        sel = selectors.DefaultSelector()
        k = 0
        try:
            while not self._stop.is_set():
                while len(sel.get_map()) < self.count and not self._stop.is_set():
                    self._open(sel, k)
                    k += 1
                for key, _ in sel.select(0.02):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    try:
                        alive = bool(sock.recv(4096))  # the server's version line; b"" once it hangs up
                    except BlockingIOError:
                        alive = True
                    except OSError:
                        alive = False  # a reset: closed all the same
                    if not alive:
                        self.lifetimes.append(time.monotonic() - key.data[1])
                        sel.unregister(sock)
                        sock.close()
                if len(sel.get_map()) < self.count:
                    self._stop.wait(0.02)  # the server is refusing: do not spin
        finally:
            for key in list(sel.get_map().values()):
                key.fileobj.close()  # type: ignore[union-attr]
            sel.close()

    def __enter__(self) -> IdleHolder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def ssh_base(key: Path, port: int, known_hosts: Path, user: str = "op", source: str | None = None) -> list[str]:
    """An OpenSSH client line with nothing from the machine's config or agent (from `source`, e.g. 127.0.0.2)."""
    return [
        require_tool("ssh"), "-F", "/dev/null", *(["-b", source] if source else []), "-p", str(port), "-i", str(key),
        "-o", "BatchMode=yes",
        "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", f"UserKnownHostsFile={known_hosts}",
        "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=accept-new",
        "-o", "ConnectTimeout=5", "-o", "ExitOnForwardFailure=yes",
    ]


async def run(args: list[str], timeout: float = 15.0, stdin: bytes = b"") -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(*args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


class Operator:
    """`python -m ciel_node.ssh.operator ...` in a child process; its stderr lines are collected as they come."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.args = [str(a) for a in args]
        self.env = env
        self.lines: list[str] = []
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> Operator:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ciel_node.ssh.operator", *self.args,
            stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=self.env,
        )
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            self.lines.append(line.decode(errors="replace").rstrip())

    async def expect(self, text: str, deadline_s: float = 10.0) -> str:
        end = time.monotonic() + deadline_s
        while True:
            for line in self.lines:
                if text in line:
                    return line
            assert self.proc is not None
            if self.proc.returncode is not None or time.monotonic() > end:
                raise AssertionError(f"the operator never said {text!r}; it said {self.lines}")
            await asyncio.sleep(0.02)

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)

    async def finish(self, deadline_s: float = 20.0) -> int:
        """Wait for it to exit by itself (error cases)."""
        assert self.proc is not None
        rc = await asyncio.wait_for(self.proc.wait(), deadline_s)
        if self._reader is not None:
            await self._reader
        return rc

    async def stop(self) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.terminate()
        return await self.finish(10.0)

    async def __aenter__(self) -> Operator:
        await self.start()
        await self.expect("point your patch at")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
