"""The embedded SSH server against OpenSSH's client (and paramiko's): only the forward to the OSC port gets through."""

from __future__ import annotations

import asyncio
import json
import logging
import select
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import paramiko
import pytest
from conftest import require_tool
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from nodes import RunningNode, free_port, node_config, running_node, until
from oscpeers import oscsend
from sshpeers import IdleHolder, Keys, keygen, pub, run, ssh_base, tcp_ready

from ciel_node.controls.framing import SlipDecoder, slip_encode
from ciel_node.controls.wire import osc_message
from ciel_node.errors import CielError
from ciel_node.ssh.keys import AuthorizedKeys
from ciel_node.ssh.server import (
    BANNER_TIMEOUT_S,
    EVICT_MIN_AGE_S,
    KEX_TIMEOUT_S,
    MAX_AUTH_TRIES,
    MAX_UNAUTHENTICATED,
    MAX_UNAUTHENTICATED_PER_SOURCE,
    SshServer,
)

HERE = Path(__file__).resolve().parent


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    return Keys(tmp_path / "keys")


@pytest.fixture
async def node(tmp_path: Path, tiny_checkpoints: tuple[Path, Path], keys: Keys) -> AsyncIterator[RunningNode]:
    cfg = node_config(tmp_path / "state", tiny_checkpoints)
    async with running_node(cfg, first_piece=False, web=False, authorized_keys=keys.authorized) as running:
        yield running


def ssh_port(node: RunningNode) -> int:
    assert node.ssh is not None
    return node.ssh.port


@asynccontextmanager
async def local_forward(node: RunningNode, keys: Keys, dest: str | None = None) -> AsyncIterator[int]:
    """`ssh -N -L LOCAL:127.0.0.1:OSCPORT ... op@127.0.0.1`, yields LOCAL once it listens."""
    local = free_port()
    dest = dest or f"127.0.0.1:{node.osc_port}"
    args = [*ssh_base(keys.op, ssh_port(node), keys.known_hosts), "-N", "-L", f"{local}:{dest}", "op@127.0.0.1"]
    proc = await asyncio.create_subprocess_exec(*args, stdin=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.PIPE)
    try:
        end = time.monotonic() + 10
        while not tcp_ready(local):
            if proc.returncode is not None or time.monotonic() > end:
                assert proc.stderr is not None
                raise AssertionError(f"ssh -L did not come up: {(await proc.stderr.read()).decode()}")
            await asyncio.sleep(0.02)
        yield local
    finally:
        if proc.returncode is None:
            proc.terminate()
        try:  # bounded: one CI run hung here for the whole test timeout with ssh still alive
            await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            proc.kill()
            await asyncio.wait_for(proc.wait(), 5)


async def read_frames(reader: asyncio.StreamReader, want: bytes, deadline_s: float = 5.0) -> list[bytes]:
    decoder, got = SlipDecoder(), []
    end = time.monotonic() + deadline_s
    while not any(want in p for p in got):
        assert time.monotonic() < end, f"no {want!r} in {got}"
        data = await asyncio.wait_for(reader.read(65536), max(0.01, end - time.monotonic()))
        assert data, f"connection closed before {want!r}; got {got}"
        got.extend(decoder.feed(data))
    return got


# --- the one thing allowed -------------------------------------------------------------------------------
async def test_openssh_local_forward_changes_the_node_and_answers_on_the_connection(node: RunningNode,
                                                                                    keys: Keys) -> None:
    async with local_forward(node, keys) as local:
        reader, writer = await asyncio.open_connection("127.0.0.1", local)
        writer.write(slip_encode(osc_message("/ciel/seed", 4242, types="i")) + slip_encode(osc_message("/ciel/get")))
        frames = await read_frames(reader, b"/ciel/state/seed")
        assert node.controls.seed == 4242
        seed = next(f for f in frames if f.startswith(b"/ciel/state/seed"))
        assert seed.endswith((4242).to_bytes(4, "big"))
        times = []  # small packets both ways: Nagle plus delayed ACKs would add ~40 ms to each
        for _ in range(20):
            start = time.monotonic()
            writer.write(slip_encode(osc_message("/ciel/get")))
            await read_frames(reader, b"/ciel/state/playback")
            times.append(time.monotonic() - start)
        assert sorted(times)[10] < 0.02, times
        # liblo's osc.tcp:// (OSC 1.0 length-prefix framing) through the same forward
        await oscsend(f"osc.tcp://127.0.0.1:{local}", "/ciel/drift", "f", 0.5)
        await until(lambda: node.controls.drift == 0.5, 5, "drift set through liblo over the forward")
        assert node.counters["ssh_forwards"] >= 1 and node.counters["ssh_auth_ok"] == 1
        writer.close()
        await writer.wait_closed()
    await until(lambda: node.counters["ssh_forwards"] == 0 and node.counters["ssh_sessions"] == 0, 5,
                "forward and session cleaned up")


