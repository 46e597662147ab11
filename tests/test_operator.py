"""`ciel-node operator` against the embedded SSH server and a stock sshd, driven by liblo and Pure Data."""

from __future__ import annotations

import asyncio
import getpass
import os
import select
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import paramiko
import pytest
from aiohttp import web
from conftest import require_tool
from nodes import RunningNode, free_port, node_config, running_node, until
from oscpeers import OscDump, oscsend
from sshpeers import Keys, Operator, Sshd, keygen, pub, run, ssh_base

from ciel_node.controls.wire import osc_message
from ciel_node.ssh.operator import OperatorBridge
from ciel_node.ssh.server import SshServer
from ciel_node.ssh.tunnel import load_key, parse_target

ROOT = Path(__file__).resolve().parent.parent
PATCH = ROOT / "controllers" / "ciel.pd"


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    return Keys(tmp_path / "keys")


@pytest.fixture
async def node(tmp_path: Path, tiny_checkpoints: tuple[Path, Path], keys: Keys) -> AsyncIterator[RunningNode]:
    cfg = node_config(tmp_path / "state", tiny_checkpoints, oscquery="off")  # the OSCQuery tests bring a stand-in
    async with running_node(cfg, first_piece=False, web=False, authorized_keys=keys.authorized) as running:
        yield running


def ssh_port(node: RunningNode) -> int:
    assert node.ssh is not None
    return node.ssh.port


def trust(node: RunningNode, keys: Keys) -> None:
    """known_hosts with the node's host key, as an operator would have it after checking the fingerprint."""
    key = paramiko.PKey.from_path(node.node.config.state_dir / "ssh_host_key")
    keys.known_hosts.write_text(f"[127.0.0.1]:{ssh_port(node)} {key.get_name()} {key.get_base64()}\n")


def operator_args(node: RunningNode, keys: Keys, bridge: int, *extra: str, key: Path | None = None,
                  target: str | None = None) -> list[str]:
    return ["--ssh", target or f"op@127.0.0.1:{ssh_port(node)}", "--key", str(key or keys.op),
            "--udp", f"127.0.0.1:{bridge}", "--osc-port", str(node.osc_port),
            "--known-hosts", str(keys.known_hosts), "--oscquery", "off", *extra]


async def test_bridge_controls_the_node_and_carries_feedback_back(node: RunningNode, keys: Keys) -> None:
    bridge = free_port(socket.SOCK_DGRAM)
    async with Operator(*operator_args(node, keys, bridge, "--trust-on-first-use")) as op, OscDump() as dump:
        await op.expect("trusting [127.0.0.1]")
        assert f"[127.0.0.1]:{ssh_port(node)} ssh-ed25519 " in keys.known_hosts.read_text()
        await oscsend(bridge, "/ciel/seed", "i", 42)
        await until(lambda: node.controls.seed == 42, 10, "seed through the bridge")
        # Over TCP the node pushes on the connection; the bridge learns the port from the subscribe.
        await oscsend(bridge, "/ciel/subscribe", "i", dump.port)
        await oscsend(bridge, "/ciel/drift", "f", 0.25)
        await dump.expect(r"^/ciel/state/drift f 0\.25")
        await oscsend(bridge, "/ciel/get", "i", dump.port)  # a reply port means "to me": rewritten for TCP
        await dump.expect(r"^/ciel/state/seed i 42")
        await oscsend(bridge, "/ciel/volume_ceiling", "i", 12)  # clamped, and the clamped value echoed
        await dump.expect(r"^/ciel/state/volume_ceiling f 0\.0")
        assert node.osc.hub.subscribers and all(ch.key[0] == "tcp" for ch in node.osc.hub.subscribers)

        # The node's SSH server restarts on the same port: the bridge comes back by itself and
        # re-subscribes, with the local UDP port open all along.
        assert node.ssh is not None
        port = node.ssh.port
        await node.ssh.stop()
        node.ssh = SshServer("127.0.0.1", port, keys.authorized, node.node.config.state_dir / "ssh_host_key",
                             "127.0.0.1", node.osc_port, node.counters)
        await op.expect("dropped; reconnecting")
        await oscsend(bridge, "/ciel/seed", "i", 7)  # while down: dropped and counted, never queued
        await node.ssh.start()
        await op.expect("is back")
        await oscsend(bridge, "/ciel/drift", "f", 0.5)
        await dump.expect(r"^/ciel/state/drift f 0\.5")
        assert node.controls.drift == 0.5 and node.controls.seed == 42
    assert op.proc is not None and op.proc.returncode == 0
    summary = await op.expect("stopped:")
    assert " 1 dropped while down" in summary and "1 reconnects" in summary, summary