async def test_localhost_name_and_stdio_forward(node: RunningNode, keys: Keys) -> None:
    frame = slip_encode(osc_message("/ciel/seed", 77, types="i"))
    rc, _, err = await run([*ssh_base(keys.op, ssh_port(node), keys.known_hosts), "-W",
                            f"localhost:{node.osc_port}", "op@127.0.0.1"], stdin=frame)
    assert rc == 0, err
    await until(lambda: node.controls.seed == 77, 5, "seed through ssh -W localhost:PORT")


# --- refused ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dest", ["dummy", "127.0.0.1:8080", "127.0.0.1:22", "10.1.2.3:OSC", "example.org:OSC",
                                  "127.0.0.1:OSC1"])
async def test_other_destinations_are_refused(node: RunningNode, keys: Keys, dest: str) -> None:
    dummy = socket.socket()
    dummy.bind(("127.0.0.1", 0))
    dummy.listen(4)
    dummy.setblocking(False)
    dest = dest.replace("OSC1", str(node.osc_port + 1)).replace("OSC", str(node.osc_port))
    dest = dest.replace("dummy", f"127.0.0.1:{dummy.getsockname()[1]}")
    try:
        rc, _, err = await run([*ssh_base(keys.op, ssh_port(node), keys.known_hosts), "-W", dest, "op@127.0.0.1"],
                               stdin=b"\xc0/ciel/seed\0\0,i\0\0\0\0\0\x05\xc0")
        assert rc == 255 and "administratively prohibited" in err, (rc, err)
        assert not _connection_waiting(dummy, 0.0)  # nothing ever reached the dummy port
        assert node.counters["ssh_refused"] == 1 and node.controls.seed != 5
    finally:
        dummy.close()


def _connection_waiting(listener: socket.socket, wait_s: float) -> bool:
    """Whether a connection reached `listener` within wait_s. select() bounds the wait however the socket
    is set (a plain accept() once hung a CI run for the whole test timeout)."""
    readable, _, _ = select.select([listener], [], [], wait_s)
    return bool(readable)


async def test_local_forward_to_another_port_gets_nothing(node: RunningNode, keys: Keys) -> None:
    dummy = socket.socket()
    dummy.bind(("127.0.0.1", 0))
    dummy.listen(4)
    dummy.settimeout(0.5)
    async with local_forward(node, keys, f"127.0.0.1:{dummy.getsockname()[1]}") as local:
        reader, writer = await asyncio.open_connection("127.0.0.1", local)
        assert await asyncio.wait_for(reader.read(100), 5) == b""  # ssh closes it: the open was refused
        writer.close()
    assert not _connection_waiting(dummy, 0.5)  # nor does anything arrive a little later
    dummy.close()
    assert node.counters["ssh_refused"] >= 1


async def test_shell_exec_sftp_and_pty_are_refused(node: RunningNode, keys: Keys) -> None:
    base = ssh_base(keys.op, ssh_port(node), keys.known_hosts)
    for extra, command in ((["-T"], []), ([], ["true"]), (["-s"], ["sftp"]), (["-tt"], ["true"])):
        rc, out, err = await run([*base, *extra, "op@127.0.0.1", *command])
        assert rc == 255 and "open failed" in err and not out, (extra, rc, err)
    rc, _, err = await run([require_tool("sftp"), "-F", "/dev/null", "-b", "-", "-P", str(ssh_port(node)),
                            "-i", str(keys.op), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                            "-o", f"UserKnownHostsFile={keys.known_hosts}", "-o", "StrictHostKeyChecking=accept-new",
                            "op@127.0.0.1"], stdin=b"ls\n")
    assert rc != 0, err
    await until(lambda: node.counters["ssh_auth_ok"] == 5 and node.counters["ssh_sessions"] == 0, 5, "sessions done")
    assert node.counters["ssh_refused"] >= 5