async def test_bridge_through_a_stock_sshd(node: RunningNode, keys: Keys, tmp_path: Path) -> None:
    sshd = Sshd(tmp_path / "sshd", keys.authorized, permit_open=[node.osc_port])
    await sshd.start()
    try:
        keys.known_hosts.write_text(sshd.known_hosts_line() + "\n")
        bridge = free_port(socket.SOCK_DGRAM)
        target = f"{getpass.getuser()}@127.0.0.1:{sshd.port}"
        async with Operator(*operator_args(node, keys, bridge, target=target)), OscDump() as dump:
            await oscsend(bridge, "/ciel/seed", "i", 4242)
            await until(lambda: node.controls.seed == 4242, 10, "seed through sshd")
            await oscsend(bridge, "/ciel/subscribe", "i", dump.port)
            await oscsend(bridge, "/ciel/interval", "f", 12.5)
            await dump.expect(r"^/ciel/state/interval f 12\.5")
        # sshd's PermitOpen refuses any other port: a clear error, exit 2
        args = operator_args(node, keys, free_port(socket.SOCK_DGRAM), target=target)
        args[args.index("--osc-port") + 1] = "8080"
        other = await Operator(*args).start()
        assert await other.finish() == 2
        assert len(other.lines) == 1 and "refused the forward to 127.0.0.1:8080" in other.lines[0], other.lines
    finally:
        sshd.kill()


@pytest.mark.parametrize("case", ["unknown host key", "changed host key", "auth failed", "no key", "local port busy",
                                  "oscquery port busy", "host unreachable", "forward refused", "bad target",
                                  "bad oscquery"])
async def test_errors_are_one_line_and_exit_2(node: RunningNode, keys: Keys, tmp_path: Path, case: str) -> None:
    bridge = free_port(socket.SOCK_DGRAM)
    key, target = keys.op, None
    busy: socket.socket | None = None
    oscquery = 0
    if case != "unknown host key":
        trust(node, keys)
    if case == "changed host key":
        other = keygen(tmp_path / "impostor")
        keys.known_hosts.write_text(f"[127.0.0.1]:{ssh_port(node)} {pub(other)}\n")
    elif case == "auth failed":
        key = keys.stranger
    elif case == "local port busy":
        busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        busy.bind(("127.0.0.1", bridge))
    elif case == "oscquery port busy":  # asked for by name: an error (the default port taken is a warning)
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        oscquery = busy.getsockname()[1]
    elif case == "host unreachable":
        target = f"op@127.0.0.1:{free_port()}"
    elif case == "bad target":
        target = "op@"
    args = operator_args(node, keys, bridge, key=key, target=target)
    if case == "oscquery port busy":
        args += ["--oscquery", f"127.0.0.1:{oscquery}"]
    if case == "bad oscquery":
        args += ["--oscquery", "5678"]
    if case == "forward refused":
        args[args.index("--osc-port") + 1] = "8080"
    env = None
    if case == "no key":  # no --key, an empty ~/.ssh and no agent
        args[args.index("--key"): args.index("--key") + 2] = []
        env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"} | {"HOME": str(tmp_path)}
    op = await Operator(*args, env=env).start()
    rc = await op.finish()
    if busy is not None:
        busy.close()
    says = {
        "unknown host key": "is not in", "changed host key": "has CHANGED", "auth failed": "did not accept the key",
        "no key": "no key to log in to op@127.0.0.1",
        "local port busy": f"local UDP port 127.0.0.1:{bridge} is busy", "host unreachable": "cannot reach",
        "oscquery port busy": f"local OSCQuery port 127.0.0.1:{oscquery} is busy",
        "bad oscquery": "--oscquery '5678' must be HOST:PORT or off",
        "forward refused": "refused the forward to 127.0.0.1:8080", "bad target": "must be user@host[:port]",
    }[case]
    assert rc == 2 and len(op.lines) == 1 and says in op.lines[0], (rc, op.lines)
    if "host key" in case:
        assert "SHA256:" in op.lines[0]
    if case == "oscquery port busy":
        assert "--oscquery off" in op.lines[0]
    if case == "unknown host key":
        assert not keys.known_hosts.exists()  # nothing recorded without --trust-on-first-use