async def test_remote_forward_is_refused(node: RunningNode, keys: Keys) -> None:
    rc, _, err = await run([*ssh_base(keys.op, ssh_port(node), keys.known_hosts), "-N", "-R",
                            f"0:127.0.0.1:{node.osc_port}", "op@127.0.0.1"])
    assert rc == 255 and "remote port forwarding failed" in err, err
    assert node.counters["ssh_refused"] == 1


async def test_password_keyboard_interactive_and_unknown_keys_are_refused(node: RunningNode, keys: Keys) -> None:
    base = ssh_base(keys.op, ssh_port(node), keys.known_hosts)
    rc, _, err = await run([*base, "-o", "PreferredAuthentications=password,keyboard-interactive",
                            "-o", "PubkeyAuthentication=no", "op@127.0.0.1", "true"])
    assert rc == 255 and "Permission denied (publickey)" in err, err
    stranger = [a if a != str(keys.op) else str(keys.stranger) for a in base]
    rc, _, err = await run([*stranger, "-N", "-L", f"{free_port()}:127.0.0.1:{node.osc_port}", "op@127.0.0.1"])
    assert rc == 255 and "Permission denied (publickey)" in err, err

    def paramiko_tries() -> list[str]:
        refused = []
        with socket.create_connection(("127.0.0.1", ssh_port(node))) as sock:
            t = paramiko.Transport(sock)
            t.start_client(timeout=5)
            for attempt in (lambda: t.auth_password("op", "hunter2"), lambda: t.auth_interactive_dumb("op")):
                try:
                    attempt()
                except paramiko.BadAuthenticationType as e:
                    refused.append(",".join(e.allowed_types))
            t.close()
        return refused

    assert await asyncio.to_thread(paramiko_tries) == ["publickey", "publickey"]
    assert node.counters["ssh_auth_failed"] >= 3 and node.counters["ssh_auth_ok"] == 0


async def test_key_types_options_and_comments(tmp_path: Path, tiny_checkpoints: tuple[Path, Path],
                                             keys: Keys) -> None:
    ecdsa, rsa, fenced, expired = (keygen(tmp_path / n, k) for n, k in
                                   (("ecdsa", "ecdsa"), ("rsa", "rsa"), ("fenced", "ed25519"), ("old", "ed25519")))
    keys.authorized.write_text(
        "# comments, blank lines and options are fine\n\n"
        f'no-pty,command="echo \\"hi there\\"",no-X11-forwarding {pub(ecdsa)} with a long comment\n'
        f"   {pub(rsa)}\n"
        f'from="10.0.0.0/8,!127.0.0.1" {pub(fenced)}\n'
        f'expiry-time="20000101" {pub(expired)}\n'
        "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t not supported, skipped\n"
    )
    cfg = node_config(tmp_path / "state", tiny_checkpoints)
    async with running_node(cfg, first_piece=False, web=False, authorized_keys=keys.authorized) as node:
        for key, ok in ((ecdsa, True), (rsa, True), (fenced, False), (expired, False), (keys.op, False)):
            seed = 100 + len(str(key))
            base = [a if a != str(keys.op) else str(key) for a in ssh_base(keys.op, ssh_port(node), keys.known_hosts)]
            rc, _, err = await run([*base, "-W", f"127.0.0.1:{node.osc_port}", "op@127.0.0.1"],
                                   stdin=slip_encode(osc_message("/ciel/seed", seed, types="i")))
            assert (rc == 0) == ok, (key, rc, err)
            if ok:
                await until(lambda s=seed: node.controls.seed == s, 5, f"seed through {key.name}")  # type: ignore[misc]


@pytest.mark.parametrize(
    ("content", "line", "says"),
    [
        ("# fine\nssh-ed25519 AAAA!!notbase64 x\n", 2, "not valid base64"),
        ("bogus-option ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE x\n", 1, "unknown option 'bogus-option'"),
        ('command="unclosed ssh-ed25519 AAAA\n', 1, "quotes are not closed"),
        ("\n\nssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOb3 x\n", 3, "the key data is"),
        ("ssh-ed25519\n", 1, "has no base64 data"),
        ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAB2Jyb2tlbg== x\n", 1, "damaged"),
        ("just some words here\n", 1, "expected a key type"),
    ],
)
async def test_malformed_authorized_keys_name_the_file_and_line(tmp_path: Path, content: str, line: int,
                                                                says: str) -> None:
    path = tmp_path / "authorized_keys"
    path.write_text(content)
    server = SshServer("127.0.0.1", 0, path, tmp_path / "host_key", "127.0.0.1", 9000, {})
    with pytest.raises(CielError) as e:
        await server.start()
    message = str(e.value)
    assert f"{path}:{line}:" in message and says in message and "\n" not in message, message
    await server.stop()


async def test_start_errors_are_one_clear_line(tmp_path: Path, keys: Keys) -> None:
    cases: list[tuple[Path, Path, int, str]] = []
    empty = tmp_path / "empty"
    empty.write_text("# nobody yet\n")
    cases.append((tmp_path / "missing", tmp_path / "hk", 0, "cannot read the authorized keys file"))
    cases.append((empty, tmp_path / "hk", 0, "holds no usable key"))
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    cases.append((keys.authorized, blocker / "host_key", 0, "cannot write the SSH host key"))
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    cases.append((keys.authorized, tmp_path / "hk", busy.getsockname()[1], "is busy; pick another with --ssh"))
    loose = tmp_path / "loose_key"
    loose.write_text("x")
    loose.chmod(0o644)
    cases.append((keys.authorized, loose, 0, "chmod 600"))
    for authorized, host_key, port, says in cases:
        server = SshServer("127.0.0.1", port, authorized, host_key, "127.0.0.1", 9000, {})
        with pytest.raises(CielError, match=says):
            await server.start()
        await server.stop()
    busy.close()
    assert AuthorizedKeys.load(keys.authorized).match(b"nope", "127.0.0.1") is None


async def test_host_key_is_generated_once_and_kept(tmp_path: Path, tiny_checkpoints: tuple[Path, Path],
                                                  keys: Keys) -> None:
    keyscan = require_tool("ssh-keyscan")
    scans, recorded = [], ""
    for first in (True, False):
        cfg = node_config(tmp_path / "state", tiny_checkpoints)
        async with running_node(cfg, first_piece=False, web=False, authorized_keys=keys.authorized) as node:
            port = ssh_port(node)
            rc, out, err = await run([keyscan, "-t", "ed25519", "-p", str(port), "127.0.0.1"])
            assert rc == 0 and "ssh-ed25519" in out, err
            scans.append(out.split(None, 1)[1].strip())
            base = ssh_base(keys.op, port, keys.known_hosts)
            if first:  # record the key...
                rc, _, err = await run([*base, "-W", f"127.0.0.1:{node.osc_port}", "op@127.0.0.1"])
                recorded = keys.known_hosts.read_text().replace(f"[127.0.0.1]:{port}", "[127.0.0.1]:PORT")
            else:  # ...and a restarted node (on another port here) must present the same one
                keys.known_hosts.write_text(recorded.replace("PORT", str(port)))
                strict = [a.replace("accept-new", "yes") for a in base]
                rc, _, err = await run([*strict, "-W", f"127.0.0.1:{node.osc_port}", "op@127.0.0.1"])
            assert rc == 0, err
    assert scans[0] == scans[1] and "ssh-ed25519" in recorded
    assert (tmp_path / "state" / "ssh_host_key").stat().st_mode & 0o777 == 0o600