async def test_pure_data_patch_end_to_end(node: RunningNode, keys: Keys, tmp_path: Path) -> None:
    if not PATCH.exists():
        pytest.skip("controllers/ciel.pd is not there yet")
    pd = require_tool("pd")
    bridge, listen = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_DGRAM)
    async with Operator(*operator_args(node, keys, bridge, "--trust-on-first-use")) as op:
        proc = await asyncio.create_subprocess_exec(
            pd, "-nogui", "-noaudio", "-nomidi", "-stderr", "-send", f"ciel-connect 127.0.0.1 {bridge}",
            "-send", f"ciel-listen {listen}", "-send", "ciel-seed 777", "-open", str(PATCH),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        lines: list[str] = []

        async def read() -> None:
            assert proc.stderr is not None
            while line := await proc.stderr.readline():
                lines.append(line.decode(errors="replace").rstrip())

        reader = asyncio.create_task(read())
        try:
            await until(lambda: node.controls.seed == 777, 15, f"Pd's seed applied (Pd said {lines[-10:]})")
            await until(lambda: any("ciel-state:" in line and "seed" in line and "777" in line for line in lines),
                        15, f"Pd printing the node's state (Pd said {lines[-10:]})")
            await op.expect(f"feedback goes to 127.0.0.1:{listen}")
        finally:
            if proc.returncode is None:
                os.kill(proc.pid, signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 10)
            await reader


# --- OSCQuery through the same link ------------------------------------------------------------------------------
class OscQueryStandIn:
    """A tiny aiohttp server in the node's OSCQuery server's place, on a free port: JSON for a GET (with a token only
    it knows), and a WebSocket echo on the same port and path, as an OSCQuery server has both."""

    def __init__(self) -> None:
        self.token = os.urandom(8).hex()
        self.port = 0
        self.requests: list[str] = []
        self._runner: web.AppRunner | None = None

    async def _root(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(request.path_qs)
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return web.json_response({"NAME": "stand-in", "TOKEN": self.token, "QUERY": request.query_string})
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                await ws.send_str(f"echo {msg.data}")
            elif msg.type == aiohttp.WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
        return ws

    async def __aenter__(self) -> OscQueryStandIn:
        app = web.Application()
        app.router.add_get("/", self._root)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


@pytest.fixture
async def oscquery() -> AsyncIterator[OscQueryStandIn]:
    async with OscQueryStandIn() as stand_in:
        yield stand_in


async def http_and_websocket(port: int, stand_in: OscQueryStandIn) -> None:
    """What an OSCQuery client does on the operator's local port: GET the namespace, then LISTEN on a WebSocket."""
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        async with http.get(f"http://127.0.0.1:{port}/?HOST_INFO") as response:
            assert response.status == 200
            assert await response.json() == {"NAME": "stand-in", "TOKEN": stand_in.token, "QUERY": "HOST_INFO"}
        async with http.ws_connect(f"ws://127.0.0.1:{port}/") as ws:
            listen = '{"COMMAND": "LISTEN", "DATA": "/ciel/drift"}'
            await ws.send_str(listen)
            assert (await ws.receive(timeout=10)).data == f"echo {listen}"
            frame = osc_message("/ciel/drift", 0.25, types="f")  # a value push is a binary OSC frame
            await ws.send_bytes(frame)
            assert (await ws.receive(timeout=10)).data == frame
    assert stand_in.requests == ["/?HOST_INFO", "/"], stand_in.requests


async def test_oscquery_is_forwarded_through_the_embedded_server_and_nothing_else(
        node: RunningNode, keys: Keys, oscquery: OscQueryStandIn) -> None:
    assert node.ssh is not None  # the node's SSH server, now with its OSCQuery port allowed too
    await node.ssh.stop()
    node.ssh = SshServer("127.0.0.1", 0, keys.authorized, node.node.config.state_dir / "ssh_host_key", "127.0.0.1",
                         node.osc_port, node.counters, oscquery_port=oscquery.port)
    await node.ssh.start()
    trust(node, keys)
    local = free_port()
    args = operator_args(node, keys, free_port(socket.SOCK_DGRAM), "--oscquery", f"127.0.0.1:{local}",
                         "--remote-oscquery", str(oscquery.port))
    async with Operator(*args) as op:
        await op.expect(f"OSCQuery 127.0.0.1:{local} -> op@127.0.0.1:{ssh_port(node)}")
        await http_and_websocket(local, oscquery)
        await until(lambda: node.counters["ssh_forwards"] == 1, 10, "the two OSCQuery forwards closed, OSC's open")

    # Any other port stays refused, through the operator and through OpenSSH's own client.
    dummy = socket.socket()
    dummy.bind(("127.0.0.1", 0))
    dummy.listen(4)
    refused = node.counters["ssh_refused"]
    other = operator_args(node, keys, free_port(socket.SOCK_DGRAM), "--oscquery", f"127.0.0.1:{local}",
                          "--remote-oscquery", str(dummy.getsockname()[1]))
    try:
        async with Operator(*other) as op:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
                with pytest.raises(aiohttp.ClientError):
                    await http.get(f"http://127.0.0.1:{local}/")
            line = await op.expect("refused the OSCQuery forward")
            assert f"127.0.0.1:{dummy.getsockname()[1]}" in line and "--remote-oscquery" in line, line
        rc, _, err = await run([*ssh_base(keys.op, ssh_port(node), keys.known_hosts), "-W",
                                f"127.0.0.1:{dummy.getsockname()[1]}", "op@127.0.0.1"])
        assert rc != 0 and "administratively prohibited" in err, err
        # each refused (aiohttp may try its GET twice), and the port never saw a connection
        assert node.counters["ssh_refused"] >= refused + 2 and not _connection_waiting(dummy)
    finally:
        dummy.close()


async def test_oscquery_is_forwarded_through_a_stock_sshd(node: RunningNode, keys: Keys, tmp_path: Path,
                                                          oscquery: OscQueryStandIn) -> None:
    sshd = Sshd(tmp_path / "sshd", keys.authorized, permit_open=[node.osc_port, oscquery.port])
    await sshd.start()
    try:
        keys.known_hosts.write_text(sshd.known_hosts_line() + "\n")
        local = free_port()
        args = operator_args(node, keys, free_port(socket.SOCK_DGRAM), "--oscquery", f"127.0.0.1:{local}",
                             "--remote-oscquery", str(oscquery.port),
                             target=f"{getpass.getuser()}@127.0.0.1:{sshd.port}")
        async with Operator(*args) as op:
            await op.expect(f"OSCQuery 127.0.0.1:{local} ->")
            await http_and_websocket(local, oscquery)
    finally:
        sshd.kill()


async def test_the_default_oscquery_port_taken_leaves_the_osc_bridge_running(
        node: RunningNode, keys: Keys, caplog: pytest.LogCaptureFixture) -> None:
    trust(node, keys)
    with socket.socket() as busy:  # a local node or OSCQuery host already has the default port
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        bridge = OperatorBridge(parse_target(f"op@127.0.0.1:{ssh_port(node)}"), load_key(keys.op), keys.known_hosts,
                                False, ("127.0.0.1", 0), node.osc_port, oscquery=("127.0.0.1", port),
                                oscquery_optional=True)
        try:
            await asyncio.to_thread(bridge.open)
            assert bridge.oscquery is None and bridge.udp_port > 0
            await until(lambda: node.counters["ssh_forwards"] == 1, 10, "the OSC bridge's forward open")
        finally:
            bridge.close()
    [line] = [r.getMessage() for r in caplog.records if "OSCQuery" in r.getMessage()]
    assert f"local OSCQuery port 127.0.0.1:{port} is busy" in line and "--oscquery off" in line, line


def _connection_waiting(listener: socket.socket, wait_s: float = 0.5) -> bool:
    readable, _, _ = select.select([listener], [], [], wait_s)
    return bool(readable)