# --- abuse ------------------------------------------------------------------------------------------------------
def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def ssh_threads() -> list[threading.Thread]:
    """The server's session and forward threads and every paramiko transport (the executor's workers stay)."""
    return [t for t in threading.enumerate() if t.name.startswith("ciel-ssh") or isinstance(t, paramiko.Transport)]


def operator_login(port: int, key: Path, source: str, user: str = "op") -> paramiko.Transport:
    sock = socket.socket()
    sock.bind((source, 0))
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    t = paramiko.Transport(sock)
    t.start_client(timeout=5)
    t.auth_publickey(user, paramiko.PKey.from_path(key))
    return t


async def test_a_thousand_failed_logins_keep_memory_flat_and_let_operators_in(node: RunningNode, keys: Keys) -> None:
    port = ssh_port(node)
    warm = await asyncio.to_thread(operator_login, port, keys.op, "127.0.0.2")  # imports, first allocations
    warm.close()
    await until(lambda: node.counters["ssh_sessions"] == 0, 5, "warm-up session closed")
    before = rss_kb()
    abusers = ",".join(f"127.0.0.{n}" for n in range(10, 14))
    proc = await asyncio.create_subprocess_exec(sys.executable, str(HERE / "sshpeers_abuse.py"), str(port), "1000",
                                                "8", abusers, stdout=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    summary = json.loads(out)
    assert summary["attempts"] == 1000 and summary["logged_in"] == 0, summary
    c = node.counters
    assert c["ssh_auth_failed"] >= 2 * MAX_AUTH_TRIES and c["ssh_rate_limited"] > 500, (c, summary)
    assert c["ssh_auth_ok"] == 1

    # An operator elsewhere is not held back by the flood; one from the abusers' address soon gets in too.
    start = time.monotonic()
    t = await asyncio.to_thread(operator_login, port, keys.op, "127.0.0.2")
    chan = t.open_channel("direct-tcpip", ("127.0.0.1", node.osc_port), ("127.0.0.2", 1), timeout=5)
    assert time.monotonic() - start < 1.0
    chan.sendall(slip_encode(osc_message("/ciel/seed", 31337, types="i")))
    await until(lambda: node.controls.seed == 31337, 5, "the operator's seed applied")
    t.close()

    async def from_abuser_address() -> None:
        while True:
            try:
                (await asyncio.to_thread(operator_login, port, keys.op, "127.0.0.10")).close()
                return
            except (paramiko.SSHException, OSError, EOFError):
                await asyncio.sleep(0.1)

    await asyncio.wait_for(from_abuser_address(), 3.0)
    await until(lambda: c["ssh_sessions"] == 0, 10, "every abusive session closed")
    await until(lambda: not ssh_threads(), 10, "session threads gone")
    grown_mb = (rss_kb() - before) / 1024
    print(f"abuse: {summary}; server counters {c}; RSS {grown_mb:+.1f} MB")
    assert grown_mb < 20, f"RSS grew by {grown_mb:.1f} MB"


async def test_stop_closes_every_session_and_joins_threads(node: RunningNode, keys: Keys) -> None:
    async with local_forward(node, keys) as local:
        reader, writer = await asyncio.open_connection("127.0.0.1", local)
        writer.write(slip_encode(osc_message("/ciel/get")))
        await read_frames(reader, b"/ciel/state/seed")
        assert ssh_threads()
        start = time.monotonic()
        assert node.ssh is not None
        await node.ssh.stop()
        assert time.monotonic() - start < 3
        await asyncio.wait_for(reader.read(), 5)  # returns at EOF: the forwarded connection was closed
        assert reader.at_eof()
        writer.close()
    assert not ssh_threads()
    assert not tcp_ready(ssh_port(node))


# --- lockout: idle logins from one address, or from many ----------------------------------------------------------
async def ssh_login(node: RunningNode, keys: Keys, source: str, seed: int) -> float:
    """A real OpenSSH login from `source` whose forward sets the seed; returns the seconds it took."""
    start = time.monotonic()
    rc, _, err = await run([*ssh_base(keys.op, ssh_port(node), keys.known_hosts, source=source), "-W",
                            f"127.0.0.1:{node.osc_port}", "op@127.0.0.1"],
                           stdin=slip_encode(osc_message("/ciel/seed", seed, types="i")))
    assert rc == 0, (source, rc, err, node.counters)
    await until(lambda: node.controls.seed == seed, 5, f"seed {seed} from {source}")
    return time.monotonic() - start


async def test_idle_connections_from_one_address_do_not_lock_operators_out(node: RunningNode, keys: Keys) -> None:
    with IdleHolder(ssh_port(node), ["127.0.0.2"], MAX_UNAUTHENTICATED):
        await until(lambda: node.counters["ssh_connections"] >= MAX_UNAUTHENTICATED, 5, "the attacker connected")
        took = [await ssh_login(node, keys, "127.0.0.1", 500 + n) for n in range(3)]
        assert node.counters["ssh_busy"] >= MAX_UNAUTHENTICATED - MAX_UNAUTHENTICATED_PER_SOURCE, node.counters
    print(f"operator logins while one address holds idle connections: {[round(t, 2) for t in took]} s")


async def test_a_new_address_gets_in_when_every_login_slot_is_taken(node: RunningNode, keys: Keys) -> None:
    sources = [f"127.0.0.{n}" for n in range(2, 2 + MAX_UNAUTHENTICATED)]  # one idle login each: all slots
    with IdleHolder(ssh_port(node), sources, MAX_UNAUTHENTICATED, banner=True):
        await until(lambda: node.counters["ssh_sessions"] >= MAX_UNAUTHENTICATED, 5, "every login slot taken")
        await asyncio.sleep(EVICT_MIN_AGE_S)  # the rule is about age: only a login this old is ever made room from
        await ssh_login(node, keys, "127.0.0.1", 600)  # makes room: the oldest idle login goes
        await ssh_login(node, keys, "127.0.0.1", 601)
    # At most one per operator login (the second may find the first one's slot free): the evicted address
    # reconnecting at once takes a free slot or none, never another's.
    assert 1 <= node.counters["ssh_evicted"] <= 2, node.counters


async def test_a_logged_in_operator_no_longer_holds_a_login_slot(node: RunningNode, keys: Keys) -> None:
    """Operators behind one address (a NAT, a jump host, several bridges on one machine) start their logins the
    moment the previous one is in, while that address also holds a half-open login. A logged-in connection once
    kept its login slot until its session thread looked again (0.2 s, more on a loaded machine): the next login
    from the address found both slots taken and was hung up on before its version line."""
    port = ssh_port(node)

    def logins_back_to_back() -> int:
        with socket.create_connection(("127.0.0.1", port), timeout=5, source_address=("127.0.0.6", 0)) as half_open:
            half_open.sendall(b"SSH-2.0-half-open\r\n")  # holds one of the address's two login slots throughout
            done, held = 0, [operator_login(port, keys.op, "127.0.0.6")]
            try:
                for _ in range(3):
                    held.append(operator_login(port, keys.op, "127.0.0.6"))  # right after the previous one got in
                    done += 1
            finally:
                for t in held:
                    t.close()
            return done

    assert await asyncio.to_thread(logins_back_to_back) == 3
    await until(lambda: node.counters["ssh_auth_ok"] == 4, 5, "four logins counted")
    assert node.counters["ssh_busy"] == 0, node.counters


async def test_idle_logins_are_closed_within_seconds(node: RunningNode) -> None:
    port = ssh_port(node)
    with IdleHolder(port, ["127.0.0.3"], 1) as silent, IdleHolder(port, ["127.0.0.4"], 1, banner=True) as mute:
        await until(lambda: bool(silent.lifetimes and mute.lifetimes), KEX_TIMEOUT_S + 2, "both idle logins closed")
    # Nothing at all: closed once the client's version line is overdue; a version line and then nothing: once the
    # key exchange is.
    assert BANNER_TIMEOUT_S - 0.3 <= silent.lifetimes[0] <= BANNER_TIMEOUT_S + 1.0, silent.lifetimes
    assert KEX_TIMEOUT_S - 0.3 <= mute.lifetimes[0] <= KEX_TIMEOUT_S + 1.0, mute.lifetimes
    assert node.counters["ssh_login_timeouts"] >= 2


# --- algorithms ----------------------------------------------------------------------------------------------------
# What OpenSSH 10 offers by default (myproposal.h), less SHA-1 and UMAC MACs: nothing else may be offered.
OPENSSH_DEFAULTS = {
    "kex": {"mlkem768x25519-sha256", "sntrup761x25519-sha512", "sntrup761x25519-sha512@openssh.com",
            "curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384",
            "ecdh-sha2-nistp521", "diffie-hellman-group-exchange-sha256", "diffie-hellman-group16-sha512",
            "diffie-hellman-group18-sha512", "diffie-hellman-group14-sha256"},
    "host_keys": {"ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-512",
                  "rsa-sha2-256"},
    "ciphers": {"chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "aes128-ctr",
                "aes192-ctr", "aes256-ctr"},
    "macs": {"hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com", "hmac-sha2-256", "hmac-sha2-512"},
}


def server_kexinit(port: int) -> dict[str, list[str]]:
    """The name lists of the server's KEXINIT, read off the wire (it is sent in the clear)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock, sock.makefile("rb") as wire:
        sock.sendall(b"SSH-2.0-probe\r\n")
        while not wire.readline().startswith(b"SSH-"):
            pass
        length = int.from_bytes(wire.read(4), "big")
        packet = wire.read(length)
        payload = packet[1:length - packet[0]]  # less the padding
        assert payload[0] == 20, payload[:1]  # SSH_MSG_KEXINIT
        pos, lists = 17, []  # after the type byte and the 16-byte cookie
        for _ in range(8):
            n = int.from_bytes(payload[pos:pos + 4], "big")
            lists.append(payload[pos + 4:pos + 4 + n].decode().split(","))
            pos += 4 + n
    pseudo = ("ext-info-", "kex-strict-")  # markers, not algorithms
    return {"kex": [k for k in lists[0] if not k.startswith(pseudo)], "host_keys": lists[1], "ciphers": lists[2],
            "ciphers_sc": lists[3], "macs": lists[4], "macs_sc": lists[5]}


def sha1_rsa_login(port: int, key_path: Path) -> bool:
    """paramiko as a client that names rsa-sha2-512 but signs with SHA-1 (ssh-rsa); whether it got in. paramiko
    before 4.0 (pyproject allows 3.4) takes such a signature; the server must not."""
    key = paramiko.PKey.from_path(key_path)
    assert isinstance(key, paramiko.RSAKey)

    def sign_sha1(data: bytes, algorithm: str | None = None) -> paramiko.Message:
        msg = paramiko.Message()
        msg.add_string("ssh-rsa")
        msg.add_string(key.key.sign(data, padding.PKCS1v15(), hashes.SHA1()))  # type: ignore[union-attr]
        return msg

    setattr(key, "sign_ssh_data", sign_sha1)  # noqa: B010
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        t = paramiko.Transport(sock)
        try:
            t.start_client(timeout=5)
            t.auth_publickey("op", key)
        except paramiko.AuthenticationException:
            return False
        finally:
            t.close()
    return True


async def test_only_current_openssh_algorithms_are_offered(tmp_path: Path, tiny_checkpoints: tuple[Path, Path],
                                                          keys: Keys) -> None:
    rsa = keygen(tmp_path / "rsa", "rsa")
    keys.authorized.write_text(f"{pub(keys.op)}\n{pub(rsa)}\n")
    cfg = node_config(tmp_path / "state", tiny_checkpoints)
    async with running_node(cfg, first_piece=False, web=False, authorized_keys=keys.authorized) as node:
        port = ssh_port(node)
        offer = await asyncio.to_thread(server_kexinit, port)
        assert offer["ciphers"] == offer["ciphers_sc"] and offer["macs"] == offer["macs_sc"]
        for kind, allowed in OPENSSH_DEFAULTS.items():
            assert offer[kind] and set(offer[kind]) <= allowed, (kind, offer[kind])
        assert {"aes128-ctr", "aes256-ctr", "aes128-gcm@openssh.com"} <= set(offer["ciphers"])
        assert {"hmac-sha2-256", "hmac-sha2-256-etm@openssh.com"} <= set(offer["macs"])
        assert not [k for k in offer["kex"] if "group-exchange" in k]  # paramiko would need a moduli file

        sources = (f"127.0.1.{n}" for n in range(1, 250))  # one each: the per-address bucket stays out of it
        seed = 1000

        async def login(*extra: str, key: Path = keys.op) -> tuple[int, str]:
            nonlocal seed
            seed += 1
            base = [a if a != str(keys.op) else str(key) for a in ssh_base(keys.op, port, keys.known_hosts,
                                                                             source=next(sources))]
            rc, _, err = await run([*base, *extra, "-W", f"127.0.0.1:{node.osc_port}", "op@127.0.0.1"],
                                   stdin=slip_encode(osc_message("/ciel/seed", seed, types="i")))
            if rc == 0:
                await until(lambda: node.controls.seed == seed, 5, f"seed through ssh {extra}")
            return rc, err

        weak = [
            (("-c", "3des-cbc"), "no matching cipher"), (("-c", "aes128-cbc"), "no matching cipher"),
            (("-c", "aes256-cbc"), "no matching cipher"),
            (("-c", "aes128-ctr", "-m", "hmac-md5"), "no matching MAC"),
            (("-c", "aes128-ctr", "-m", "hmac-sha1"), "no matching MAC"),
            (("-c", "aes128-ctr", "-m", "hmac-sha1-etm@openssh.com"), "no matching MAC"),
            (("-o", "KexAlgorithms=diffie-hellman-group14-sha1"), "no matching key exchange"),
        ]
        for extra, says in weak:
            rc, err = await login(*extra)
            assert rc == 255 and says in err, (extra, rc, err)
        # An RSA key gets in signing with SHA-2; a client that names rsa-sha2-* but signs with SHA-1 does not
        # (paramiko alone would take it; OpenSSH clients no longer sign with SHA-1 at all).
        assert (await login("-o", "PubkeyAcceptedAlgorithms=rsa-sha2-256", key=rsa))[0] == 0
        assert not await asyncio.to_thread(sha1_rsa_login, port, rsa)

        # Everything offered that this OpenSSH client knows works, one at a time.
        known = {kind: set((await run([require_tool("ssh"), "-Q", q]))[1].split())
                 for kind, q in (("ciphers", "cipher"), ("macs", "mac"), ("kex", "kex"))}
        tried = 0
        for kind, flag, fixed in (("ciphers", "-c", ()), ("macs", "-m", ("-c", "aes128-ctr")),
                                  ("kex", "-oKexAlgorithms=", ())):
            for algorithm in offer[kind]:
                if algorithm in known[kind]:
                    args = (f"{flag}{algorithm}",) if flag.endswith("=") else (flag, algorithm)
                    rc, err = await login(*fixed, *args)
                    assert rc == 0, (algorithm, err)
                    tried += 1
        assert tried >= 10, offer


# --- the log ---------------------------------------------------------------------------------------------------------
async def test_peer_strings_cannot_forge_log_lines(node: RunningNode, keys: Keys,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ciel_node.ssh")

    def hostile() -> None:
        t = operator_login(ssh_port(node), keys.op, "127.0.0.1", user="op\nFAKE USER LINE")
        try:
            with pytest.raises(paramiko.ChannelException):
                t.open_channel("direct-tcpip", ("127.0.0.1\nFAKE LOG LINE", node.osc_port), ("127.0.0.1", 1),
                               timeout=5)
            with pytest.raises(paramiko.ChannelException):
                t.open_channel("x\r\nFAKE KIND LINE", timeout=5)
        finally:
            t.close()

    await asyncio.to_thread(hostile)
    await until(lambda: node.counters["ssh_refused"] >= 2, 5, "both refused")
    for fake, once in (("FAKE LOG LINE", True), ("FAKE KIND LINE", True), ("FAKE USER LINE", False)):
        records = [r.getMessage() for r in caplog.records if fake in r.getMessage()]
        assert records and (len(records) == 1 or not once), (fake, records)  # each refusal is one record...
        assert all("\n" not in m and "\r" not in m for m in records), (fake, records)  # ...of one line
